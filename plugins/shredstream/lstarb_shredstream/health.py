"""What the source did and suffered: counters, newest slot, connected.

Bad input is counted under its kind and logged the first time that kind happens, with what
was wrong (offset, what was expected); later ones are counted and logged at debug level, so
a proxy that sends garbage at a thousand messages a second cannot flood the log. The
numbers reach Prometheus through :meth:`ShredstreamSource.endpoint_health`.
"""

from __future__ import annotations

import logging
from collections import Counter

from lstarb_sdk.reconnect import ProblemLog

log = logging.getLogger("lstarb.plugin.shredstream")

PROBLEMS = ("malformed_messages", "malformed_batches", "connection_errors", "idle_timeouts")
"""Kinds of bad input and failure (see docs/plugins/shredstream.md)."""

COUNTERS = (
    "connects",
    "disconnects",
    "messages",
    "entries",
    "ticks",
    "transactions",
    "votes",
    "not_followed",
    "lookup_table_only",
    "pending",
    "duplicates",
    "slots",
    "trailing_bytes",
)
"""What the source did, counted from the start."""


class Health:
    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.slot = 0
        self.connected = False
        self._problems = ProblemLog(log, f"shredstream {name}", self.counts)

    def problem(self, kind: str, detail: str) -> None:
        """Count one piece of bad input or failure; log the first of its kind."""
        self._problems.problem(kind, detail)

    def snapshot(self) -> dict[str, int]:
        """Every counter (0 when nothing happened)."""
        values = dict.fromkeys((*COUNTERS, *PROBLEMS), 0)
        values.update(self.counts)
        return values
