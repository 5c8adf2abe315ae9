"""What every bus offers: the JetStream one in production, the in-memory one in tests.

Why an interface: services, the replay backtest and unit tests are written against this, so a
test swaps :class:`~lstarb_runtime.bus.memory.MemoryBus` in without a server, and the
behaviours that matter (de-duplication, durable catch-up, malformed messages skipped) are
tested on both in one parametrized suite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal, Self

from lstarb_runtime.bus.streams import STREAM_BY_NAME, STREAMS, stream_of
from lstarb_runtime.bus.tracing import TraceContext
from lstarb_sdk.errors import DecodeError, LstarbError
from lstarb_sdk.events import EventModel, decode_event

if TYPE_CHECKING:
    from lstarb_runtime.bus.kv import KeyValue

log = logging.getLogger("lstarb.bus")

MSG_ID: Final = "Nats-Msg-Id"
MAX_DELIVER: Final = 5
"""A handler that raises gets the message again, at most this many deliveries in all."""
SETTLE_GRACE: Final = 5.0
"""Seconds a stopping consumer waits for events still settling (see :data:`Settle`); one
left unacknowledged is redelivered."""
FOLLOWER_INACTIVE_S: Final = 30.0
"""Seconds a per-process reader (:meth:`Bus.follow`) may go without fetching before the server
deletes it: its process is gone. Long enough for a server restart or a busy moment (a reader
deleted while alive is re-created where it was); short enough that none pile up."""

_KIND: Final = re.compile(r"^[a-z]+(?:-[a-z]+)*$")
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_\-]")


def follower_name(kind: str) -> str:
    """``<kind>-<host>-<pid>-<6 hex>``: never shared, never taken over by a later process.

    ``lstarb status`` tells these from service groups by that shape (``kind`` is lower-case
    words joined by ``-``, e.g. ``tape``, ``auditor-plans``).
    """
    if not _KIND.match(kind):
        raise ValueError(f"reader kind {kind!r} must be lower-case words joined by '-'")
    host = _UNSAFE_NAME.sub("_", socket.gethostname())[:40] or "host"
    return f"{kind}-{host}-{os.getpid()}-{secrets.token_hex(3)}"


class BusError(LstarbError):
    """The bus cannot do what was asked (no server, stream misconfigured, ...)."""


@dataclass(frozen=True)
class Delivery:
    """One event handed to a consumer's handler (already verified and decoded)."""

    stream: str
    subject: str
    event: EventModel
    data: bytes
    msg_id: str | None
    trace: TraceContext | None
    sequence: int
    """The stream sequence number of the message."""
    num_delivered: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)


Settle = Awaitable[object]
"""What a handler may return instead of None: the event is acknowledged once it completes
(a failure: the event is given back and redelivered, as if the handler had raised).

Why: a handler whose last step is a durable publish (the planner's plan) need not hold its
consumer until the server stored it. It publishes, returns the publish's acknowledgement, and
the consumer hands it the next event at once; the event it came from is still acknowledged
only after what it produced was stored (nothing lost on a crash in between: redelivered, and
the publish's message id makes it one)."""

Handler = Callable[[Delivery], Awaitable[Settle | None]]


@dataclass
class ConsumerStats:
    """Counters of one consumer; ``malformed`` messages were skipped, never redelivered.

    With local delivery (:mod:`~lstarb_runtime.bus.local`): ``local`` events were handled as
    they were published in this process, ``copies`` are their server copies, acknowledged
    without being handled; a local handling that raised counts in ``failed``.
    """

    delivered: int = 0
    handled: int = 0
    malformed: int = 0
    failed: int = 0
    local: int = 0
    copies: int = 0


@dataclass(frozen=True)
class PublishAck:
    """Where a published event landed; ``duplicate`` if its message id was already stored."""

    stream: str
    sequence: int
    duplicate: bool = False


