"""The production bus: NATS JetStream through nats-py, with durable pull consumers.

Why pull consumers: a service fetches in batches at its own pace (back-pressure), several
processes with the same durable name share the work (``lstarb run --role planner`` twice), and
a consumer that was down resumes from its acknowledged position. The client reconnects forever
(nats-py buffers publishes meanwhile); a fetch interrupted by a reconnect is simply retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from lstarb_runtime.bus.embedded import parse_url, probe
from lstarb_runtime.bus.interface import (
    MAX_DELIVER,
    MSG_ID,
    Bus,
    BusError,
    Consumer,
    Delivery,
    Handler,
    PublishAck,
    StreamState,
    decode_for,
)
from lstarb_runtime.bus.streams import STREAM_BY_NAME, STREAMS, StreamSpec, msg_id_of, subject_of
from lstarb_runtime.bus.tracing import TRACEPARENT, TraceContext, current_trace, outgoing
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import EventModel

log = logging.getLogger("lstarb.bus")

RECONNECT_WAIT: Final = 0.25
"""Seconds between reconnect attempts; the client retries forever."""


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


async def connect_nats(url: str, *, name: str = "lstarb", connect_timeout: float = 2.0) -> Client:
    """Connect with reconnects forever; a dropped connection is logged and survived."""

    holder: list[Client] = []

    async def disconnected() -> None:
        if holder and not (holder[0].is_closed or holder[0].is_draining):
            log.warning("NATS connection to %s lost; reconnecting", url)

    async def reconnected() -> None:
        log.warning("NATS reconnected to %s", url)

    async def error(exc: Exception) -> None:
        log.debug("NATS client error: %r", exc)

    # nats-py retries the *first* connect forever when reconnects are unlimited: check first
    # that something answers, and bound the whole attempt.
    host, port = parse_url(url)
    if await asyncio.to_thread(probe, host, port, connect_timeout) != "nats":
        raise BusError(f"cannot connect to NATS at {url}: no NATS server answers there")
    try:
        connecting = nats.connect(
            url,
            name=name,
            connect_timeout=connect_timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
        nc = await asyncio.wait_for(connecting, timeout=5 * connect_timeout)
    except Exception as exc:  # nats raises several unrelated types for "cannot connect"
        raise BusError(f"cannot connect to NATS at {url}: {exc!r}") from None
    holder.append(nc)
    return nc


class JetStreamConsumer(Consumer):
    """A durable pull consumer fetching in batches, one task per consumer."""

    def __init__(
        self,
        bus: JetStreamBus,
        sub: JetStreamContext.PullSubscription,
        stream: str,
        durable: str,
        handler: Handler,
        batch: int,
        fetch_timeout: float,
    ) -> None:
        super().__init__(stream, durable)
        self._bus = bus
        self._sub = sub
        self._handler = handler
        self._batch = batch
        self._fetch_timeout = fetch_timeout
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"lstarb-consumer-{durable}")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                msgs = await self._sub.fetch(self._batch, timeout=self._fetch_timeout)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            except Exception as exc:  # a reconnect can surface as other client errors
                log.warning("%s/%s: fetch failed (%r); retrying", self.stream, self.durable, exc)
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
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
            await self._handler(delivery)
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
        self.stats.handled += 1
        await _quietly(msg.ack())

    async def stop(self) -> None:
        """Let the fetch in flight finish (at most ``fetch_timeout``), so no pull request is
        left on the server to swallow messages meant for the next run, then unsubscribe."""
        self._stopping = True
        with contextlib.suppress(Exception):
            await self._task
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()
        self._bus._consumers.discard(self)


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
    """The six streams on a NATS server with JetStream enabled."""

    def __init__(
        self,
        nc: Client,
        *,
        batch: int = 256,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        own_connection: bool = True,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self._batch = batch
        self._fetch_timeout = fetch_timeout
        self._ack_wait = ack_wait
        self._own = own_connection
        self._consumers: set[JetStreamConsumer] = set()
        self._pending: set[asyncio.Future[PublishAck]] = set()
        self._failed: list[BusError] = []
        self._flush_timeout = 10.0

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> JetStreamBus:
        """Connect to ``url`` (no embedded server; see ``connect_bus`` for that)."""
        return cls(await connect_nats(url), **kwargs)

    async def ensure_streams(self) -> None:
        try:
            await self._ensure_streams()
        except (nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError):
            raise BusError(
                "the NATS server does not have JetStream enabled (start it with -js)"
            ) from None

    async def _ensure_streams(self) -> None:
        for spec in STREAMS:
            want = stream_config(spec)
            try:
                info = await self.js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                await self.js.add_stream(want)
                log.info("created stream %s", spec.name)
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

    async def publish(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> PublishAck:
        headers = {
            MSG_ID: msg_id or msg_id_of(event),
            TRACEPARENT: outgoing(trace).header(),
        }
        return await self._publish(subject_of(event), event.encode(), headers)

    async def publish_nowait(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> asyncio.Future[PublishAck]:
        headers = {
            MSG_ID: msg_id or msg_id_of(event),
            TRACEPARENT: outgoing(trace).header(),
        }
        subject = subject_of(event)
        sent = await self.js.publish_async(subject, event.encode(), headers=headers)
        future: asyncio.Future[PublishAck] = asyncio.get_running_loop().create_future()

        self._pending.add(future)

        def done(acked: asyncio.Future[Any]) -> None:
            self._pending.discard(future)
            if future.done():
                return
            exc = None if acked.cancelled() else acked.exception()
            if acked.cancelled() or exc is not None:
                reason = (
                    "no stream takes it"
                    if isinstance(exc, nats.js.errors.NoStreamResponseError)
                    else f"{exc!r}"
                )
                error = BusError(f"publish to {subject!r} failed: {reason}")
                self._failed.append(error)
                future.set_exception(error)
                future.exception()  # kept for flush(): asyncio need not warn it went unread
                return
            ack = acked.result()
            future.set_result(PublishAck(ack.stream, ack.seq, bool(ack.duplicate)))

        sent.add_done_callback(done)
        return future

    async def flush(self) -> None:
        pending = list(self._pending)
        if pending:
            _, late = await asyncio.wait(pending, timeout=self._flush_timeout)
            if late:
                raise BusError(
                    f"{len(late)} publishes not acknowledged within {self._flush_timeout}s"
                )
        failed, self._failed = self._failed, []
        if failed:
            raise failed[0]

    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str | None = None
    ) -> PublishAck:
        return await self._publish(subject, data, {MSG_ID: msg_id} if msg_id else None)

    async def _publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None
    ) -> PublishAck:
        try:
            ack = await self.js.publish(subject, data, headers=headers)
        except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
            raise BusError(f"no stream takes subject {subject!r} (streams not created?)") from None
        return PublishAck(ack.stream, ack.seq, bool(ack.duplicate))

    async def consume(
        self,
        stream: str,
        durable: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
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
        sub = await self.js.pull_subscribe(
            filter_subject or spec.subjects[0], durable=durable, stream=stream, config=config
        )
        consumer = JetStreamConsumer(
            self, sub, stream, durable, handler, self._batch, self._fetch_timeout
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
        await asyncio.gather(*(c.stop() for c in list(self._consumers)))
        if self._own and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()
