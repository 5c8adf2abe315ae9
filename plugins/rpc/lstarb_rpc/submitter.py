"""The rpc submitter: sendTransaction to the main endpoint, confirmation, a blockhash cache.

``submit`` sends one signed transaction (RPC has no bundles: atomic groups need a block
engine such as the jito plugin) with ``skip_preflight``, ``preflight_commitment`` and
``max_retries`` as configured, and reports ``accepted`` or ``rejected`` (the node's
refusal, a failed preflight with the program's error and its last logs). ``confirm``
waits for the ``confirm_commitment`` verdict from signatureSubscribe and polls
getSignatureStatuses every ``status_poll_s`` beside it (a subscription can be lost);
``landed`` or ``failed`` (the on-chain error), ``invalid`` once the blockhash expired with
the transaction nowhere, or ``pending`` when ``timeout_s`` runs out first.

In paper mode (the default: no ``--live``) nothing is ever sent: ``submit`` raises
SubmissionError and touches no network (as the jito submitter does).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from lstarb_rpc.blockhash import BlockhashCache
from lstarb_rpc.config import RpcConfig
from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.rpc_http import RpcHttp
from lstarb_rpc.signatures import SignatureWatcher
from lstarb_rpc.urls import endpoint_name, ws_url_for
from lstarb_rpc.wire import RpcReplyError
from lstarb_sdk import SubmissionResult, Submitter
from lstarb_sdk.errors import DataSourceError, SubmissionError
from lstarb_sdk.submitter import (
    STATUS_ACCEPTED,
    STATUS_FAILED,
    STATUS_INVALID,
    STATUS_LANDED,
    STATUS_PENDING,
    STATUS_REJECTED,
)

log = logging.getLogger("lstarb.plugin.rpc")

RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
LOG_LINES = 5


def render_error(err: Any) -> str:
    """A transaction error in its RPC JSON form (``{"InstructionError":[0,{"Custom":1}]}``,
    ``"ProgramAccountNotFound"`` as ``ProgramAccountNotFound``), from JSON or solders."""
    if err is None:
        return ""
    if isinstance(err, str):
        return err
    if isinstance(err, dict | list):
        return json.dumps(err, separators=(",", ":"))
    to_json = getattr(err, "to_json", None)
    if to_json is not None:  # TransactionErrorInstructionError -> {"InstructionError":...}
        variant = type(err).__name__.removeprefix("TransactionError")
        return f'{{"{variant}":{to_json()}}}'
    return str(err).rsplit(".", 1)[-1]  # a fieldless solders enum: its variant name


def describe_refusal(exc: RpcReplyError) -> str:
    """The node's refusal: message, and for a failed preflight the error and last logs."""
    text = exc.message
    data = exc.data
    if isinstance(data, dict):
        if data.get("err") is not None:
            text += f" (err {render_error(data['err'])})"
        logs = data.get("logs")
        if isinstance(logs, list) and logs:
            text += "; logs: " + " | ".join(str(line) for line in logs[-LOG_LINES:])
    return text


