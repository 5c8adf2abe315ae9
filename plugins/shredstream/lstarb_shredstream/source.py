"""The shredstream data source: transactions from Jito's shredstream-proxy as the leader
produces the block, and a tick for each slot's first batch.

One task reads the proxy's ``SubscribeEntries`` stream (grpcio's generic ``unary_stream``,
:mod:`.protobuf` as the deserializer), walks each batch (:mod:`.entries`, :mod:`.wire`),
keeps what touches the followed accounts (:mod:`.selection`) and queues it for
:meth:`ShredstreamSource.stream`. The proxy has no resume point: when it is down, ends the
stream, errs or says nothing for ``idle_timeout_s``, the task reconnects after a jittered
backoff and carries on from whatever comes next. Bad input is counted and skipped
(:mod:`.health`); nothing a proxy sends stops the source.

What it does not do: fetch or discover accounts (there is no account data in a shred), or
say whether a transaction succeeded. It is meant beside a source of account updates (rpc).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence

import grpc
from solders.pubkey import Pubkey

from lstarb_sdk import (
    AccountUpdate,
    DataSource,
    EndpointHealth,
    PendingTransaction,
    SlotUpdate,
)
from lstarb_sdk.reconnect import Backoff
from lstarb_shredstream.config import ShredstreamConfig
from lstarb_shredstream.entries import walk_entries
from lstarb_shredstream.errors import MalformedInput
from lstarb_shredstream.health import Health
from lstarb_shredstream.protobuf import BadMessage, EntryMessage, deserialize
from lstarb_shredstream.selection import Selector

log = logging.getLogger("lstarb.plugin.shredstream")

METHOD = "/shredstream.ShredstreamProxy/SubscribeEntries"
SLOT_STATUS = "first_shred_received"
"""The status of this source's slot ticks: the slot's first batch arrived, nothing of it is
executed yet (Yellowstone's name for the same moment)."""

Item = AccountUpdate | SlotUpdate | PendingTransaction


def _empty_request(_: object) -> bytes:
    return b""  # SubscribeEntriesRequest has no fields


class ShredstreamSource(DataSource):
    """Pending transactions on followed accounts, from one shredstream-proxy."""

    name = "shredstream"

    def __init__(self, config: ShredstreamConfig | None = None) -> None:
        self.config = config = config or ShredstreamConfig()
        self.health = Health(config.url)
        self.selector = Selector(
            self.health, config.max_seen_signatures, config.lookup_table_transactions, self.name
        )
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._closed = False

    # ------------------------------------------------------------ DataSource
    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        """Keep transactions whose static keys write these accounts too (from the next batch
        on: there is nothing to read now, a shred carries no account state)."""
        self.selector.follow(accounts)
        self._start()

    async def stream(self) -> AsyncIterator[Item]:
        self._start()
        queue = self._queue
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                item = await queue.get()
            if item is None:
                queue.put_nowait(None)  # a second stream() ends too
                return
            yield item

    def more_arrived(self) -> bool:
        return not self._queue.empty()

    def newest_slot(self) -> int:
        return self.health.slot

    def endpoint_health(self) -> Sequence[EndpointHealth]:
        health = self.health
        return [
            EndpointHealth(health.name, health.connected, health.slot, False, health.snapshot())
        ]

    def counters(self) -> dict[str, int]:
        """Every counter of :mod:`.health`, for tests and ``lstarb`` summaries."""
        return self.health.snapshot()

    async def close(self) -> None:
        """End :meth:`stream` now, even while it waits, and drop the connection."""
        self._closed = True
        self._stopped.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.health.connected = False
        self._queue.put_nowait(None)

    # ------------------------------------------------------------ the reader
    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(), name=f"shredstream {self.health.name}")

    async def _run(self) -> None:
        backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        while not self._stopped.is_set():
            try:
                await self._session(backoff)
            except grpc.aio.AioRpcError as exc:
                details = exc.details() or ""
                self.health.problem("connection_errors", f"{exc.code().name}: {details}")
            except TimeoutError:
                self.health.problem(
                    "idle_timeouts", f"nothing from the proxy in {self.config.idle_timeout_s} s"
                )
            except Exception as exc:  # whatever else: named, counted, and tried again
                self.health.problem("connection_errors", f"the session failed: {exc!r}")
            if self.health.connected:
                self.health.connected = False
                self.health.counts["disconnects"] += 1
            delay = backoff.next()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), delay)

    async def _session(self, backoff: Backoff) -> None:
        """One subscription, until the proxy ends it (returns) or it fails (raises)."""
        limit = self.config.max_message_bytes
        options = [
            ("grpc.max_receive_message_length", limit),
            ("grpc.keepalive_time_ms", 10_000),
            ("grpc.keepalive_timeout_ms", 5_000),
        ]
        async with grpc.aio.insecure_channel(self.config.url, options=options) as channel:
            subscribe = channel.unary_stream(
                METHOD, request_serializer=_empty_request, response_deserializer=deserialize
            )
            try:
                await asyncio.wait_for(channel.channel_ready(), self.config.connect_timeout_s)
            except TimeoutError:
                self.health.problem(
                    "connection_errors",
                    f"no connection in {self.config.connect_timeout_s} s (is the proxy "
                    "running with --grpc-service-port?)",
                )
                return
            self.health.connected = True
            self.health.counts["connects"] += 1
            call = subscribe(b"")
            try:
                idle = self.config.idle_timeout_s
                while True:
                    message = await asyncio.wait_for(call.read(), idle)
                    if message is grpc.aio.EOF:
                        log.info("shredstream %s: the proxy ended the stream", self.health.name)
                        return
                    backoff.reset()
                    self._take(message, time.time_ns())
            finally:
                call.cancel()

    def _take(self, message: EntryMessage | BadMessage, received_ns: int) -> None:
        """Queue what one proxy message holds: a tick if its slot is new, then the kept
        transactions; a malformed message or batch is counted and skipped."""
        health = self.health
        health.counts["messages"] += 1
        if isinstance(message, BadMessage):
            health.problem("malformed_messages", f"{message.error} ({message.size} bytes)")
            return
        slot = message.slot
        try:
            batch = walk_entries(message.entries)
        except MalformedInput as exc:
            health.problem("malformed_batches", f"slot {slot}: {exc}")
            return
        queue = self._queue
        if self.selector.new_slot(slot):
            health.counts["slots"] += 1
            health.slot = max(health.slot, slot)
            queue.put_nowait(SlotUpdate(slot, None, SLOT_STATUS, self.name, received_ns))
        health.counts["entries"] += batch.entries
        health.counts["ticks"] += batch.ticks
        if batch.trailing:
            health.counts["trailing_bytes"] += batch.trailing
        for transaction in self.selector.select(batch, slot, received_ns):
            queue.put_nowait(transaction)
