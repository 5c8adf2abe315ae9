"""The production bus: NATS JetStream through nats-py, with pull consumers.

Why pull consumers: a service asks for events at its own pace (back-pressure), several
processes with the same durable name share the work (``lstarb run --role planner`` twice), and
a consumer that was down resumes from its acknowledged position. The client reconnects forever;
after every reconnect the bus re-asserts its streams, consumers and key-value buckets (a server
that restarted has lost its memory streams) and re-sends what was not acknowledged
(:mod:`~lstarb_runtime.bus.publisher`); a pull request lost with a connection is simply sent again.

Two kinds of consumer: the durables of service groups (:meth:`JetStreamBus.consume`), which
outlive their processes on purpose, and readers of one process (:meth:`JetStreamBus.follow`),
ephemeral with an inactivity threshold so the server removes them once their process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any, Final

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import (
    DEFAULT_PREFIX,
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StatusCode,
    StorageType,
    StreamConfig,
)

from lstarb_runtime.bus.connection import RECONNECT_WAIT, ConnectionMonitor, connect_nats
from lstarb_runtime.bus.interface import (
    FOLLOWER_INACTIVE_S,
    MAX_DELIVER,
    MSG_ID,
    SETTLE_GRACE,
    Bus,
    BusError,
    BusHealth,
    BusStats,
    Consumer,
    ConsumerStats,
    Delivery,
    Handler,
    PublishAck,
    Settle,
    StreamState,
    decode_for,
    follower_name,
)
from lstarb_runtime.bus.kv import JetStreamKeyValue, bucket_spec, ensure_buckets
from lstarb_runtime.bus.local import LocalMember, LocalRelay
from lstarb_runtime.bus.publisher import (
    ACK_TIMEOUT,
    FLUSH_TIMEOUT,
    MAX_PENDING,
    Publisher,
    plain_header,
)
from lstarb_runtime.bus.streams import (
    STREAM_BY_NAME,
    STREAMS,
    StreamSpec,
    msg_id_of,
    stream_of,
    subject_of,
)
from lstarb_runtime.bus.tracing import (
    TRACEPARENT,
    TraceContext,
    current_trace,
    outgoing,
    outgoing_header,
)
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import EventModel

log = logging.getLogger("lstarb.bus")

__all__ = ["JetStreamBus", "JetStreamConsumer", "connect_nats", "stream_config"]

STATUS: Final = "Status"
"""The header nats-py puts a status reply's code in (``NATS/1.0 408 Request Timeout``)."""
DESCRIPTION: Final = "Description"

REASSERT_BACKOFF_MAX: Final = 5.0
"""Seconds between attempts at most, while a restarted server is not ready for them."""