class RpcSubmitter(Submitter):
    name = "rpc"

    def __init__(self, config: RpcConfig | None = None, *, paper: bool = True) -> None:
        self.config = config = config or RpcConfig()
        self.paper = paper
        self.health = EndpointHealth(f"{config.name or endpoint_name(config.url)} (submitter)")
        self.http = RpcHttp(
            config.url,
            self.health,
            commitment=config.commitment,
            timeout_s=config.request_timeout_s,
            parallel=config.parallel_requests,
        )
        self.blockhashes = BlockhashCache(
            self.http, refresh_s=config.blockhash_refresh_s, max_age_s=config.blockhash_max_age_s
        )
        """The executor builds with ``blockhashes.current()`` (no I/O) or ``await get()``."""
        self.signatures = SignatureWatcher(
            config.ws_url or ws_url_for(config.url), config, self.health
        )
        self._blockhash_of: dict[Signature, Hash] = {}

    async def submit(self, transactions: Sequence[VersionedTransaction]) -> SubmissionResult:
        if len(transactions) != 1:
            return SubmissionResult(
                "",
                False,
                STATUS_REJECTED,
                error=f"rpc sends one transaction, not {len(transactions)}: "
                "an atomic bundle needs a block engine (the jito plugin)",
            )
        tx = transactions[0]
        signature = tx.signatures[0]
        if self.paper:
            raise SubmissionError(f"rpc: paper mode, {signature} is not sent (run with --live)")
        config = self.config
        try:
            sent = await self.http.send_transaction(
                tx,
                skip_preflight=config.skip_preflight,
                preflight_commitment=config.preflight_commitment,
                max_retries=config.max_retries,
            )
        except RpcReplyError as exc:
            return SubmissionResult(
                str(signature), False, STATUS_REJECTED, error=describe_refusal(exc)
            )
        except DataSourceError as exc:
            raise SubmissionError(f"sendTransaction {signature}: {exc}") from None
        self._blockhash_of[sent] = tx.message.recent_blockhash
        return SubmissionResult(str(sent), True, STATUS_ACCEPTED)

    async def confirm(
        self, result: SubmissionResult, *, timeout_s: float = 30.0
    ) -> SubmissionResult:
        if result.status not in (STATUS_ACCEPTED, STATUS_PENDING):
            return result
        signature = Signature.from_string(result.signature)
        deadline = time.monotonic() + timeout_s
        verdict = await self.signatures.watch(signature)
        while True:
            wait = max(0.0, min(self.config.status_poll_s, deadline - time.monotonic()))
            if verdict is not None:
                try:
                    slot, err = await asyncio.wait_for(asyncio.shield(verdict), wait)
                except TimeoutError:
                    pass
                else:  # the notification's slot is when it was seen: ask where it landed
                    return await self._poll(result, signature) or self._verdict(result, slot, err)
            else:
                await asyncio.sleep(wait)
            polled = await self._poll(result, signature)
            if polled is not None:
                return polled
            if time.monotonic() >= deadline:
                return SubmissionResult(
                    result.signature,
                    True,
                    STATUS_PENDING,
                    error=f"no {self.config.confirm_commitment} verdict within {timeout_s} s",
                )

    async def _poll(
        self, result: SubmissionResult, signature: Signature
    ) -> SubmissionResult | None:
        try:
            status = (await self.http.signature_statuses([signature]))[0]
        except DataSourceError:
            return None  # counted on health; the next poll or the subscription decides
        if status is not None:
            level = status.confirmation_status
            reached = 2 if level is None else int(level)
            if status.err is not None or reached >= RANK[self.config.confirm_commitment]:
                return self._verdict(result, status.slot, status.err)
            return None
        blockhash = self._blockhash_of.get(signature)
        if blockhash is None:
            return None
        try:
            valid = await self.http.is_blockhash_valid(blockhash)
            if valid:
                return None
            status = (await self.http.signature_statuses([signature]))[0]
        except DataSourceError:
            return None
        if status is not None:  # it landed just before its blockhash expired
            return self._verdict(result, status.slot, status.err)
        self._blockhash_of.pop(signature, None)
        return SubmissionResult(
            result.signature,
            True,
            STATUS_INVALID,
            error=f"blockhash {blockhash} expired before the transaction landed",
        )

    def _verdict(self, result: SubmissionResult, slot: int, err: Any) -> SubmissionResult:
        self._blockhash_of.pop(Signature.from_string(result.signature), None)
        if err is None:
            return SubmissionResult(result.signature, True, STATUS_LANDED, slot=slot)
        return SubmissionResult(
            result.signature, True, STATUS_FAILED, slot=slot, error=render_error(err)
        )

    async def recent_priority_fees(self, accounts: Sequence[Pubkey] = ()) -> list[int]:
        """The main endpoint's getRecentPrioritizationFees (the SDK's PriorityFeeSource):
        the planner reads it in the background, never per plan. Reading is not sending, so
        paper runs read too (their plans are priced as live ones would be)."""
        return await self.http.recent_prioritization_fees(accounts)

    async def close(self) -> None:
        await self.signatures.close()
        await self.blockhashes.close()
        await self.http.close()
