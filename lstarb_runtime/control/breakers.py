"""The circuit breakers: rules that decide, from what the streams carry, to halt everything.

Why without I/O: each rule is a small state machine fed with events and the time, so a test
builds the scenario of one breaker and checks that it trips, and that its neighbour does not,
without a clock or a bus. The system manager (:mod:`lstarb_runtime.services.system`) feeds
them from EXECUTION, EXECUTED, MARKET_DATA and METRICS and throws the kill switch on a trip.

After a resume every breaker is re-armed (:meth:`Breakers.rearm`): counts start again and the
time-based ones give a full period before they look again, so a resume is not undone at once
by the evidence that caused the halt. Today's loss is the exception: it is money, and a new
loss while over the limit trips again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lstarb_runtime.control.settings import BreakerSettings
from lstarb_sdk.events import ExecutionResultEvent, MetricEvent
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.submitter import STATUS_FAILED, STATUS_LANDED

LAMPORTS_PER_SOL: Final = 1_000_000_000
FAILED_STATUSES: Final = frozenset({STATUS_FAILED, "dropped"})
"""Outcomes of a transaction that was sent and did not land (``rejected``: nothing was sent)."""
KEEP_COUNTED: Final = 256
"""Plan ids of today's counted results kept in a snapshot."""
WALLET_METRIC: Final = "wallet.balance_lamports"
"""The METRICS event the wallet floor reads: value in lamports, label ``wallet``."""

CONSECUTIVE_FAILURES: Final = "consecutive_failures"
DAILY_LOSS: Final = "daily_loss"
NO_SUCCESS: Final = "no_success"
STALE_DATA: Final = "stale_data"
SLOT_DRIFT: Final = "slot_drift"
WALLET_FLOOR: Final = "wallet_floor"
BREAKERS: Final = (
    CONSECUTIVE_FAILURES,
    DAILY_LOSS,
    NO_SUCCESS,
    STALE_DATA,
    SLOT_DRIFT,
    WALLET_FLOOR,
)


@dataclass(frozen=True)
class Trip:
    """A breaker's decision to halt: which one, and why (the kill switch's reason)."""

    breaker: str
    reason: str


def _sol(lamports: int | float) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:.9f} SOL"


def _day(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).date()


@dataclass
class _Source:
    slot: int = 0
    seen: float = 0.0


