"""W3C trace context (``traceparent``) for events crossing the bus.

Why: one opportunity becomes a plan becomes a result in three services; the same trace id on
all three lets a tracing backend show the whole path. A handler runs with the delivered event's
context current, so whatever it publishes becomes a child span of the same trace without any
plumbing in plugin code.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass
from typing import Final

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
_RE: Final = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    """One span's identity: trace id (32 hex), span id (16 hex), sampled flag."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @classmethod
    def new(cls) -> TraceContext:
        """A new root span."""
        return cls(os.urandom(16).hex(), os.urandom(8).hex())

    def child(self) -> TraceContext:
        """A new span in the same trace."""
        return TraceContext(self.trace_id, os.urandom(8).hex(), self.sampled)

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
