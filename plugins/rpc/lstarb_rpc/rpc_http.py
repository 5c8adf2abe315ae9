"""One node's HTTP JSON-RPC: solders builds the requests, solana-py's provider (httpx)
carries them, :mod:`lstarb_rpc.wire` parses the replies.

Not ``AsyncClient`` itself: its methods parse replies with solders unguarded (a malformed
error object panics through ``except Exception``) and cannot ask for ``base64+zstd``
snapshots of many keys in parallel; its provider, request types and parsers are used as
they are. Every failure is counted on the endpoint's health and raised as a
:class:`~lstarb_sdk.errors.DataSourceError` subclass.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import based58
import httpx
from solana.rpc.providers.async_http import AsyncHTTPProvider
from solders.account import Account
from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.rpc.config import (
    RpcAccountInfoConfig,
    RpcContextConfig,
    RpcProgramAccountsConfig,
    RpcSendTransactionConfig,
    RpcSignatureStatusConfig,
)
from solders.rpc.filter import Memcmp
from solders.rpc.requests import (
    GetLatestBlockhash,
    GetMultipleAccounts,
    GetProgramAccounts,
    GetSignatureStatuses,
    IsBlockhashValid,
    SendVersionedTransaction,
)
from solders.rpc.responses import (
    GetLatestBlockhashResp,
    GetMultipleAccountsResp,
    GetProgramAccountsResp,
    GetSignatureStatusesResp,
    IsBlockhashValidResp,
    SendTransactionResp,
)
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionStatus

from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.wire import MalformedReply, RpcReplyError, prioritization_fees, reply
from lstarb_sdk import AccountFilter
from lstarb_sdk.errors import DataSourceError
from lstarb_sdk.fees import MAX_FEE_ACCOUNTS
from lstarb_sdk.redact import mask_urls

T = TypeVar("T")

MAX_KEYS_PER_CALL = 100  # getMultipleAccounts refuses more
MAX_SIGNATURES_PER_CALL = 256  # getSignatureStatuses refuses more

COMMITMENTS = {
    "processed": CommitmentLevel.Processed,
    "confirmed": CommitmentLevel.Confirmed,
    "finalized": CommitmentLevel.Finalized,
}


class _HideUrls(logging.Filter):
    """httpx logs each request with its full URL; providers put API keys in URLs. This
    filter on the ``httpx`` logger shows our endpoints by name instead."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            names = self.names
            record.args = tuple(names.get(str(arg), arg) for arg in record.args)
        return True


_HIDE_URLS = _HideUrls()
logging.getLogger("httpx").addFilter(_HIDE_URLS)


class TransportError(DataSourceError):
    """The request did not get a reply: refused, reset, timed out, HTTP error status."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One getMultipleAccounts reply: the accounts of ``keys`` at context ``slot``."""

    slot: int
    keys: Sequence[Pubkey]
    accounts: Sequence[Account | None]


@dataclass(frozen=True, slots=True)
class LatestBlockhash:
    blockhash: Hash
    last_valid_block_height: int
    slot: int


def rpc_filters(account_filter: AccountFilter) -> list[int | Memcmp]:
    """An SDK filter as RPC filters (dataSize, memcmp with base58 bytes)."""
    out: list[int | Memcmp] = []
    if account_filter.data_size is not None:
        out.append(account_filter.data_size)
    for offset, raw in account_filter.memcmp:
        out.append(Memcmp(offset, based58.b58encode(raw).decode()))
    return out