@dataclass
class Breakers:
    """Every breaker's state; ``on_*`` feed it, :meth:`check` looks at the clock.

    ``now`` is wall-clock seconds (``time.time()``) everywhere.
    """

    settings: BreakerSettings
    started: float
    failures: int = 0
    day: dt.date | None = None
    day_profit: int = 0
    """Realized profit of SOL-based trades on ``day`` (UTC), in lamports."""
    counted: dict[str, None] = field(default_factory=dict)
    """Plan ids whose result is in ``day_profit``, in order (a redelivered result is counted
    once)."""
    last_success: float = 0.0
    plans_since_success: int = 0
    last_update: float = 0.0
    sources: dict[str, _Source] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.last_success = self.started

    # ------------------------------------------------------------------ execution
    def on_plan(self) -> None:
        """A plan was sent to the executors (EXECUTION)."""
        self.plans_since_success += 1

    def on_result(self, result: ExecutionResultEvent, now: float) -> Trip | None:
        """One outcome (EXECUTED): failures in a row, today's loss, the last success."""
        s = self.settings
        trip: Trip | None = None
        if result.status == STATUS_LANDED:
            self.failures = 0
            self.last_success = now
            self.plans_since_success = 0
        elif result.status in FAILED_STATUSES:
            self.failures += 1
            if s.consecutive_failures and self.failures >= s.consecutive_failures:
                trip = Trip(
                    CONSECUTIVE_FAILURES,
                    f"{self.failures} executions in a row failed or were dropped "
                    f"(limit {s.consecutive_failures}; last: plan {result.plan_id} "
                    f"{result.status}: {result.error or 'no error given'})",
                )
        loss = self._count_profit(result, now)
        if trip is None and loss is not None:
            trip = loss
        return trip

    def _count_profit(self, result: ExecutionResultEvent, now: float) -> Trip | None:
        if result.base_mint not in (b"", bytes(WSOL_MINT)) or not result.realized_profit:
            return None
        day = _day(result.completed_ns or int(now * 1e9))
        if self.day is None or day > self.day:
            self.day, self.day_profit, self.counted = day, 0, {}
        elif day < self.day:  # a result of an earlier day, arriving late: not today's
            return None
        if result.plan_id in self.counted:
            return None
        self.counted[result.plan_id] = None
        self.day_profit += result.realized_profit
        limit = int(self.settings.daily_loss_sol * LAMPORTS_PER_SOL)
        if limit and -self.day_profit > limit and result.realized_profit < 0:
            return Trip(
                DAILY_LOSS,
                f"realized loss today ({self.day.isoformat()} UTC) is "
                f"{_sol(-self.day_profit)}, over the limit of {_sol(limit)}",
            )
        return None

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """What a restarted system manager needs to go on counting (JSON-ready): failures in
        a row and today's profit. The plan ids counted today are kept only for the last
        :data:`KEEP_COUNTED` (only the last few can be delivered again). Not the time since
        the last success: time the system was down is not time without success, so that
        window starts again at each start."""
        return {
            "failures": self.failures,
            "day": self.day.isoformat() if self.day else None,
            "day_profit": self.day_profit,
            "counted": list(self.counted)[-KEEP_COUNTED:],
        }

    def restore(self, doc: Mapping[str, Any]) -> None:
        """Go on from a :meth:`snapshot`; ValueError/TypeError/KeyError if it is not one."""
        failures = int(doc["failures"])
        day = dt.date.fromisoformat(doc["day"]) if doc["day"] else None
        profit = int(doc["day_profit"])
        counted = {str(p): None for p in doc["counted"]}
        self.failures, self.day, self.day_profit, self.counted = failures, day, profit, counted

    # ------------------------------------------------------------------ market data
    def on_account(
        self, source: str, slot: int, now: float, seen: float | None = None
    ) -> Trip | None:
        """One account update on the tape: fresh data, and the source's newest slot.

        ``seen``: when the source received it (the event's ``received_ns``), so a backlog of
        old updates read at start-up is not compared with a live source's new ones."""
        self.last_update = now
        entry = self.sources.setdefault(source or "(unnamed)", _Source())
        entry.slot = max(entry.slot, slot)
        entry.seen = max(entry.seen, now if seen is None else seen)
        limit = self.settings.max_slot_drift
        if not limit:
            return None
        recent = [
            (name, src.slot)
            for name, src in self.sources.items()
            if now - src.seen <= self.settings.drift_window_seconds
        ]
        if len(recent) < 2:
            return None
        ahead = max(recent, key=lambda r: r[1])
        behind = min(recent, key=lambda r: r[1])
        if ahead[1] - behind[1] > limit:
            return Trip(
                SLOT_DRIFT,
                f"data source {behind[0]} is at slot {behind[1]}, {ahead[1] - behind[1]} "
                f"slots behind {ahead[0]} at {ahead[1]} (limit {limit})",
            )
        return None

    # ------------------------------------------------------------------ metrics
    def on_metric(self, metric: MetricEvent) -> Trip | None:
        """A wallet balance (``wallet.balance_lamports``) below the floor trips."""
        if metric.name != WALLET_METRIC:
            return None
        return self.on_balance(metric.labels.get("wallet", "(unnamed wallet)"), int(metric.value))

    def on_balance(self, wallet: str, lamports: int) -> Trip | None:
        """A wallet's balance, read from the chain or reported on METRICS."""
        self.balances[wallet] = lamports
        floor = int(self.settings.wallet_floor_sol * LAMPORTS_PER_SOL)
        if floor and lamports < floor:
            return Trip(
                WALLET_FLOOR,
                f"wallet {wallet} holds {_sol(lamports)}, under the floor of {_sol(floor)}",
            )
        return None

    # ------------------------------------------------------------------ the clock
    def check(self, now: float) -> Trip | None:
        """The breakers that trip on time passing: stale data, no success."""
        s = self.settings
        if s.stale_seconds and self.last_update and now - self.last_update > s.stale_seconds:
            return Trip(
                STALE_DATA,
                f"no account update on MARKET_DATA for {now - self.last_update:.1f}s "
                f"(limit {s.stale_seconds:g}s)",
            )
        window = s.no_success_hours * 3600
        if window and self.plans_since_success and now - self.last_success > window:
            return Trip(
                NO_SUCCESS,
                f"{self.plans_since_success} plans sent and none landed for "
                f"{(now - self.last_success) / 3600:.2f}h (limit {s.no_success_hours:g}h)",
            )
        return None

    def rearm(self, now: float) -> None:
        """After a resume: counts start again, time-based breakers wait a full period."""
        self.failures = 0
        self.last_success = now
        self.plans_since_success = 0
        if self.last_update:
            self.last_update = now
        self.sources.clear()