def stream_config(spec: StreamSpec) -> StreamConfig:
    """The JetStream configuration of one of the six streams."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.MEMORY if spec.storage == "memory" else StorageType.FILE,
        max_age=spec.max_age,
        max_bytes=spec.max_bytes,
        duplicate_window=spec.duplicate_window,
        discard=DiscardPolicy.OLD,
        num_replicas=1,
    )


def _differs(have: StreamConfig, want: StreamConfig) -> bool:
    return (
        sorted(have.subjects or []) != sorted(want.subjects or [])
        or abs((have.max_age or 0) - (want.max_age or 0)) > 1e-6
        or abs((have.duplicate_window or 0) - (want.duplicate_window or 0)) > 1e-6
        or (have.max_bytes or -1) != (want.max_bytes or -1)
        or have.description != want.description
        or _enum_str(have.discard) != _enum_str(want.discard)
    )


PULL_LOST_MARGIN: Final = 0.5
"""Seconds past a pull request's expiry without its end (408) before the consumer takes it for
lost (a reconnect dropped it with its subscription) and asks again."""

_WAKE: Final = None
"""Queued instead of a message to wake the loop (a pull lost, stop)."""


class JetStreamConsumer(Consumer):
    """A pull consumer that always keeps one pull request waiting on the server.

    Why not ``fetch``: each fetch is a request round trip, and an event that arrives while a
    batch is handled waits for the next fetch. Here the consumer sends
    ``$JS.API.CONSUMER.MSG.NEXT`` requests itself (``batch``, ``expires``; the JetStream pull
    protocol) to an inbox of its own, so the server pushes each event the moment it is stored
    and the loop handles it as it arrives, in stream order. The next request goes out as soon as
    the previous one is used up or expired, before the message in hand is handled; it asks for
    what the buffer has room for, so at most ``batch`` events are delivered and not handled yet
    (back-pressure). With ``batch=1`` that means a consumer asks for the next event only once it
    is idle, so in a group another idle member gets it. Each request has its own reply subject
    (``<inbox>.<n>``), which tells the end of the request in force (408 expired, 409, 404) from
    a late one of an earlier request.

    A durable of a service group, or (``ephemeral``) a reader of this process alone, which
    :meth:`ensure` re-creates after the last event it handled when the server lost it, and
    :meth:`stop` deletes.
    """

    def __init__(
        self,
        bus: JetStreamBus,
        config: ConsumerConfig,
        stream: str,
        durable: str,
        handler: Handler,
        batch: int,
        fetch_timeout: float,
        *,
        ephemeral: bool = False,
        stream_created: datetime | None = None,
        local: LocalMember | None = None,
        stats: ConsumerStats | None = None,
    ) -> None:
        super().__init__(stream, durable, ephemeral=ephemeral)
        if batch < 1:
            raise BusError(f"batch must be at least 1, not {batch}")
        if stats is not None:
            self.stats = stats
        self.config = config
        self._bus = bus
        self._local = local
        """This consumer's part in local delivery (None: every event comes from the server)."""
        self._handler = handler if local is None else local.guarded(handler)
        self._batch = batch
        self._refill = max(1, batch // 2)
        """Room for at least this many events before a new pull request goes out."""
        self._expires = fetch_timeout
        self._stopping = False
        self._last_seq = 0
        """The stream sequence of the last message handled (acknowledged or terminated)."""
        self._stream_created = stream_created
        self._ensuring = asyncio.Lock()
        self._settling: set[asyncio.Future[None]] = set()
        """Events whose handler returned a :data:`Settle` still outstanding."""
        self._next_subject = f"{DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = bus.nc.new_inbox()
        self._sub: Subscription | None = None
        self._queue: asyncio.Queue[Msg | None] = asyncio.Queue()
        """Messages and status replies as they arrived, in order; ``_WAKE`` to wake the loop."""
        self._pulls = 0
        self._pull = 0
        """Number of the pull request in force (0: none)."""
        self._pull_left = 0
        """Messages the request in force may still deliver."""
        self._pull_timer: asyncio.TimerHandle | None = None
        self._task = asyncio.create_task(self._run(), name=f"lstarb-consumer-{durable}")

    async def _run(self) -> None:
        self._sub = await self._bus.nc.subscribe(f"{self._inbox}.*", cb=self._queue.put)
        while not self._stopping:
            try:
                await self._pull_if_room(0)
            except Exception as exc:  # closed or reconnecting beyond the client's buffer
                log.debug("%s/%s: pull request not sent (%r)", self.stream, self.durable, exc)
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            msg = await self._queue.get()
            if msg is None or self._stopping:
                if msg is not None:
                    self._queue.put_nowait(msg)  # stop() gives it back to the server
                continue
            status = msg.headers.get(STATUS) if msg.headers else None
            if status is None:
                self._delivered()
                await self._pull_if_room(1, quietly=True)  # before handling: no gap
                await self._handle(msg)
            elif self._ended(msg, status):
                if status == StatusCode.SERVICE_UNAVAILABLE:
                    await self._lost_consumer()
                else:  # refused (409): not again at once
                    await asyncio.sleep(RECONNECT_WAIT)

    async def _pull_if_room(self, in_hand: int, *, quietly: bool = False) -> None:
        """Send a pull request if none is in force and the buffer has room for ``_refill``."""
        if self._pull or self._stopping:
            return
        room = self._batch - self._queue.qsize() - in_hand
        if room < self._refill:
            return
        self._pulls += 1
        number = self._pulls
        request = {"batch": room, "expires": int(self._expires * 1e9)}
        try:
            await self._bus.nc.publish(
                self._next_subject, json.dumps(request).encode(), reply=f"{self._inbox}.{number}"
            )
        except Exception:
            if quietly:  # the loop's next turn tries again
                return
            raise
        self._pull, self._pull_left = number, room
        loop = asyncio.get_running_loop()
        self._pull_timer = loop.call_later(
            self._expires + PULL_LOST_MARGIN, self._pull_lost, number
        )

    def _pull_lost(self, number: int | None = None) -> None:
        """The request in force (or ``number``) ended without a word (a reconnect): ask again."""
        if self._pull and number in (None, self._pull):
            self._pull_done()
            self._queue.put_nowait(_WAKE)

    def _pull_done(self) -> None:
        self._pull = 0
        if self._pull_timer is not None:
            self._pull_timer.cancel()
            self._pull_timer = None

    def _delivered(self) -> None:
        """A message arrived: it used one of the request in force (if any is)."""
        if self._pull:
            self._pull_left -= 1
            if self._pull_left <= 0:
                self._pull_done()

    def _ended(self, msg: Msg, status: str) -> bool:
        """A status reply: end the request in force if it is about it. True when that is not
        the normal end (408 expired, 404 nothing now) but a refusal: 503 (no responders: the
        server has no such consumer) or 409 (consumer deleted, too many waiting requests)."""
        if status == StatusCode.CONTROL_MESSAGE:  # a heartbeat (none is asked for)
            return False
        number = msg.subject.rsplit(".", 1)[-1]
        if number != str(self._pull):
            return False  # a late word on an earlier request
        self._pull_done()
        if status in (StatusCode.REQUEST_TIMEOUT, StatusCode.NO_MESSAGES):
            return False
        if status != StatusCode.SERVICE_UNAVAILABLE:
            description = (msg.headers or {}).get(DESCRIPTION, "")
            log.info("%s/%s: pull refused: %s %s", self.stream, self.durable, status, description)
        return True

    async def _lost_consumer(self) -> None:
        log.warning("%s/%s: the server has no such consumer; retrying", self.stream, self.durable)
        await asyncio.sleep(RECONNECT_WAIT)
        if self.ephemeral and not self._stopping and self._bus.nc.is_connected:
            await self._ensure_quietly()

    async def _ensure_quietly(self) -> None:
        try:
            done = await self.ensure()
        except Exception as exc:  # the stream may not be back yet: the next failure retries
            log.warning("%s/%s: not re-created yet (%r)", self.stream, self.durable, exc)
            return
        if done:
            log.warning("%s", done)

    async def ensure(self) -> str | None:
        """Re-create this consumer if the server no longer has it; say so (None: it had it).

        A durable comes back as it was configured (its group resumes from the stream's start,
        as a new group would). A reader comes back after the last event it handled, or from
        the start when the stream was re-created since (a memory stream after a restart).
        """
        js = self._bus.js
        async with self._ensuring:
            try:
                await js.consumer_info(self.stream, self.durable)
                return None
            except nats.js.errors.NotFoundError:
                pass
            if not self.ephemeral:
                await js.add_consumer(self.stream, self.config)
                return f"re-created consumer {self.stream}/{self.durable}"
            info = await js.stream_info(self.stream)
            same = info.created == self._stream_created and info.state.last_seq >= self._last_seq
            if not same:
                self._last_seq = 0
            self.config = self._bus.follower_config(
                self.durable, self.config.filter_subject or "", self._last_seq + 1
            )
            await js.add_consumer(self.stream, self.config)
            self._stream_created = info.created
            where = f"after {self._last_seq}" if self._last_seq else "from the stream's start"
            return f"re-created reader {self.stream}/{self.durable} {where}"

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
        if (
            self._local is not None
            and msg.headers
            and await self._local.handled(msg.headers.get(MSG_ID))
        ):  # the server's copy of an event handled in this process as it was published
            await _quietly(msg.ack())
            self._last_seq = max(self._last_seq, meta.sequence.stream)
            return
        try:
            event = decode_for(self.stream, msg.data)
        except DecodeError as exc:
            self.stats.malformed += 1
            log.warning(
                "%s/%s: skipped malformed message %d: %s",
                self.stream,
                self.durable,
                meta.sequence.stream,
                exc,
            )
            await _quietly(msg.term())
            self._last_seq = max(self._last_seq, meta.sequence.stream)
            return
        headers = dict(msg.headers or {})
        delivery = Delivery(
            self.stream,
            msg.subject,
            event,
            msg.data,
            headers.get(MSG_ID),
            TraceContext.parse(headers.get(TRACEPARENT)),
            meta.sequence.stream,
            meta.num_delivered,
            headers,
        )
        self.stats.delivered += 1
        token = current_trace.set(delivery.trace)
        try:
            settle = await self._handler(delivery)
        except Exception:
            self.stats.failed += 1
            log.exception(
                "%s/%s: handler failed on message %d",
                self.stream,
                self.durable,
                meta.sequence.stream,
            )
            await _quietly(msg.nak(delay=0.1))
            return
        finally:
            current_trace.reset(token)
        if settle is not None:  # acknowledged once it completes; the next event meanwhile
            task = asyncio.ensure_future(self._settle(msg, settle, meta.sequence.stream))
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)
            return
        self.stats.handled += 1
        await _quietly(msg.ack())
        self._last_seq = max(self._last_seq, meta.sequence.stream)

    async def _settle(self, msg: Msg, settle: Settle, seq: int) -> None:
        """Acknowledge ``msg`` once what its handler returned completed; give it back if that
        failed (redelivered, as if the handler had raised)."""
        try:
            await settle
        except Exception as exc:
            self.stats.failed += 1
            log.warning("%s/%s: message %d not settled: %s", self.stream, self.durable, seq, exc)
            await _quietly(msg.nak(delay=0.1))
            return
        self.stats.handled += 1
        await _quietly(msg.ack())
        self._last_seq = max(self._last_seq, seq)

    async def _settled(self, timeout: float = SETTLE_GRACE) -> None:
        """Wait (at most ``timeout``) for the events still settling; those left unacknowledged
        are redelivered by the server after ``ack_wait``."""
        if self._settling:
            _, left = await asyncio.wait(set(self._settling), timeout=timeout)
            if left:
                log.warning(
                    "%s/%s: %d events not settled within %gs of stopping: left to redelivery",
                    self.stream,
                    self.durable,
                    len(left),
                    timeout,
                )
                for task in left:
                    task.cancel()

    async def stop(self) -> None:
        """Finish the event in hand, then give back what the server sent since (nak, so the
        next run or another member gets it at once) until the pull request in force has ended
        (at most ``fetch_timeout``): no request is left on the server to swallow messages meant
        for the next run. Then unsubscribe; a reader is deleted from the server (nothing of
        this process stays behind)."""
        self._stopping = True
        if self._local is not None:
            self._local.quit()
        self._queue.put_nowait(_WAKE)
        with contextlib.suppress(Exception):
            await self._task
        if self._local is not None:
            await self._local.leave()
        await self._settled()
        given = 0
        while True:
            while not self._queue.empty():
                given += await self._give_back(self._queue.get_nowait())
            if not self._pull or not self._bus.nc.is_connected:
                break
            given += await self._give_back(await self._queue.get())  # the timer wakes it
        self._pull_done()
        if given:
            log.info("%s/%s: gave back %d events on stop", self.stream, self.durable, given)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        self._bus._consumers.discard(self)
        if self.ephemeral and self._bus.nc.is_connected:
            try:
                await self._bus.js.delete_consumer(self.stream, self.durable)
            except nats.js.errors.NotFoundError:
                pass
            except Exception as exc:  # the server deletes it after its inactivity threshold
                log.info("%s/%s: not deleted (%r)", self.stream, self.durable, exc)

    async def _give_back(self, msg: Msg | None) -> int:
        """On stop: nak an event that arrived (1), or end the request a status is about (0)."""
        if msg is None:
            return 0
        status = msg.headers.get(STATUS) if msg.headers else None
        if status is not None:
            self._ended(msg, status)
            return 0
        self._delivered()
        await _quietly(msg.nak())
        return 1


