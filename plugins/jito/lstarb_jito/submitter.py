"""JitoSubmitter: bundles and transactions to Jito block engines, followed to their outcome.

In paper mode it is built (so ``lstarb plugins`` and configuration checks
work) but it opens no connection and refuses to send: nothing a paper run
does can reach a block engine.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_jito.bundle import MAX_BUNDLE_SIZE, prepare_bundle
from lstarb_jito.config import JITO_MIN_TIP_LAMPORTS, JitoConfig
from lstarb_jito.replies import (
    BundleStatus,
    bundle_id_result,
    bundle_statuses_result,
    inflight_result,
    signature_result,
    tip_accounts_result,
)
from lstarb_jito.rpc import BlockEngineClient, PeerError
from lstarb_sdk import SubmissionResult, Submitter
from lstarb_sdk.errors import SubmissionError
from lstarb_sdk.submitter import (
    FINAL_STATUSES,
    STATUS_ACCEPTED,
    STATUS_FAILED,
    STATUS_INVALID,
    STATUS_LANDED,
    STATUS_PENDING,
    STATUS_REJECTED,
)

log = logging.getLogger("lstarb.plugin.jito")

BUNDLES_PATH = "/api/v1/bundles"
TRANSACTIONS_PATH = "/api/v1/transactions"
BUNDLE_STATUSES_PATH = "/api/v1/getBundleStatuses"
INFLIGHT_PATH = "/api/v1/getInflightBundleStatuses"
TIP_ACCOUNTS_PATH = "/api/v1/getTipAccounts"
_ENCODING = {"encoding": "base64"}


class JitoSubmitter(Submitter):
    """Sends through Jito's block-engine JSON-RPC API (sendBundle, sendTransaction)."""

    name = "jito"
    supports_bundles = True
    max_bundle_size = MAX_BUNDLE_SIZE
    min_tip_lamports = JITO_MIN_TIP_LAMPORTS

    def __init__(
        self,
        config: JitoConfig | None = None,
        *,
        paper: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or JitoConfig()
        self.paper = paper
        self.min_tip_lamports = self.config.min_tip_lamports  # type: ignore[misc]
        self._sleep, self._clock = sleep, clock
        self._tips = [Pubkey.from_string(t) for t in self.config.tip_accounts]
        self._tip_set = frozenset(self._tips)
        self._tips_at: float | None = None  # when getTipAccounts last answered
        auth = self.config.auth_uuid
        self.client = BlockEngineClient(
            self.config.endpoints,
            auth_uuid=auth.get_secret_value() if auth is not None else None,
            timeout_s=self.config.timeout_s,
            max_attempts=self.config.max_attempts,
            backoff_base_s=self.config.backoff_base_s,
            backoff_max_s=self.config.backoff_max_s,
            rng=rng,
            sleep=sleep,
        )

    def _live(self, what: str) -> None:
        if self.paper:
            raise SubmissionError(f"jito: paper mode, {what} is not sent (run with --live)")

    # -- tips ------------------------------------------------------------------------

    def tip_accounts(self) -> Sequence[Pubkey]:
        return self._tips

    async def refresh_tip_accounts(self) -> Sequence[Pubkey]:
        """getTipAccounts, cached for ``tip_accounts_ttl_s``; the defaults in paper mode."""
        if self.paper:
            return self._tips
        now = self._clock()
        if self._tips_at is not None and now - self._tips_at < self.config.tip_accounts_ttl_s:
            return self._tips
        reply = await self.client.call(TIP_ACCOUNTS_PATH, "getTipAccounts", [])
        self._tips = tip_accounts_result(reply.result, reply.endpoint)
        self._tip_set = frozenset(self._tips)
        self._tips_at = now
        return self._tips

    # -- sending ---------------------------------------------------------------------

    async def submit(self, transactions: Sequence[VersionedTransaction]) -> SubmissionResult:
        self._live("a bundle")
        if len(transactions) == 1 and self.config.single_transaction == "transaction":
            return await self.send_transaction(transactions[0], bundle_only=self.config.bundle_only)
        await self.refresh_tip_accounts()
        bundle = prepare_bundle(
            transactions, tip_accounts=self._tip_set, min_tip_lamports=self.min_tip_lamports
        )
        try:
            reply = await self.client.call(
                BUNDLES_PATH,
                "sendBundle",
                [bundle.encoded, _ENCODING],
                fanout=self.config.mode == "fanout",
            )
        except PeerError as exc:
            return SubmissionResult(
                signature=bundle.first_signature,
                accepted=False,
                status=STATUS_REJECTED,
                error=exc.peer_message,
                bundle_id=bundle.id,
            )
        peer_id = bundle_id_result(reply.result, reply.endpoint)
        if peer_id != bundle.id:
            log.warning(
                "jito %s returned bundle id %s, expected %s", reply.endpoint, peer_id, bundle.id
            )
        return SubmissionResult(
            signature=bundle.first_signature,
            accepted=True,
            status=STATUS_ACCEPTED,
            bundle_id=peer_id,
        )

    async def send_transaction(
        self, transaction: VersionedTransaction, *, bundle_only: bool = True
    ) -> SubmissionResult:
        """sendTransaction; with ``bundle_only`` it is a one-transaction bundle (tip required)."""
        self._live("a transaction")
        if bundle_only:
            await self.refresh_tip_accounts()
        bundle = prepare_bundle(
            [transaction],
            tip_accounts=self._tip_set,
            min_tip_lamports=self.min_tip_lamports,
            require_tip=bundle_only,
        )
        query = {"bundleOnly": "true"} if bundle_only else None
        try:
            reply = await self.client.call(
                TRANSACTIONS_PATH, "sendTransaction", [bundle.encoded[0], _ENCODING], query=query
            )
        except PeerError as exc:
            return SubmissionResult(
                signature=bundle.first_signature,
                accepted=False,
                status=STATUS_REJECTED,
                error=exc.peer_message,
            )
        signature = signature_result(reply.result, reply.endpoint)
        return SubmissionResult(
            signature=signature,
            accepted=True,
            status=STATUS_ACCEPTED,
            bundle_id=reply.headers.get("x-bundle-id") if bundle_only else None,
        )

    # -- following ---------------------------------------------------------------------

    async def confirm(
        self, result: SubmissionResult, *, timeout_s: float = 30.0
    ) -> SubmissionResult:
        """Poll getInflightBundleStatuses until Landed/Failed/Invalid, then getBundleStatuses.

        "Invalid" right after sending is normal in some regions, so it must
        last ``invalid_after_s`` (and getBundleStatuses must not know the
        bundle either) before the bundle is called invalid. Returns status
        ``pending`` when ``timeout_s`` runs out first.
        """
        if result.status in FINAL_STATUSES or not result.bundle_id or self.paper:
            return result
        bundle = result.bundle_id
        deadline = self._clock() + timeout_s
        invalid_since: float | None = None
        while True:
            reply = await self.client.call(INFLIGHT_PATH, "getInflightBundleStatuses", [[bundle]])
            status = inflight_result(reply.result, reply.endpoint).get(bundle)
            now = self._clock()
            if status is not None and status.status == "Landed":
                return await self._landed(result, status.landed_slot)
            if status is not None and status.status == "Failed":
                return self._final(result, STATUS_FAILED, None, "the block engine marked it failed")
            if status is None or status.status == "Invalid":
                invalid_since = now if invalid_since is None else invalid_since
                if now - invalid_since >= self.config.invalid_after_s:
                    known = await self._statuses(bundle)
                    if known is not None:
                        return self._from_status(result, known)
                    return self._final(result, STATUS_INVALID, None, "unknown to the block engine")
            else:
                invalid_since = None
            if now >= deadline:
                return self._final(result, STATUS_PENDING, None, None)
            await self._sleep(min(self.config.poll_interval_s, max(0.0, deadline - now)))

    async def _statuses(self, bundle: str) -> BundleStatus | None:
        reply = await self.client.call(BUNDLE_STATUSES_PATH, "getBundleStatuses", [[bundle]])
        return bundle_statuses_result(reply.result, reply.endpoint).get(bundle)

    async def _landed(self, result: SubmissionResult, landed_slot: int | None) -> SubmissionResult:
        known = await self._statuses(result.bundle_id or "")
        if known is None:  # getBundleStatuses lags the in-flight view: trust it
            return self._final(result, STATUS_LANDED, landed_slot, None)
        return self._from_status(result, known)

    def _from_status(self, result: SubmissionResult, known: BundleStatus) -> SubmissionResult:
        if known.err is not None:
            return self._final(result, STATUS_FAILED, known.slot, known.err)
        return self._final(result, STATUS_LANDED, known.slot, None)

    @staticmethod
    def _final(
        result: SubmissionResult, status: str, slot: int | None, error: str | None
    ) -> SubmissionResult:
        return SubmissionResult(
            signature=result.signature,
            accepted=result.accepted,
            status=status,
            slot=slot if slot is not None else result.slot,
            error=error,
            bundle_id=result.bundle_id,
        )

    async def close(self) -> None:
        await self.client.close()
