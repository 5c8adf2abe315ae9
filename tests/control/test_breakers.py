"""Each breaker trips on the scenario built for it, and only that one (its neighbours stay put).

The rules are fed events and a clock directly: every scenario runs against all six breakers
armed at once, so a scenario that tripped the wrong breaker (or two) fails here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lstarb_runtime.control.breakers import (
    BREAKERS,
    CONSECUTIVE_FAILURES,
    DAILY_LOSS,
    NO_SUCCESS,
    SLOT_DRIFT,
    STALE_DATA,
    WALLET_FLOOR,
    WALLET_METRIC,
    Breakers,
    Trip,
)
from lstarb_runtime.control.settings import BreakerSettings
from lstarb_sdk.events import ExecutionResultEvent, MetricEvent

T0 = 1_790_000_000.0  # a fixed wall-clock time (seconds), mid-day UTC
SOL = 1_000_000_000
SETTINGS = BreakerSettings(
    consecutive_failures=3,
    daily_loss_sol=1.0,
    no_success_hours=0.01,  # 36 s
    stale_seconds=5.0,
    max_slot_drift=300,
    drift_window_seconds=30.0,
    wallet_floor_sol=0.1,
)


def result(n: int, status: str, profit: int = 0, at: float = T0) -> ExecutionResultEvent:
    return ExecutionResultEvent(
        plan_id=f"plan-{n}",
        opportunity_id=f"opp-{n}",
        status=status,
        paper=False,
        realized_profit=profit,
        completed_ns=int(at * 1e9),
        error=None if status == "landed" else "slippage",
    )


def balance(lamports: int) -> MetricEvent:
    return MetricEvent(name=WALLET_METRIC, value=lamports, labels={"wallet": "W1"})


def trips(b: Breakers, *found: Trip | None) -> list[str]:
    return [t.breaker for t in found if t is not None]


def consecutive_failures(b: Breakers) -> list[str]:
    got = [b.on_result(result(n, "failed", -5_000), T0 + n) for n in range(3)]
    return trips(b, *got, b.check(T0 + 3))


def daily_loss(b: Breakers) -> list[str]:
    got = [b.on_result(result(n, "landed", -6 * SOL // 10), T0 + n) for n in range(2)]
    return trips(b, *got, b.check(T0 + 2))


def no_success(b: Breakers) -> list[str]:
    for _ in range(4):
        b.on_plan()
    got = [b.on_result(result(n, "rejected"), T0 + n) for n in range(4)]  # nothing was sent
    return trips(b, *got, b.check(T0 + 10), b.check(T0 + 37))


def stale_data(b: Breakers) -> list[str]:
    got = [b.on_account("rpc", 1_000 + n, T0 + n) for n in range(3)]
    return trips(b, *got, b.check(T0 + 4), b.check(T0 + 8))


def slot_drift(b: Breakers) -> list[str]:
    got = [b.on_account("rpc", 1_000, T0), b.on_account("geyser", 1_200, T0 + 0.1)]
    got.append(b.on_account("geyser", 1_301, T0 + 0.2))
    return trips(b, *got, b.check(T0 + 1))


def wallet_floor(b: Breakers) -> list[str]:
    got = [b.on_metric(balance(SOL)), b.on_metric(balance(SOL // 20))]
    return trips(b, *got, b.check(T0 + 1))


SCENARIOS: dict[str, Callable[[Breakers], list[str]]] = {
    CONSECUTIVE_FAILURES: consecutive_failures,
    DAILY_LOSS: daily_loss,
    NO_SUCCESS: no_success,
    STALE_DATA: stale_data,
    SLOT_DRIFT: slot_drift,
    WALLET_FLOOR: wallet_floor,
}


def test_every_breaker_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(BREAKERS)


@pytest.mark.parametrize("breaker", BREAKERS)
def test_the_scenario_trips_its_breaker_and_no_other(breaker: str) -> None:
    assert SCENARIOS[breaker](Breakers(SETTINGS, T0)) == [breaker]


@pytest.mark.parametrize("breaker", BREAKERS)
def test_a_breaker_set_to_zero_does_not_trip(breaker: str) -> None:
    off = {
        CONSECUTIVE_FAILURES: {"consecutive_failures": 0},
        DAILY_LOSS: {"daily_loss_sol": 0.0},
        NO_SUCCESS: {"no_success_hours": 0.0},
        STALE_DATA: {"stale_seconds": 0.0},
        SLOT_DRIFT: {"max_slot_drift": 0},
        WALLET_FLOOR: {"wallet_floor_sol": 0.0},
    }[breaker]
    assert SCENARIOS[breaker](Breakers(SETTINGS.model_copy(update=off), T0)) == []


def test_failures_in_a_row_are_counted_from_the_last_landing() -> None:
    b = Breakers(SETTINGS, T0)
    seq = ["failed", "dropped", "landed", "failed", "rejected", "failed"]
    assert trips(b, *(b.on_result(result(n, s), T0) for n, s in enumerate(seq))) == []
    trip = b.on_result(result(9, "dropped"), T0)
    assert trip is not None and "3 executions in a row" in trip.reason and "plan-9" in trip.reason


def test_the_daily_loss_counts_each_plan_once_and_starts_again_each_utc_day() -> None:
    b = Breakers(SETTINGS, T0)
    loss = result(1, "landed", -9 * SOL // 10)
    assert b.on_result(loss, T0) is None
    assert b.on_result(loss, T0) is None  # redelivered: not counted twice
    assert b.day_profit == -9 * SOL // 10
    tomorrow = T0 + 86_400
    assert b.on_result(result(2, "landed", -5 * SOL // 10, at=tomorrow), tomorrow) is None
    assert b.day_profit == -5 * SOL // 10
    trip = b.on_result(result(3, "landed", -6 * SOL // 10, at=tomorrow), tomorrow)
    assert trip is not None and trip.breaker == DAILY_LOSS
    assert "1.100000000 SOL" in trip.reason and "1.000000000 SOL" in trip.reason


def test_profits_of_other_base_mints_are_not_summed_as_sol() -> None:
    b = Breakers(SETTINGS, T0)
    other = result(1, "landed", -5 * SOL).model_copy(update={"base_mint": bytes(range(32))})
    assert b.on_result(other, T0) is None and b.day_profit == 0


def test_old_updates_of_a_source_are_not_compared_with_a_live_one() -> None:
    b = Breakers(SETTINGS, T0)
    assert b.on_account("rpc", 1_000, T0, seen=T0 - 3_600) is None  # backlog from an hour ago
    assert b.on_account("geyser", 9_000, T0, seen=T0) is None


def test_after_a_resume_the_breakers_count_again() -> None:
    b = Breakers(SETTINGS, T0)
    for n in range(2):
        b.on_result(result(n, "failed"), T0)
    b.on_account("rpc", 1, T0)
    b.rearm(T0 + 100)
    assert b.on_result(result(5, "failed"), T0 + 100) is None
    assert b.check(T0 + 104) is None  # staleness waits a full period after the resume
    assert b.check(T0 + 106) is not None