@dataclass
class PublishCounts:
    """What happened to the publishes of one stream, as the server acknowledged them.

    ``sent`` counts events handed to the bus (a retry is not a new one); ``acked`` those the
    server acknowledged, ``duplicates`` among them the ones it already had (same message id);
    ``retried`` re-sends of unacknowledged publishes; ``failed`` publishes refused or given up.
    """

    sent: int = 0
    acked: int = 0
    duplicates: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        """Sent and not yet acknowledged or failed."""
        return self.sent - self.acked - self.failed

    def add(self, other: PublishCounts) -> None:
        self.sent += other.sent
        self.acked += other.acked
        self.duplicates += other.duplicates
        self.retried += other.retried
        self.failed += other.failed


@dataclass
class BusStats:
    """Counters of a bus: publishes per stream, and the connection's history.

    Why: a run summary must say what the server stored, not what was handed to the client
    (they differ when a connection drops); ``lstarb run`` prints acknowledged vs sent from this.
    """

    streams: dict[str, PublishCounts] = field(
        default_factory=lambda: {spec.name: PublishCounts() for spec in STREAMS}
    )
    reconnects: int = 0
    blind_seconds: float = 0.0
    """Total time without a connection (between a drop and the reconnect)."""
    reasserts: int = 0
    """Times the streams (and key-value buckets) were re-asserted after a reconnect."""

    def __getitem__(self, stream: str) -> PublishCounts:
        return self.streams[stream]

    def total(self) -> PublishCounts:
        out = PublishCounts()
        for counts in self.streams.values():
            out.add(counts)
        return out


@dataclass(frozen=True)
class BusHealth:
    """``ok``; ``degraded`` (publishes unacknowledged past the flush timeout, or streams not
    re-asserted yet); ``disconnected`` (no connection: publishes wait to be retried)."""

    state: Literal["ok", "degraded", "disconnected"]
    reason: str = ""


@dataclass(frozen=True)
class StreamState:
    """What ``lstarb streams`` shows of one stream."""

    name: str
    subjects: tuple[str, ...]
    storage: str
    messages: int
    bytes: int
    consumers: dict[str, int]
    """consumer name -> messages pending (not yet delivered, plus delivered but unacked)."""
    exists: bool = True


def wrong_stream(event: EventModel, stream: str) -> str | None:
    """What is wrong when ``event`` was found on ``stream`` (None: it belongs there)."""
    if stream_of(event).name == stream:
        return None
    return f"a {type(event).__name__} does not belong on stream {stream}"


def decode_for(stream: str, data: bytes) -> EventModel:
    """Verify and decode ``data`` as an event of ``stream``; DecodeError if it is not one."""
    event = decode_event(data)
    problem = wrong_stream(event, stream)
    if problem is not None:
        raise DecodeError(problem)
    return event


class Consumer(ABC):
    """A running consumer: a durable of a service group (:meth:`Bus.consume`), whose
    :meth:`stop` leaves its position on the server, or a reader of this process alone
    (:meth:`Bus.follow`, ``ephemeral``), whose :meth:`stop` deletes it."""

    def __init__(self, stream: str, durable: str, *, ephemeral: bool = False) -> None:
        if stream not in STREAM_BY_NAME:
            raise BusError(f"unknown stream {stream!r}; streams: {', '.join(STREAM_BY_NAME)}")
        self.stream = stream
        self.durable = durable
        """The consumer's name on the server (a reader's is ephemeral, despite the field)."""
        self.ephemeral = ephemeral
        self.stats = ConsumerStats()

    @abstractmethod
    async def stop(self) -> None:
        """Stop fetching. A durable keeps its place so a restart resumes where it stopped; an
        ephemeral reader is deleted at once."""