class RpcHttp:
    """Requests to one HTTP JSON-RPC URL, at most ``parallel`` in flight."""

    def __init__(
        self,
        url: str,
        health: EndpointHealth,
        *,
        commitment: str = "confirmed",
        timeout_s: float = 10.0,
        parallel: int = 8,
        batch_size: int = MAX_KEYS_PER_CALL,
        zstd: bool = True,
    ) -> None:
        self.health = health
        self.commitment = COMMITMENTS[commitment]
        self.timeout_s = timeout_s
        self.batch_size = min(batch_size, MAX_KEYS_PER_CALL)
        self.zstd = zstd
        self._provider = AsyncHTTPProvider(url, timeout=timeout_s)
        _HIDE_URLS.names[str(httpx.URL(url))] = f"<rpc {health.name}>"
        self._limit = asyncio.Semaphore(parallel)
        self._ids = itertools.count(1)

    async def close(self) -> None:
        await self._provider.close()

    # ------------------------------------------------------------ plumbing
    async def call(self, build: Callable[[int], Any], cls: type[T], what: str) -> T:
        """Send ``build(id)``, return the reply parsed as ``cls``; failures counted, raised."""
        text = await self._send(build(next(self._ids)), what)
        return self._checked(lambda: reply(cls, text, what), what)

    def _checked(self, parse: Callable[[], T], what: str) -> T:
        try:
            return parse()
        except RpcReplyError as exc:
            self.health.problem("rpc_errors", f"{what}: {exc}")
            raise
        except MalformedReply as exc:
            self.health.problem("malformed", str(exc))
            raise

    async def _send(self, body: Any, what: str) -> str:
        """POST one request body (anything with ``to_json()``); transport failures counted."""
        async with self._limit:
            try:
                text = await self._provider.make_request_unparsed(body)
            except httpx.TimeoutException:
                self.health.problem("timeouts", f"{what}: no reply within {self.timeout_s} s")
                raise TransportError(f"{what}: timed out after {self.timeout_s} s") from None
            except httpx.HTTPError as exc:
                self.health.problem("http_errors", f"{what}: {_describe(exc)}")
                raise TransportError(f"{what}: {_describe(exc)}") from None
        return text

    def _account_config(self) -> RpcAccountInfoConfig:
        encoding = UiAccountEncoding.Base64Zstd if self.zstd else UiAccountEncoding.Base64
        return RpcAccountInfoConfig(encoding=encoding, commitment=self.commitment)

    async def _with_encoding_fallback(self, request: Callable[[], Any]) -> Any:
        """Run ``request``; if the node refuses base64+zstd, say so once and ask for base64."""
        try:
            return await request()
        except RpcReplyError as exc:
            if not (self.zstd and exc.code == -32602 and "zstd" in exc.message):
                raise
            self.zstd = False
            self.health.problem("rpc_errors", "the node does not offer base64+zstd; using base64")
            return await request()

    # ------------------------------------------------------------ accounts
    async def get_multiple(self, keys: Sequence[Pubkey]) -> list[Snapshot]:
        """Every key's account, ``batch_size`` keys a call, the calls in parallel."""
        chunks = [keys[i : i + self.batch_size] for i in range(0, len(keys), self.batch_size)]
        results = await asyncio.gather(*(self._chunk(c) for c in chunks), return_exceptions=True)
        snapshots = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            snapshots.append(result)
        return snapshots

    async def _chunk(self, keys: Sequence[Pubkey]) -> Snapshot:
        async def request() -> GetMultipleAccountsResp:
            config = self._account_config()
            return await self.call(
                lambda i: GetMultipleAccounts(list(keys), config, i),
                GetMultipleAccountsResp,
                "getMultipleAccounts",
            )

        resp = await self._with_encoding_fallback(request)
        if len(resp.value) != len(keys):
            self.health.problem(
                "malformed", f"getMultipleAccounts: {len(resp.value)} accounts for {len(keys)} keys"
            )
            raise MalformedReply(f"getMultipleAccounts: {len(resp.value)} accounts for {len(keys)}")
        self.health.count("fetched", len(keys))
        return Snapshot(resp.context.slot, keys, resp.value)

    async def get_program_accounts(
        self, program: Pubkey, account_filter: AccountFilter
    ) -> dict[Pubkey, Account]:
        """Accounts of ``program`` passing every condition of ``account_filter``."""
        filters = rpc_filters(account_filter)

        async def request() -> GetProgramAccountsResp:
            config = RpcProgramAccountsConfig(self._account_config(), filters=filters or None)
            return await self.call(
                lambda i: GetProgramAccounts(program, config, i),
                GetProgramAccountsResp,
                "getProgramAccounts",
            )

        resp = await self._with_encoding_fallback(request)
        return {keyed.pubkey: keyed.account for keyed in resp.value}

    # ------------------------------------------------------------ transactions
    async def latest_blockhash(self) -> LatestBlockhash:
        config = RpcContextConfig(commitment=self.commitment)
        resp = await self.call(
            lambda i: GetLatestBlockhash(config, i), GetLatestBlockhashResp, "getLatestBlockhash"
        )
        value = resp.value
        return LatestBlockhash(value.blockhash, value.last_valid_block_height, resp.context.slot)

    async def is_blockhash_valid(self, blockhash: Hash) -> bool:
        config = RpcContextConfig(commitment=self.commitment)
        resp = await self.call(
            lambda i: IsBlockhashValid(blockhash, config, i),
            IsBlockhashValidResp,
            "isBlockhashValid",
        )
        return bool(resp.value)

    async def send_transaction(
        self,
        tx: VersionedTransaction,
        *,
        skip_preflight: bool,
        preflight_commitment: str,
        max_retries: int | None,
    ) -> Signature:
        config = RpcSendTransactionConfig(
            skip_preflight=skip_preflight,
            preflight_commitment=COMMITMENTS[preflight_commitment],
            max_retries=max_retries,
        )
        resp = await self.call(
            lambda i: SendVersionedTransaction(tx, config, i),
            SendTransactionResp,
            "sendTransaction",
        )
        return resp.value

    async def recent_prioritization_fees(self, accounts: Sequence[Pubkey] = ()) -> list[int]:
        """getRecentPrioritizationFees: the fee of each recent slot, oldest first."""
        if len(accounts) > MAX_FEE_ACCOUNTS:
            raise ValueError(f"at most {MAX_FEE_ACCOUNTS} accounts per call")
        what = "getRecentPrioritizationFees"
        body = _JsonBody(
            {
                "jsonrpc": "2.0",
                "id": next(self._ids),
                "method": what,
                "params": [[str(a) for a in accounts]],
            }
        )
        text = await self._send(body, what)
        return self._checked(lambda: prioritization_fees(text, what), what)

    async def signature_statuses(
        self, signatures: Sequence[Signature]
    ) -> list[TransactionStatus | None]:
        if len(signatures) > MAX_SIGNATURES_PER_CALL:
            raise ValueError(f"at most {MAX_SIGNATURES_PER_CALL} signatures per call")
        config = RpcSignatureStatusConfig(search_transaction_history=False)
        resp = await self.call(
            lambda i: GetSignatureStatuses(list(signatures), config, i),
            GetSignatureStatusesResp,
            "getSignatureStatuses",
        )
        return list(resp.value)


class _JsonBody:
    """A request solders has no type for, as the provider sends bodies: ``to_json()``."""

    __slots__ = ("doc",)

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def to_json(self) -> str:
        return json.dumps(self.doc, separators=(",", ":"))


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} {exc.response.reason_phrase}"
    return f"{type(exc).__name__}: {mask_urls(str(exc))}" if str(exc) else type(exc).__name__
