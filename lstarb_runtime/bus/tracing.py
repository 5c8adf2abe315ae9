"""W3C trace context (``traceparent``) for events crossing the bus.

Why: one opportunity becomes a plan becomes a result in three services; the same trace id on
all three lets a tracing backend show the whole path. A handler runs with the delivered event's
context current, so whatever it publishes becomes a child span of the same trace without any
plumbing in plugin code.
"""

from __future__ import annotations

import contextvars
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Final

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
_RE: Final = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ORIGIN_MARK: Final = "15"
"""Hex digits 17-18 of a trace id made by :meth:`TraceContext.starting_at`."""
_ORIGIN_WINDOW_NS: Final = 3_600 * 10**9

_ids = random.Random()
"""Where span and trace ids come from. Why not ``os.urandom``: a new root or child span is made
for every event published (two per account update on the scanner's turn), and two system calls
per span cost more than the id is worth; ids need to be unique, not secret (W3C trace context
asks for randomness, not a cryptographic generator). Seeded from the OS at import and again in
a forked child, so two processes never share a sequence."""
os.register_at_fork(after_in_child=_ids.seed)
_bits = _ids.getrandbits


def _hex(nbits: int) -> str:
    """``nbits`` random bits as lowercase hex, never all zero (an invalid id)."""
    return f"{_bits(nbits) or 1:0{nbits >> 2}x}"


@dataclass(frozen=True)
class TraceContext:
    """One span's identity: trace id (32 hex), span id (16 hex), sampled flag."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @classmethod
    def new(cls) -> TraceContext:
        """A new root span."""
        return cls(_hex(128), _hex(64))

    @classmethod
    def starting_at(cls, origin_ns: int) -> TraceContext:
        """A new root whose trace id begins with ``origin_ns`` (wall clock, 16 hex digits).

        Why: the path of one opportunity crosses processes, and every service on it can then
        tell how long ago its origin (the account update that set it off) arrived, with no
        field added to any event: end-to-end latency per stage from the trace alone (the way
        AWS X-Ray trace ids carry their start time). The rest of the id stays random.
        """
        return cls(f"{origin_ns:016x}{_ORIGIN_MARK}{_bits(56):014x}", _hex(64))

    def origin_ns(self) -> int | None:
        """The origin time of a trace begun by :meth:`starting_at`; None for any other trace
        (or one whose origin is not within the last hour on this clock)."""
        if self.trace_id[16:18] != _ORIGIN_MARK:
            return None
        origin = int(self.trace_id[:16], 16)
        now = time.time_ns()
        return origin if now - _ORIGIN_WINDOW_NS <= origin <= now + 10**9 else None

    def child(self) -> TraceContext:
        """A new span in the same trace."""
        return TraceContext(self.trace_id, _hex(64), self.sampled)

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    @classmethod
    def parse(cls, value: str | None) -> TraceContext | None:
        """Parse a ``traceparent`` header; None if absent or invalid (as the spec says)."""
        if not value:
            return None
        m = _RE.match(value.strip().lower())
        if m is None or m[1] == "ff" or set(m[2]) == {"0"} or set(m[3]) == {"0"}:
            return None
        return cls(m[2], m[3], bool(int(m[4], 16) & 1))


current_trace: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
    "lstarb_current_trace", default=None
)
"""The span being handled; set by the bus while a handler runs."""


def outgoing(explicit: TraceContext | None = None) -> TraceContext:
    """The context to send: ``explicit`` if given, a child of the current span, or a new root."""
    if explicit is not None:
        return explicit
    parent = current_trace.get()
    return parent.child() if parent is not None else TraceContext.new()


def outgoing_header(explicit: TraceContext | None = None) -> str:
    """``outgoing(explicit).header()`` without building the context: every publish sends one
    (two per account update on the scanner's turn), and a frozen dataclass costs more to make
    than the header it is made for."""
    if explicit is not None:
        return explicit.header()
    parent = current_trace.get()
    if parent is not None:
        return f"00-{parent.trace_id}-{_hex(64)}-{'01' if parent.sampled else '00'}"
    return f"00-{_bits(128) or 1:032x}-{_bits(64) or 1:016x}-01"
