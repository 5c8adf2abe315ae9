"""One RPC node followed for as long as the source runs: sessions, reconnects, re-fetches.

A session: open the websocket, subscribe the slot, every wanted account and every followed
program filter, wait for the replies, then fetch every wanted account over HTTP. The
subscriptions come first so nothing changes unseen between the snapshot and the first
notification; the snapshot covers whatever changed while the previous session was down
(subscriptions die with their socket, and nothing is replayed). Accounts wanted later
are subscribed, then fetched, the same way.

When a session ends (peer closed, socket broken, silence, a request that got no reply)
the endpoint waits a jittered, growing delay and starts a new one; a session that got
its subscriptions confirmed resets the delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from solders.account_decoder import UiAccountEncoding
from solders.pubkey import Pubkey
from solders.rpc.config import RpcAccountInfoConfig, RpcProgramAccountsConfig
from solders.rpc.requests import AccountSubscribe, ProgramSubscribe, SlotSubscribe

from lstarb_rpc.config import RpcConfig
from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.ordering import Lane
from lstarb_rpc.pubsub import Handler, PubSubConnection, Request
from lstarb_rpc.rpc_http import COMMITMENTS, RpcHttp, rpc_filters
from lstarb_sdk import AccountFilter
from lstarb_sdk.reconnect import Backoff

if TYPE_CHECKING:
    from lstarb_rpc.source import RpcSource

log = logging.getLogger("lstarb.plugin.rpc")

T = TypeVar("T")

ProgramFilter = tuple[Pubkey, AccountFilter]


class Endpoint:
    """An HTTP URL and its PubSub URL, followed by one task."""

    def __init__(
        self, name: str, http_url: str, ws_url: str, config: RpcConfig, source: RpcSource
    ) -> None:
        self.name = name
        self.ws_url = ws_url
        self.config = config
        self.source = source
        self.label = f"rpc:{name}"
        """The ``source`` of the updates this endpoint delivers."""
        self.health = EndpointHealth(name)
        self.http = RpcHttp(
            http_url,
            self.health,
            commitment=config.commitment,
            timeout_s=config.request_timeout_s,
            parallel=config.parallel_requests,
            batch_size=config.batch_size,
            zstd=config.zstd,
        )
        self.backoff = Backoff(config.backoff_initial_s, config.backoff_max_s)
        self._account_config = RpcAccountInfoConfig(
            encoding=UiAccountEncoding.Base64, commitment=COMMITMENTS[config.commitment]
        )
        self._more = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: PubSubConnection | None = None

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"lstarb rpc endpoint {self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.http.close()

    def unread(self) -> bool:
        """Frames received on the live connection that its reader has not read yet."""
        conn = self._conn
        return conn is not None and conn.unread()

    def more(self) -> None:
        """The source wants more accounts or programs: subscribe them in this session."""
        self._more.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure ends the session; none ends the source
                reason = _describe(exc)
                kind = "timeouts" if isinstance(exc, TimeoutError) else "connection_errors"
                self.health.problem(kind, f"session ended: {reason}")
            finally:
                self.health.connected = False
                conn, self._conn = self._conn, None
                if conn is not None:
                    await conn.close()
            self.health.count("disconnects")
            delay = self.backoff.next()
            log.info("rpc endpoint %s: reconnecting in %.2f s", self.name, delay)
            await asyncio.sleep(delay)

    # ------------------------------------------------------------ one session
    async def _session(self) -> None:
        conn = await PubSubConnection.open(
            self.ws_url,
            self.health,
            connect_timeout_s=self.config.connect_timeout_s,
            idle_timeout_s=self.config.idle_timeout_s,
        )
        self._conn = conn
        self.health.count("connects")
        reader = asyncio.create_task(conn.run(), name=f"lstarb rpc reader {self.name}")
        try:
            accounts = Lane(f"{self.name}/accounts")
            programs = Lane(f"{self.name}/programs")
            self._more.clear()
            keys = list(self.source.wanted)
            followed = list(self.source.programs)
            requests: list[tuple[Request, Handler]] = [(SlotSubscribe, self._on_slot)]
            requests += self._account_requests(accounts, keys)
            requests += self._program_requests(programs, followed)
            await self._subscribe(conn, reader, requests)
            subscribed, watched = set(keys), set(followed)
            self.health.connected = True
            self.backoff.reset()
            log.info(
                "rpc endpoint %s: subscribed to %d accounts, %d program filters and slots",
                self.name,
                len(keys),
                len(followed),
            )
            await self._refetch(keys, reader)
            while True:
                waiter = asyncio.create_task(self._more.wait())
                await asyncio.wait((reader, waiter), return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if reader.done():
                    reader.result()  # raises ConnectionLost, saying why
                self._more.clear()
                keys = [k for k in self.source.wanted if k not in subscribed]
                new_programs = [p for p in self.source.programs if p not in watched]
                requests = self._account_requests(accounts, keys)
                requests += self._program_requests(programs, new_programs)
                await self._subscribe(conn, reader, requests)
                subscribed.update(keys)
                watched.update(new_programs)
                await self._refetch(keys, reader)
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    def _account_requests(
        self, lane: Lane, keys: Iterable[Pubkey]
    ) -> list[tuple[Request, Handler]]:
        config = self._account_config
        return [
            (partial(AccountSubscribe, key, config), partial(self._on_account, lane, key))
            for key in keys
        ]

    def _program_requests(
        self, lane: Lane, followed: Iterable[ProgramFilter]
    ) -> list[tuple[Request, Handler]]:
        out: list[tuple[Request, Handler]] = []
        for program, account_filter in followed:
            config = RpcProgramAccountsConfig(
                self._account_config, filters=rpc_filters(account_filter) or None
            )
            out.append(
                (partial(ProgramSubscribe, program, config), partial(self._on_program, lane))
            )
        return out

    async def _subscribe(
        self,
        conn: PubSubConnection,
        reader: asyncio.Task[None],
        requests: list[tuple[Request, Handler]],
    ) -> None:
        """Send the requests and wait for their replies (or for the reader to fail)."""
        if not requests:
            return
        replies = await _unless_lost(reader, conn.subscribe(requests, self.config.reply_timeout_s))
        refused = [r for r in replies if isinstance(r, BaseException)]
        if refused:  # already counted and logged by the connection; say how many
            log.warning(
                "rpc endpoint %s: %d of %d subscriptions refused (first: %s)",
                self.name,
                len(refused),
                len(requests),
                refused[0],
            )
        self.health.count("subscriptions", len(requests) - len(refused))

    async def _refetch(self, keys: list[Pubkey], reader: asyncio.Task[None]) -> None:
        """Snapshot ``keys`` over HTTP and hand each state to the source (which drops what a
        notification already superseded)."""
        if not keys:
            return
        marks = {key: self.source.order.mark(key) for key in keys}
        snapshots = await _unless_lost(reader, self.http.get_multiple(keys))
        received_ns = time.time_ns()
        for snapshot in snapshots:
            for key, account in zip(snapshot.keys, snapshot.accounts, strict=True):
                self.source.on_fetched(self, key, snapshot.slot, account, marks[key], received_ns)

    # ------------------------------------------------------------ notifications
    def _on_account(self, lane: Lane, key: Pubkey, item: Any, received_ns: int) -> None:
        result = item.result
        self.source.on_account(self, lane, key, result.context.slot, result.value, received_ns)

    def _on_program(self, lane: Lane, item: Any, received_ns: int) -> None:
        result = item.result
        keyed = result.value
        self.source.on_account(
            self, lane, keyed.pubkey, result.context.slot, keyed.account, received_ns
        )

    def _on_slot(self, item: Any, received_ns: int) -> None:
        info = item.result
        self.source.on_slot(self, info.slot, info.parent, received_ns)


async def _unless_lost(reader: asyncio.Task[None], work: Coroutine[Any, Any, T]) -> T:
    """``await work``, unless the connection is lost first (then its ConnectionLost)."""
    task = asyncio.create_task(work)
    await asyncio.wait((reader, task), return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    reader.result()  # raises: the reader only ends by losing the connection
    raise AssertionError("unreachable: the reader ended without an error")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TimeoutError) and not text:
        return "timed out"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