class Bus(ABC):
    """Publish events to the six streams; consume them in service groups (durables) or read
    them whole in one process (ephemeral readers)."""

    stats: BusStats
    """Publish counters per stream and the connection's history (read them any time)."""

    def health(self) -> BusHealth:
        """Whether publishing works now; a scanner shows it instead of dying."""
        return BusHealth("ok")

    def push(self) -> None:
        """Write what was published so far to the server now, not at the loop's next turn.

        Why: a network client buffers publishes and writes them from its own task, at the
        next turn of the event loop. A publisher with more CPU work before its next wait (the
        scanner taping a slot's burst, then running its strategies) would otherwise hold the
        tape in that buffer until the work is done. Default: nothing to push (in-process
        buses deliver inside the publish).
        """
        return None

    @abstractmethod
    async def ensure_streams(self) -> None:
        """Create the six streams, or update them to DESIGN.md's configuration, and create the
        key-value buckets (idempotent)."""

    @abstractmethod
    async def publish(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> PublishAck:
        """Publish on the event's subject with a message id and a ``traceparent`` header.

        ``msg_id`` defaults to :func:`~lstarb_runtime.bus.streams.msg_id_of`; ``trace`` to a
        child of the span being handled (or a new trace).
        """

    @abstractmethod
    async def publish_nowait(
        self,
        event: EventModel,
        *,
        msg_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> asyncio.Future[PublishAck]:
        """Send the event now and return a future of its acknowledgement.

        Why: a publisher that waits for each ack spends most of its time waiting on the round
        trip. The hot MARKET_DATA path sends and moves on; the server still stores and
        de-duplicates the event exactly as with :meth:`publish`, and a failure surfaces on the
        future (and in :meth:`flush`). At most a bounded number of acks are outstanding: past
        that, the call waits, so a slow server slows the publisher instead of growing memory.
        """

    @abstractmethod
    async def flush(self) -> int:
        """Wait until every :meth:`publish_nowait` so far is acknowledged, or the flush timeout.

        Returns how many are still unacknowledged (0: all are). Those are not lost: the bus
        keeps retrying them with their message ids, and :meth:`health` says ``degraded`` until
        they land. Raises :class:`BusError` naming the first publish refused (or given up)
        since the last flush (an unflushed failure is never silently dropped).
        """

    @abstractmethod
    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str | None = None
    ) -> PublishAck:
        """Publish bytes as they are (tools, tests of malformed input)."""

    @abstractmethod
    async def consume(
        self,
        stream: str,
        durable: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
        batch: int | None = None,
    ) -> Consumer:
        """Start a durable consumer: every event of ``stream`` (not yet acknowledged by
        ``durable``) is handed to ``handler`` in order, and acknowledged when it returns.

        ``batch``: events one pull takes at most (default: the bus's). A consumer whose
        handler holds an event long (the executor following a trade) takes one at a time,
        so events are never held in one pull behind others while another process is free.

        A handler that raises gets the event again (up to :data:`MAX_DELIVER` deliveries); a
        message that is not a valid event of the stream is counted in ``stats.malformed``,
        logged and terminated (never redelivered), and the consumer carries on.
        """

    @abstractmethod
    async def follow(
        self,
        stream: str,
        kind: str,
        handler: Handler,
        *,
        filter_subject: str | None = None,
    ) -> Consumer:
        """Start a reader of this process alone: every event of ``stream`` from its start (as
        :meth:`consume` delivers them), through an ephemeral consumer named
        :func:`follower_name` (``kind``).

        Why not a durable: a process that needs the whole stream for itself (a tape, an index)
        must leave nothing on the server when it dies. The server deletes the reader once it
        has not fetched for the bus's inactivity threshold (:data:`FOLLOWER_INACTIVE_S`), a
        clean :meth:`Consumer.stop` deletes it at once, and a reader the server lost (a
        restart, or deleted while its process was blocked) is re-created after the last
        event it handled (from the start, if the stream itself was re-created empty).
        """

    @abstractmethod
    def kv(self, bucket: str) -> KeyValue:
        """The key-value bucket ``bucket`` (one of ``KV_BUCKETS``: control, plans, inflight).

        :meth:`ensure_streams` creates the buckets along with the streams.
        """

    @abstractmethod
    async def stream_states(self) -> list[StreamState]:
        """Messages, bytes and consumers (with pending counts) of the six streams."""

    @abstractmethod
    async def close(self) -> None:
        """Stop every consumer and disconnect."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
