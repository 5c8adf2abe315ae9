"""An in-process bus with the JetStream bus's behaviour, for unit tests and backtests only.

Why: tests of services and the replay backtest should not need a server, yet must see the same
semantics: per-stream sequence numbers, de-duplication by message id within the stream's
duplicate window, durable consumers that resume where they stopped, malformed messages counted
and skipped. It keeps everything (no max age) and lives as long as the object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from lstarb_runtime.bus.interface import (
    MAX_DELIVER,
    Bus,
    BusError,
    BusStats,
    Consumer,
    Delivery,
    Handler,
    PublishAck,
    StreamState,
    decode_for,
    follower_name,
)
from lstarb_runtime.bus.kv import MemoryKeyValue, bucket_spec
from lstarb_runtime.bus.streams import (
    STREAM_BY_NAME,
    STREAMS,
    StreamSpec,
    msg_id_of,
    stream_for_subject,
    subject_matches,
    subject_of,
)
from lstarb_runtime.bus.tracing import TRACEPARENT, TraceContext, current_trace, outgoing_header
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import EventModel

log = logging.getLogger("lstarb.bus.memory")


@dataclass
class _Message:
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass
class _Stream:
    spec: StreamSpec
    messages: list[_Message] = field(default_factory=list)
    ids: dict[str, tuple[int, float]] = field(default_factory=dict)
    wakeups: set[asyncio.Event] = field(default_factory=set)
    durables: dict[str, int] = field(default_factory=dict)
    """durable name -> sequence of the next message it will get."""


class MemoryConsumer(Consumer):
    """A consumer of a :class:`MemoryBus` stream, running as one task (``ephemeral``: a reader
    of :meth:`MemoryBus.follow`, forgotten when stopped)."""

    def __init__(
        self,
        stream: _Stream,
        durable: str,
        handler: Handler,
        filter_subject: str | None,
        *,
        ephemeral: bool = False,
    ) -> None:
        super().__init__(stream.spec.name, durable, ephemeral=ephemeral)
        self._stream = stream
        self._handler = handler
        self._filter = filter_subject
        self._wake = asyncio.Event()
        stream.wakeups.add(self._wake)
        stream.durables.setdefault(durable, 1)
        self._task = asyncio.create_task(self._run(), name=f"lstarb-consumer-{durable}")

    async def _run(self) -> None:
        st = self._stream
        while True:
            seq = st.durables[self.durable]
            if seq > len(st.messages):
                self._wake.clear()
                await self._wake.wait()
                continue
            msg = st.messages[seq - 1]
            if self._filter is None or subject_matches(self._filter, msg.subject):
                await self._deliver(seq, msg)
            st.durables[self.durable] = seq + 1

    async def _deliver(self, seq: int, msg: _Message) -> None:
        try:
            event = decode_for(self.stream, msg.data)
        except DecodeError as exc:
            self.stats.malformed += 1
            log.warning(
                "%s/%s: skipped malformed message %d: %s", self.stream, self.durable, seq, exc
            )
            return
        trace = TraceContext.parse(msg.headers.get(TRACEPARENT))
        for attempt in range(1, MAX_DELIVER + 1):
            self.stats.delivered += 1
            delivery = Delivery(
                self.stream,
                msg.subject,
                event,
                msg.data,
                msg.headers.get("Nats-Msg-Id"),
                trace,
                seq,
                attempt,
                msg.headers,
            )
            token = current_trace.set(trace)
            try:
                settle = await self._handler(delivery)
                if settle is not None:  # nothing is stored here: settled before the next
                    await settle
            except Exception:
                self.stats.failed += 1
                log.exception("%s/%s: handler failed on message %d", self.stream, self.durable, seq)
                await asyncio.sleep(0)
                continue
            finally:
                current_trace.reset(token)
            self.stats.handled += 1
            return

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._stream.wakeups.discard(self._wake)
        if self.ephemeral:
            self._stream.durables.pop(self.durable, None)


class MemoryBus(Bus):
    """The six streams in memory. Not for production: nothing survives the process."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._consumers: list[MemoryConsumer] = []
        self._failed: list[BusError] = []
        self.stats = BusStats()
        self._buckets: dict[str, MemoryKeyValue] = {}

    def kv(self, bucket: str) -> MemoryKeyValue:
        kv = self._buckets.get(bucket)
        if kv is None:
            kv = self._buckets[bucket] = MemoryKeyValue(bucket_spec(bucket))
        return kv

    async def ensure_streams(self) -> None:
        for spec in STREAMS:
            st = self._streams.setdefault(spec.name, _Stream(spec))
            st.spec = spec

    def _stream(self, name: str) -> _Stream:
        st = self._streams.get(name)
        if st is None:
            raise BusError(f"stream {name} does not exist; call ensure_streams() first")
        return st

    async def publish(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> PublishAck:
        headers = {TRACEPARENT: outgoing_header(trace)}
        return self._store(subject_of(event), event.encode(), msg_id or msg_id_of(event), headers)

    async def publish_nowait(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> asyncio.Future[PublishAck]:
        future: asyncio.Future[PublishAck] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(await self.publish(event, msg_id=msg_id, trace=trace))
        except BusError as exc:
            future.set_exception(exc)
            future.exception()  # kept for flush(): asyncio need not warn it went unread
            self._failed.append(exc)
        return future

    async def flush(self) -> int:
        failed, self._failed = self._failed, []
        if failed:
            raise failed[0]
        return 0

    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str | None = None
    ) -> PublishAck:
        return self._store(subject, data, msg_id, {})

    def _store(
        self, subject: str, data: bytes, msg_id: str | None, headers: dict[str, str]
    ) -> PublishAck:
        spec = stream_for_subject(subject)
        if spec is None:
            raise BusError(f"no stream takes subject {subject!r}")
        st = self._stream(spec.name)
        counts = self.stats[spec.name]
        counts.sent += 1
        counts.acked += 1
        now = time.monotonic()
        if msg_id is not None:
            headers["Nats-Msg-Id"] = msg_id
            seen = st.ids.get(msg_id)
            if seen is not None and now - seen[1] < spec.duplicate_window:
                counts.duplicates += 1
                return PublishAck(spec.name, seen[0], duplicate=True)
        st.messages.append(_Message(subject, bytes(data), headers))
        seq = len(st.messages)
        if msg_id is not None:
            st.ids[msg_id] = (seq, now)
        for wake in st.wakeups:
            wake.set()
        return PublishAck(spec.name, seq)

    async def consume(
        self,
        stream: str,
        durable: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
        batch: int | None = None,
    ) -> Consumer:
        if stream not in STREAM_BY_NAME:
            raise BusError(f"unknown stream {stream!r}; streams: {', '.join(STREAM_BY_NAME)}")
        consumer = MemoryConsumer(self._stream(stream), durable, handler, filter_subject)
        self._consumers.append(consumer)
        return consumer

    async def follow(
        self,
        stream: str,
        kind: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
    ) -> Consumer:
        if stream not in STREAM_BY_NAME:
            raise BusError(f"unknown stream {stream!r}; streams: {', '.join(STREAM_BY_NAME)}")
        consumer = MemoryConsumer(
            self._stream(stream), follower_name(kind), handler, filter_subject, ephemeral=True
        )
        self._consumers.append(consumer)
        return consumer

    async def stream_states(self) -> list[StreamState]:
        out = []
        for spec in STREAMS:
            st = self._stream(spec.name)
            n = len(st.messages)
            out.append(
                StreamState(
                    spec.name,
                    spec.subjects,
                    spec.storage,
                    n,
                    sum(len(m.data) for m in st.messages),
                    {d: n - seq + 1 for d, seq in sorted(st.durables.items())},
                )
            )
        return out

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
        self._consumers.clear()
