"""Publishing to JetStream with every acknowledgement tracked, retried and counted.

Why not nats-py's ``publish_async``: its futures wait forever for an acknowledgement that a
dropped connection lost, each holding a slot of its window until the publisher stalls, and
nothing sends the message again. Here every publish is kept until the server acknowledges it.
One that got no acknowledgement within ``ack_timeout`` (lost on the way out, or its ack lost on
the way back), or that no stream answered (a restarted server has lost its memory streams), is
sent again with the same message id, so JetStream stores it once, until it is acknowledged or
older than its stream's max age. Beyond the stream's duplicate window the server can no longer
tell a re-send from the original: after an outage longer than that window, a message whose ack
was lost may be stored twice (consumers of the tape order by slot and write version; plans are
guarded by the ``plans`` key-value bucket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from lstarb_runtime.bus.interface import BusError, BusStats, PublishAck, PublishCounts
from lstarb_runtime.bus.streams import StreamSpec, stream_for_subject

log = logging.getLogger("lstarb.bus")

ACK_TIMEOUT: Final = 2.0
"""Seconds without an acknowledgement before a publish is sent again."""
FLUSH_TIMEOUT: Final = 10.0
"""Seconds ``flush`` waits; older unacknowledged publishes make the bus ``degraded``."""
MAX_PENDING: Final = 4096
"""Unacknowledged publishes at most; past that, publishing waits (back-pressure, bounded memory)."""

_PLAIN: Final = re.compile(r"[!-~]+")
"""Printable ASCII without spaces: no character a header value must have trimmed or replaced."""
_LINE_BREAKS: Final = frozenset({ord("\r"), ord("\n")})


class _Plain(str):
    """A header value that :func:`plain_header` found to need no cleaning.

    Why: nats-py cleans every header value with ``value.strip().translate(table)``, the table
    mapping CR and LF to spaces, and ``str.translate`` with a dict pays a failed lookup per
    distinct character: about 5 µs for a message id with a base58 key in it, on every publish
    (two per account update on the scanner's turn). For a value with no whitespace at all
    both calls are the identity, so here they return the value itself; any other use of
    ``strip`` or ``translate`` behaves as ``str``'s.
    """

    __slots__ = ()

    def strip(self, chars: str | None = None, /) -> str:
        return self if chars is None else str.strip(self, chars)

    def translate(self, table: Any, /) -> str:
        if isinstance(table, Mapping) and table.keys() <= _LINE_BREAKS:
            return self  # only CR and LF are mapped, and there are none
        return str.translate(self, table)


def plain_header(value: str) -> str:
    """``value``, marked for nats-py as needing no cleaning when it has no whitespace or
    control character (message ids of the tape, ``traceparent``); else unchanged."""
    return _Plain(value) if _PLAIN.fullmatch(value) else value


_STATUS: Final = "Status"
_NO_RESPONDERS: Final = "503"


@dataclass(slots=True, eq=False)
class _Outgoing:
    token: str
    subject: str
    data: bytes
    headers: dict[str, str] | None
    spec: StreamSpec
    counts: PublishCounts
    future: asyncio.Future[PublishAck]
    first_sent: float
    last_sent: float
    report: bool
    """A failure is reported by the next ``flush`` (publish_nowait), not only to the caller."""


class Publisher:
    """Sends, tracks and re-sends the publishes of one connection."""

    def __init__(
        self,
        nc: Client,
        stats: BusStats,
        *,
        ack_timeout: float = ACK_TIMEOUT,
        flush_timeout: float = FLUSH_TIMEOUT,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._nc = nc
        self._stats = stats
        self.ack_timeout = ack_timeout
        self.flush_timeout = flush_timeout
        self._max_pending = max_pending
        self._prefix = ""
        self._pending: dict[str, _Outgoing] = {}
        self._next = 0
        self._room = asyncio.Event()
        self._room.set()
        self._failed: list[BusError] = []
        self._retry_all = False
        self._task: asyncio.Task[None] | None = None
        self.paused = False
        """Set while the connection is down or the streams are being re-asserted: no re-sends."""
        self.no_stream: asyncio.Event = asyncio.Event()
        """Set when a publish found no stream: the bus re-asserts its streams."""

    async def start(self) -> None:
        """Subscribe to the acknowledgements (confirmed by the server) and start re-sending.

        Done before the first publish, so the subscription is known to the server before any
        acknowledgement is addressed to it.
        """
        if self._prefix:
            return
        self._prefix = self._nc.new_inbox() + "."
        await self._nc.subscribe(self._prefix + "*", cb=self._on_ack)
        await self._nc.flush()
        self._task = asyncio.create_task(self._retry_loop(), name="lstarb-publish-retry")

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None, *, report: bool
    ) -> asyncio.Future[PublishAck]:
        """Send and track; the future resolves on the acknowledgement or fails with BusError."""
        spec = stream_for_subject(subject)
        if spec is None:
            raise BusError(f"no stream takes subject {subject!r}")
        if not self._prefix:
            await self.start()
        while len(self._pending) >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        loop = asyncio.get_running_loop()
        self._next += 1
        now = loop.time()
        rec = _Outgoing(
            str(self._next),
            subject,
            data,
            headers,
            spec,
            self._stats[spec.name],
            loop.create_future(),
            now,
            now,
            report,
        )
        self._pending[rec.token] = rec
        rec.counts.sent += 1
        await self._send(rec)
        return rec.future

    async def _send(self, rec: _Outgoing) -> None:
        try:
            await self._nc.publish(
                rec.subject, rec.data, reply=self._prefix + rec.token, headers=rec.headers
            )
        except nats.errors.MaxPayloadError:
            self._fail(
                rec,
                BusError(
                    f"publish to {rec.subject!r} refused: {len(rec.data)} bytes is more than the "
                    f"server's max_payload ({self._nc.max_payload})"
                ),
            )
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
            self._fail(rec, BusError(f"publish to {rec.subject!r} failed: the bus is closed"))
        except Exception as exc:  # e.g. the outbound buffer is full while reconnecting
            log.debug("publish to %s not sent now (%r); it will be sent again", rec.subject, exc)

    async def _on_ack(self, msg: Msg) -> None:
        rec = self._pending.get(msg.subject[len(self._prefix) :])
        if rec is None:  # the twin of a re-sent publish, already settled
            return
        if msg.headers and msg.headers.get(_STATUS) == _NO_RESPONDERS:
            self.no_stream.set()  # sent again once the streams are re-asserted
            return
        try:
            reply = json.loads(msg.data)
            error = reply.get("error")
            if error:
                if error.get("code") == 503:  # JetStream not ready yet: try again later
                    return
                self._fail(
                    rec,
                    BusError(
                        f"publish to {rec.subject!r} refused by the server: "
                        f"{error.get('description')} (error {error.get('err_code')})"
                    ),
                )
                return
            ack = PublishAck(reply["stream"], int(reply["seq"]), bool(reply.get("duplicate")))
        except (ValueError, KeyError, TypeError, AttributeError):
            self._fail(rec, BusError(f"publish to {rec.subject!r}: unreadable reply {msg.data!r}"))
            return
        self._settle(rec)
        rec.counts.acked += 1
        if ack.duplicate:
            rec.counts.duplicates += 1
        rec.future.set_result(ack)

    def _settle(self, rec: _Outgoing) -> None:
        del self._pending[rec.token]
        if len(self._pending) < self._max_pending:
            self._room.set()

    def _fail(self, rec: _Outgoing, error: BusError) -> None:
        if self._pending.get(rec.token) is not rec:
            return
        self._settle(rec)
        rec.counts.failed += 1
        if rec.report:
            self._failed.append(error)
        rec.future.set_exception(error)
        rec.future.exception()  # kept for flush(): asyncio need not warn it went unread

    def retry_all(self) -> None:
        """Send every unacknowledged publish again at the next tick (after a re-assert)."""
        self._retry_all = True

    async def _retry_loop(self) -> None:
        tick = min(0.25, self.ack_timeout / 2)
        while True:
            await asyncio.sleep(tick)
            if not self._pending or self.paused or not self._nc.is_connected:
                continue
            try:
                await self._resend_due()
            except Exception:  # never lose the loop: the next tick tries again
                log.exception("re-sending unacknowledged publishes failed")

    async def _resend_due(self) -> None:
        now = asyncio.get_running_loop().time()
        cutoff = now if self._retry_all else now - self.ack_timeout
        self._retry_all = False
        due = []
        for rec in self._pending.values():  # ordered by last send: stop at the first not due
            if rec.last_sent > cutoff:
                break
            due.append(rec)
        for rec in due:
            if self._pending.get(rec.token) is not rec:
                continue  # acknowledged meanwhile
            if now - rec.first_sent > rec.spec.max_age:
                self._fail(
                    rec,
                    BusError(
                        f"publish to {rec.subject!r} given up: not acknowledged within the "
                        f"stream's max age ({rec.spec.max_age:g}s)"
                    ),
                )
                continue
            del self._pending[rec.token]  # to the end: the dict stays ordered by last send
            self._pending[rec.token] = rec
            rec.last_sent = now
            rec.counts.retried += 1
            await self._send(rec)

    async def flush(self) -> int:
        """Wait for the publishes so far, at most ``flush_timeout``; return how many are late.

        Raises the first publish refused since the last flush.
        """
        waiting = [rec.future for rec in self._pending.values()]
        late = 0
        if waiting:
            _, not_done = await asyncio.wait(waiting, timeout=self.flush_timeout)
            late = len(not_done)
            if late:
                log.warning(
                    "%d publishes not acknowledged within %gs; still re-sending them "
                    "(bus degraded)",
                    late,
                    self.flush_timeout,
                )
        failed, self._failed = self._failed, []
        if failed:
            raise failed[0]
        return late

    def stalled(self) -> tuple[int, float]:
        """(unacknowledged publishes, age in seconds of the oldest)."""
        if not self._pending:
            return 0, 0.0
        oldest = min(rec.first_sent for rec in self._pending.values())
        return len(self._pending), asyncio.get_running_loop().time() - oldest

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        """Stop re-sending; publishes still unacknowledged fail (and are counted as failed)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        left = list(self._pending.values())
        if left:
            log.warning("bus closed with %d publishes unacknowledged", len(left))
        for rec in left:
            self._fail(rec, BusError(f"publish to {rec.subject!r} unacknowledged at close"))
