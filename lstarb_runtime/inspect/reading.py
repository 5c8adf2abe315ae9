"""Reading the streams without touching anyone's position: ranges of messages, consumers' lag.

Why ephemeral ordered consumers: a durable consumer read by a tool would move a service's
position or leave state on the server; an ordered consumer starts where asked, is deleted by
the server when the tool leaves, and reads a range at full speed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from lstarb_runtime.bus import BusError
from lstarb_runtime.bus.streams import STREAMS

IDLE_S: Final = 2.0
"""A range read ends when nothing more arrives for this long (the range was shorter)."""


@dataclass(frozen=True)
class Message:
    """One stored message: where it is and its bytes (decoded by the caller)."""

    stream: str
    subject: str
    sequence: int
    time_ns: int
    data: bytes


@dataclass(frozen=True)
class StreamInfo:
    name: str
    messages: int
    first_seq: int
    last_seq: int
    exists: bool = True


async def stream_infos(nc: Client) -> dict[str, StreamInfo]:
    """Each of the six streams as it is now (``exists`` False when no run created it)."""
    js = nc.jetstream()
    out = {}
    for spec in STREAMS:
        try:
            info = await js.stream_info(spec.name)
        except nats.js.errors.NotFoundError:
            out[spec.name] = StreamInfo(spec.name, 0, 0, 0, exists=False)
            continue
        state = info.state
        out[spec.name] = StreamInfo(spec.name, state.messages, state.first_seq, state.last_seq)
    return out


async def read(
    nc: Client,
    stream: str,
    subject: str,
    *,
    start_seq: int = 0,
    last_seq: int | None = None,
    idle_s: float = IDLE_S,
) -> AsyncIterator[Message]:
    """The messages of ``stream`` matching ``subject`` from ``start_seq`` (0: the oldest) up
    to ``last_seq`` (None: what is stored when the read starts), in order."""
    js = nc.jetstream()
    if start_seq > 0:
        policy, config = DeliverPolicy.BY_START_SEQUENCE, ConsumerConfig(opt_start_seq=start_seq)
    else:
        policy, config = DeliverPolicy.ALL, None
    try:
        sub = await js.subscribe(
            subject, stream=stream, ordered_consumer=True, deliver_policy=policy, config=config
        )
    except nats.js.errors.APIError as exc:
        raise BusError(f"cannot read {stream}: {exc.description or exc!r}") from None
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_s)
            except (TimeoutError, nats.errors.TimeoutError):
                return
            meta = msg.metadata
            seq = meta.sequence.stream
            if last_seq is not None and seq > last_seq:
                return
            yield Message(stream, msg.subject, seq, int(meta.timestamp.timestamp() * 1e9), msg.data)
            if meta.num_pending == 0 or (last_seq is not None and seq >= last_seq):
                return
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


@dataclass(frozen=True)
class ConsumerLag:
    """One durable consumer of one stream, as the server reports it."""

    stream: str
    durable: str
    pending: int
    """Stored and not yet delivered to it."""
    ack_pending: int
    """Delivered and not yet acknowledged (in a handler now, or lost with its process)."""
    redelivered: int
    waiting: int
    """Pull requests waiting on the server: above 0, a process is fetching now."""
    last_active_ns: int | None
    ephemeral: bool = False
    """No durable name: the server deletes it once nobody fetches (a per-process reader)."""

    @property
    def lag(self) -> int:
        return self.pending + self.ack_pending


async def consumer_lags(nc: Client) -> list[ConsumerLag]:
    js = nc.jetstream()
    out = []
    for spec in STREAMS:
        try:
            infos = await js.consumers_info(spec.name)
        except nats.js.errors.NotFoundError:
            continue
        for c in infos:
            active = c.delivered.last_active if c.delivered else None
            out.append(
                ConsumerLag(
                    spec.name,
                    c.name,
                    c.num_pending or 0,
                    c.num_ack_pending or 0,
                    c.num_redelivered or 0,
                    c.num_waiting or 0,
                    int(active.timestamp() * 1e9) if active else None,
                    not (c.config and c.config.durable_name),
                )
            )
    return out
