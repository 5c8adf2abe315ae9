"""What the source did and suffered: counters, newest slot, connected.

Bad input is counted under its kind and logged the first time that kind happens, with what
was wrong (offset, what was expected); later ones are counted and logged at debug level, so
a proxy that sends garbage at a thousand messages a second cannot flood the log. The
numbers reach Prometheus through :meth:`ShredstreamSource.endpoint_health`.
"""

from __future__ import annotations

import logging
from collections import Counter

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
        self._logged: set[str] = set()

    def problem(self, kind: str, detail: str) -> None:
        """Count one piece of bad input or failure; log the first of its kind."""
        self.counts[kind] += 1
        if kind in self._logged:
            log.debug("shredstream %s: %s: %s", self.name, kind, detail)
            return
        self._logged.add(kind)
        log.warning(
            "shredstream %s: %s (counted as %s; further ones are counted, not logged)",
            self.name,
            detail,
            kind,
        )

    def snapshot(self) -> dict[str, int]:
        """Every counter (0 when nothing happened)."""
        values = dict.fromkeys((*COUNTERS, *PROBLEMS), 0)
        values.update(self.counts)
        return values
