"""What each endpoint did and suffered: counters, its newest slot, connected, lagging.

Bad input is counted under a kind (``malformed``, ``rpc_errors``, ...) and logged the first
time that kind happens on an endpoint, with what was wrong; later ones are counted and
logged at debug level only, so a peer that sends garbage a thousand times a second
cannot flood the log. :meth:`RpcSource.counters` exposes the numbers, and
:meth:`RpcSource.endpoint_health` hands them to the runtime, which serves them to Prometheus
as ``lstarb_data_source_endpoint_*`` series.
"""

from __future__ import annotations

import logging
from collections import Counter

from lstarb_sdk.reconnect import ProblemLog

log = logging.getLogger("lstarb.plugin.rpc")

PROBLEMS = (
    "malformed",
    "rpc_errors",
    "unknown_subscriptions",
    "out_of_order_slots",
    "timeouts",
    "http_errors",
    "connection_errors",
)
"""The kinds of bad input and failure counted per endpoint (see docs/plugins/rpc.md)."""

COUNTERS = (
    "connects",
    "disconnects",
    "subscriptions",
    "notifications",
    "slots",
    "updates",
    "stale",
    "duplicates",
    "fetched",
    "lag_events",
)
"""What each endpoint did, counted from the start."""


class EndpointHealth:
    """Counters of one endpoint, and the state the source reports about it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.slot = 0
        self.connected = False
        self.lagging = False
        self._problems = ProblemLog(log, f"rpc endpoint {name}", self.counts)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def problem(self, kind: str, detail: str) -> None:
        """Count one piece of bad input or failure; log the first of its kind."""
        self._problems.problem(kind, detail)

    def snapshot(self) -> dict[str, int]:
        """Every counter (0 when nothing happened) and the gauges."""
        values = dict.fromkeys((*COUNTERS, *PROBLEMS), 0)
        values.update(self.counts)
        values["slot"] = self.slot
        values["connected"] = int(self.connected)
        values["lagging"] = int(self.lagging)
        return values