def _enum_str(value: Any) -> str:
    """nats-py leaves some enums of server replies as plain strings."""
    return str(getattr(value, "value", value))


async def _quietly(op: Any) -> None:
    """Ack/nak/term: if the connection dropped, the server redelivers after ``ack_wait``."""
    try:
        await op
    except Exception as exc:
        log.debug("ack failed: %r", exc)


class JetStreamBus(Bus):
    """The six streams on a NATS server with JetStream enabled.

    ``batch``: events a consumer may have delivered and not handled yet (its pull requests
    ask for no more); ``fetch_timeout``: seconds a consumer's pull request waits on the server
    before it expires and the next goes out (also what :meth:`JetStreamConsumer.stop` waits at
    most for it to end); ``ack_timeout``: seconds without an acknowledgement before a publish
    is sent again;
    ``flush_timeout``: what :meth:`flush` waits at most; ``max_pending``: unacknowledged
    publishes before publishing waits; ``follower_inactive``: seconds a reader of
    :meth:`follow` may go without a pull request before the server deletes it. Pass ``monitor`` (as
    :meth:`connect` does) to re-assert streams and re-send after every reconnect.
    ``local_delivery``: events published on MARKET_DATA, OPPORTUNITIES and EXECUTION through
    this bus are also handed at once to its own consumers of them (:mod:`.local`).
    """

    def __init__(
        self,
        nc: Client,
        *,
        batch: int = 256,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        own_connection: bool = True,
        ack_timeout: float = ACK_TIMEOUT,
        flush_timeout: float = FLUSH_TIMEOUT,
        max_pending: int = MAX_PENDING,
        follower_inactive: float = FOLLOWER_INACTIVE_S,
        monitor: ConnectionMonitor | None = None,
        local_delivery: bool = False,
    ) -> None:
        if follower_inactive <= 0:
            raise BusError(f"follower_inactive must be above 0 seconds, not {follower_inactive}")
        self.nc = nc
        self.js = nc.jetstream()
        self._batch = batch
        self._fetch_timeout = fetch_timeout
        self._ack_wait = ack_wait
        self.follower_inactive = follower_inactive
        self._own = own_connection
        self._consumers: set[JetStreamConsumer] = set()
        self.stats = BusStats()
        self._publisher = Publisher(
            nc,
            self.stats,
            ack_timeout=ack_timeout,
            flush_timeout=flush_timeout,
            max_pending=max_pending,
        )
        self._monitor = monitor
        if monitor is not None:
            monitor.listeners.append(self)
        self._reassert_task: asyncio.Task[None] | None = None
        self._reassert_error = ""
        self._watch_task: asyncio.Task[None] | None = None
        self._closing = False
        self._buckets: dict[str, JetStreamKeyValue] = {}
        self.local: LocalRelay | None = LocalRelay() if local_delivery else None
        """Local delivery (:mod:`~lstarb_runtime.bus.local`); None when off."""

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> JetStreamBus:
        """Connect to ``url`` (no embedded server; see ``connect_bus`` for that)."""
        monitor = ConnectionMonitor(url)
        bus = cls(await connect_nats(url, monitor=monitor), monitor=monitor, **kwargs)
        await bus._publisher.start()
        return bus

    # ------------------------------------------------------------------ streams and reconnects

    async def ensure_streams(self) -> None:
        try:
            await self._ensure_streams()
            await ensure_buckets(self.js)
        except (nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError):
            raise BusError(
                "the NATS server does not have JetStream enabled (start it with -js)"
            ) from None
        self._watch_no_stream()

    async def _ensure_streams(self) -> list[str]:
        """Create or repair the six streams; return what was done (``created MARKET_DATA``)."""
        done = []
        for spec in STREAMS:
            want = stream_config(spec)
            try:
                info = await self.js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                await self.js.add_stream(want)
                log.info("created stream %s", spec.name)
                done.append(f"created {spec.name}")
                continue
            have = info.config
            if _enum_str(have.storage) != _enum_str(want.storage):
                raise BusError(
                    f"stream {spec.name} exists with {have.storage} storage but must be "
                    f"{spec.storage}; JetStream cannot change storage in place: delete it "
                    f"(nats stream rm {spec.name}) and start again"
                )
            if _differs(have, want):
                await self.js.update_stream(want)
                log.info("updated stream %s", spec.name)
                done.append(f"updated {spec.name}")
        return done

    async def _ensure_consumers(self) -> list[str]:
        """Re-create the consumers this bus runs that the server no longer has."""
        done = []
        for consumer in list(self._consumers):
            said = await consumer.ensure()
            if said:
                done.append(said)
        return done

    async def _assert_all(self) -> list[str]:
        """Streams, buckets, then consumers: what a server that restarted may have lost."""
        streams = await self._ensure_streams()
        buckets = await ensure_buckets(self.js)
        return [*streams, *buckets, *(await self._ensure_consumers())]

    def kv(self, bucket: str) -> JetStreamKeyValue:
        kv = self._buckets.get(bucket)
        if kv is None:
            kv = self._buckets[bucket] = JetStreamKeyValue(self.js, bucket_spec(bucket))
        return kv

    def connection_lost(self) -> None:
        self._publisher.paused = True

    def connection_restored(self, blind_seconds: float) -> None:
        self.stats.reconnects += 1
        self.stats.blind_seconds += blind_seconds
        for consumer in self._consumers:  # their pull requests went with the connection
            consumer._pull_lost()
        self._reassert(f"a reconnect after {blind_seconds:.2f}s blind")

    def _reassert(self, why: str) -> None:
        """Re-assert streams and consumers in the background (once at a time), then re-send."""
        if self._closing or (self._reassert_task is not None and not self._reassert_task.done()):
            return
        self._publisher.paused = True
        self._reassert_task = asyncio.create_task(self._reassert_until_done(why))

    async def _reassert_until_done(self, why: str) -> None:
        delay = RECONNECT_WAIT
        while True:
            try:
                done = await self._assert_all()
                break
            except Exception as exc:  # a restarted server may not be ready for a moment
                self._reassert_error = repr(exc)
                log.warning(
                    "re-asserting streams after %s failed (%r); again in %.2fs", why, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, REASSERT_BACKOFF_MAX)
        self._reassert_error = ""
        self.stats.reasserts += 1
        self._publisher.paused = False
        self._publisher.retry_all()
        log.warning(
            "re-asserted streams after %s: %s; publishing resumes (%d publishes to re-send)",
            why,
            ", ".join(done) or "nothing was missing",
            self._publisher.pending,
        )

    def _watch_no_stream(self) -> None:
        """A publish that no stream answered (a stream deleted or lost) triggers a re-assert."""
        if self._watch_task is not None:
            return

        async def watch() -> None:
            flag = self._publisher.no_stream
            while True:
                await flag.wait()
                flag.clear()
                self._reassert("a publish that no stream answered")
                await asyncio.sleep(RECONNECT_WAIT)

        self._watch_task = asyncio.create_task(watch(), name="lstarb-bus-no-stream")

    def health(self) -> BusHealth:
        if self.nc.is_closed:
            return BusHealth("disconnected", "the bus is closed")
        if not self.nc.is_connected:
            blind = self._monitor.blind_for if self._monitor is not None else 0.0
            return BusHealth(
                "disconnected",
                f"no connection for {blind:.1f}s; {self._publisher.pending} publishes wait "
                "to be sent again",
            )
        if self._reassert_task is not None and not self._reassert_task.done():
            why = f" (last try: {self._reassert_error})" if self._reassert_error else ""
            return BusHealth("degraded", f"re-asserting streams after a reconnect{why}")
        count, age = self._publisher.stalled()
        if count and age > self._publisher.flush_timeout:
            return BusHealth(
                "degraded",
                f"{count} publishes unacknowledged, the oldest for {age:.1f}s (re-sending)",
            )
        return BusHealth("ok")

    def push(self) -> None:
        # nats-py keeps the commands for the server in ``_pending`` until its flusher task
        # writes them; writing them here is what that task does (it then finds nothing to
        # write). Where a client version keeps them elsewhere, the flusher writes as before.
        nc = self.nc
        pending = getattr(nc, "_pending", None)
        transport = getattr(nc, "_transport", None)
        if not pending or transport is None or not nc.is_connected:
            return
        transport.writelines(pending)
        nc._pending = []
        nc._pending_data_size = 0

    # ------------------------------------------------------------------ publishing

    async def publish(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> PublishAck:
        return await (await self._send(event, msg_id, trace, report=False))

    async def publish_nowait(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> asyncio.Future[PublishAck]:
        return await self._send(event, msg_id, trace, report=True)

    async def _send(
        self, event: EventModel, msg_id: str | None, trace: TraceContext | None, *, report: bool
    ) -> asyncio.Future[PublishAck]:
        """Encode once, send to the server and, with local delivery, to this process's
        consumers (registered before the send, so the server's copy never overtakes them)."""
        msg_id = msg_id or msg_id_of(event)
        subject = subject_of(event)
        data = event.encode()
        relay = self.local
        if relay is None:  # the header alone: no TraceContext made per publish
            headers = {
                MSG_ID: plain_header(msg_id),
                TRACEPARENT: plain_header(outgoing_header(trace)),
            }
            return await self._publisher.publish(subject, data, headers, report=report)
        context = outgoing(trace)
        headers = {MSG_ID: plain_header(msg_id), TRACEPARENT: plain_header(context.header())}
        stream = stream_of(event).name
        offer = relay.offer(stream, subject, msg_id)
        if offer is None:  # no consumer of it here
            return await self._publisher.publish(subject, data, headers, report=report)
        try:
            sent = await self._publisher.publish(subject, data, headers, report=report)
        except BaseException:
            relay.withdraw(offer)
            raise
        if sent.done() and sent.exception() is not None:  # refused at once: not stored
            relay.withdraw(offer)
        else:
            await relay.deliver(offer, stream, subject, event, data, msg_id, context, headers)
        return sent

    async def flush(self) -> int:
        return await self._publisher.flush()

    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str | None = None
    ) -> PublishAck:
        headers = {MSG_ID: msg_id} if msg_id else None
        return await (await self._publisher.publish(subject, data, headers, report=False))

    async def consume(
        self,
        stream: str,
        durable: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
        batch: int | None = None,
    ) -> Consumer:
        spec = STREAM_BY_NAME.get(stream)
        if spec is None:
            raise BusError(f"unknown stream {stream!r}; streams: {', '.join(STREAM_BY_NAME)}")
        config = ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=MAX_DELIVER,
            max_ack_pending=10 * self._batch,
        )
        subject = filter_subject or spec.subjects[0]
        config.filter_subject = subject
        config.name = durable
        try:  # an existing durable is joined as it is (another member may have created it)
            await self.js.consumer_info(stream, durable)
        except nats.js.errors.NotFoundError:
            await self.js.add_consumer(stream, config)
        stats = ConsumerStats()
        consumer = JetStreamConsumer(
            self,
            config,
            stream,
            durable,
            handler,
            batch or self._batch,
            self._fetch_timeout,
            local=self._join(stream, durable, handler, subject, stats),
            stats=stats,
        )
        self._consumers.add(consumer)
        return consumer

    def _join(
        self, stream: str, name: str, handler: Handler, subject: str, stats: ConsumerStats
    ) -> LocalMember | None:
        relay = self.local
        if relay is None or stream not in relay.streams:
            return None
        return relay.join(stream, name, handler, subject, stats)

    def follower_config(self, name: str, subject: str, start_seq: int = 1) -> ConsumerConfig:
        """The one configuration of a reader of one process (see :meth:`follow`).

        No durable name and an inactivity threshold: the server deletes it on its own once no
        process fetches from it. Acknowledged like a durable, so a failed handler gets the
        event again and the pending count says when the reader has caught up.
        """
        config = ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=MAX_DELIVER,
            max_ack_pending=10 * self._batch,
            inactive_threshold=self.follower_inactive,
            filter_subject=subject,
        )
        if start_seq > 1:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = start_seq
        return config

    async def follow(
        self,
        stream: str,
        kind: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
    ) -> Consumer:
        spec = STREAM_BY_NAME.get(stream)
        if spec is None:
            raise BusError(f"unknown stream {stream!r}; streams: {', '.join(STREAM_BY_NAME)}")
        name = follower_name(kind)
        try:
            info = await self.js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            raise BusError(f"stream {stream} does not exist; call ensure_streams() first") from None
        config = self.follower_config(name, filter_subject or spec.subjects[0])
        await self.js.add_consumer(stream, config)
        stats = ConsumerStats()
        consumer = JetStreamConsumer(
            self,
            config,
            stream,
            name,
            handler,
            self._batch,
            self._fetch_timeout,
            ephemeral=True,
            stream_created=info.created,
            local=self._join(
                stream, name, handler, config.filter_subject or spec.subjects[0], stats
            ),
            stats=stats,
        )
        self._consumers.add(consumer)
        return consumer

    async def stream_states(self) -> list[StreamState]:
        out = []
        for spec in STREAMS:
            try:
                info = await self.js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                out.append(
                    StreamState(spec.name, spec.subjects, spec.storage, 0, 0, {}, exists=False)
                )
                continue
            consumers = {
                c.name: (c.num_pending or 0) + (c.num_ack_pending or 0)
                for c in await self.js.consumers_info(spec.name)
            }
            out.append(
                StreamState(
                    spec.name,
                    spec.subjects,
                    _enum_str(info.config.storage),
                    info.state.messages,
                    info.state.bytes,
                    dict(sorted(consumers.items())),
                )
            )
        return out

    async def close(self) -> None:
        self._closing = True
        for task in (self._reassert_task, self._watch_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.gather(*(c.stop() for c in list(self._consumers)))
        await self._publisher.close()
        if self._monitor is not None and self in self._monitor.listeners:
            self._monitor.listeners.remove(self)
        if self._own and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()
