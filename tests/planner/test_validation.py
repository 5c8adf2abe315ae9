"""Each validation factor rejects the case built to trip it and passes its neighbour.

Every case starts from a real opportunity of the real market (the scanner and the lst
strategies on mainnet accounts) and limits that let it through (``LOOSE_RISK``); one factor
is then set exactly at the opportunity's own value (the neighbour, which must become a plan)
and one notch tighter, or the input one notch off (the trip, which must be rejected with that
factor's reason). The values are read from the plan the neighbour produces, never typed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_raydium.clmm.pool import ClmmPool
from lstarb_runtime.planner import core
from lstarb_runtime.planner.core import Decision, PlanEngine, Planned, Rejection
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.quotes import BPS, Hop, RouteError, chain, gross_of, impact_bps
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolSummary
from lstarb_sdk.events import SCHEMA_VERSION, OpportunityEvent
from lstarb_sdk.solana import WSOL_MINT

from .planner_testlib import (
    USDC,
    by_route,
    engine,
    fresh_market,
    host_for,
    kamino_provider,
    kamino_tape,
    requoted,
    retaped,
    scanned,
    strategies,
    traded,
)

TWO_HOP = ("raydium-clmm", "raydium-amm-v4")
TRIANGLE = ("raydium-clmm", "orca-whirlpool", "orca-whirlpool")


@dataclass
class Side:
    """One decision: the opportunity, the limits, the market and the moment."""

    opp: OpportunityEvent
    risk: dict[str, Any] = field(default_factory=dict)
    planner: dict[str, Any] = field(default_factory=dict)
    market: Market | None = None
    now_ms: int = 0
    halted: bool = False
    capital: dict[Pubkey, int] | None = None
    providers: tuple[Any, ...] = ()

    def decide(self) -> Decision:
        e: PlanEngine = engine(
            self.market,
            risk=self.risk,
            planner=self.planner,
            capital=self.capital,
            providers=self.providers,
        )
        return e.decide(
            self.opp, now_ns=self.opp.detected_ns + self.now_ms * 1_000_000, halted=self.halted
        )


def planned(side: Side) -> Planned:
    decision = side.decide()
    assert isinstance(decision, Planned), decision
    return decision


# ---------------------------------------------------------------------------- the cases


def halted() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    return Side(opp, halted=True), Side(opp)


def unknown_version() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    return Side(opp.model_copy(update={"schema_version": SCHEMA_VERSION + 1})), Side(opp)


def malformed() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    return Side(opp.model_copy(update={"legs": opp.legs[::-1]})), Side(opp)


def unknown_pool() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    stranger = opp.legs[0].model_copy(update={"pool": Pubkey.new_unique()})
    return Side(opp.model_copy(update={"legs": (stranger, *opp.legs[1:])})), Side(opp)


def _later_market(slots: int) -> Market:
    """The market after ``slots`` more slots in which only an unrelated account was re-taped."""
    tape = scanned().tape
    route = {leg.pool for leg in by_route(*TWO_HOP).legs}
    other = next(e for e in tape if e.pubkey not in route)
    market = fresh_market()
    market.apply(retaped(other, tape[-1].slot + slots, tape[-1].seq + 1))
    return market


def too_old_slots() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    market = _later_market(3)
    return (
        Side(opp, {"max_age_slots": 2}, market=market),
        Side(opp, {"max_age_slots": 3}, market=market),
    )


def too_old_ms() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    return Side(opp, {"max_age_ms": 499}, now_ms=500), Side(opp, {"max_age_ms": 500}, now_ms=500)


def book_behind() -> tuple[Side, Side]:
    """The opportunity was computed after another trader's swap through its AMM V4 pool, one
    slot later; a book without that swap is behind, one with it plans."""
    opp = by_route(*TWO_HOP)
    before = fresh_market()
    tape = scanned().tape
    slot = tape[-1].slot + 1
    amm = opp.legs[1]
    swap = traded(before.book, amm.pool, amm.output_mint, 50 * 10**9, slot=slot, seq=10**6)
    after = fresh_market()
    after.apply_all(swap)
    later = requoted(opp, after.book, slot=slot)
    return Side(later, market=before), Side(later, market=after)


def requote_failed() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    first = opp.legs[0]
    huge = first.model_copy(update={"in_amount": 10**19})
    return Side(opp.model_copy(update={"legs": (huge, *opp.legs[1:])})), Side(opp)


def stale_pool() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    market = _later_market(7)
    return (
        Side(opp, {"max_pool_age_slots": 6}, market=market),
        Side(opp, {"max_pool_age_slots": 7}, market=market),
    )


def unpriced_base() -> tuple[Side, Side]:
    """The same two pools as a cycle from USDC (quoted on the book): USDC has no fair value."""
    opp = by_route(*TWO_HOP)
    market = fresh_market()
    usdc_first = opp.model_copy(
        update={
            "base_mint": USDC,
            "legs": (
                opp.legs[1].model_copy(
                    update={"input_mint": USDC, "output_mint": WSOL_MINT, "in_amount": 10**9}
                ),
                opp.legs[0].model_copy(update={"input_mint": WSOL_MINT, "output_mint": USDC}),
            ),
        }
    )
    return Side(requoted(usdc_first, market.book, slot=opp.slot), market=market), Side(opp)


def below_min_trade() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    size = opp.legs[0].in_amount
    return Side(opp, {"min_trade_lamports": size + 1}), Side(opp, {"min_trade_lamports": size})


def unfunded() -> tuple[Side, Side]:
    """Capital below the size shrinks the trade to it; below the smallest trade, nothing."""
    opp = by_route(*TWO_HOP)
    least = {"min_trade_lamports": 10**6}
    return (
        Side(opp, least, capital={WSOL_MINT: 10**6 - 1}),
        Side(opp, least, capital={WSOL_MINT: 10**6}),
    )


def unfunded_without_loan_state() -> tuple[Side, Side]:
    """Kamino lends SOL, but only once its reserve is on the tape."""
    opp = by_route(*TWO_HOP)
    tape = scanned().tape
    without = fresh_market(providers=(p0 := kamino_provider(),))
    p1 = kamino_provider()
    with_reserve = fresh_market(
        tape=[*tape, *kamino_tape(tape[-1].slot, tape[-1].seq + 1)], providers=(p1,)
    )
    return (
        Side(opp, capital={}, market=without, providers=(p0,)),
        Side(opp, capital={}, market=with_reserve, providers=(p1,)),
    )


def _limit_from_legs(opp: OpportunityEvent, measure: Callable[[Any, Any], int]) -> int:
    """The largest per-leg value of ``measure`` on the neighbour's own plan."""
    plan = planned(Side(opp)).plan
    market = fresh_market()
    return max(measure(market, leg) for leg in plan.legs)


def depth() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)

    def share(market: Market, leg: Any) -> int:
        pool = market.book.pools[leg.pool]
        summary = pool.summary()
        reserve = summary.reserve_a if leg.output_mint == pool.mints[0] else summary.reserve_b
        return -(-leg.out_amount * BPS // reserve)

    needed = _limit_from_legs(opp, share)
    assert needed > 0
    return (
        Side(opp, {"max_reserve_share_bps": needed - 1}),
        Side(opp, {"max_reserve_share_bps": needed}),
    )


def price_impact() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    worst = _limit_from_legs(
        opp, lambda market, leg: impact_bps(leg, market.marginal(leg.pool, leg.input_mint)) or 0
    )
    assert worst > 0
    return (
        Side(opp, {"max_price_impact_bps": worst - 1}),
        Side(opp, {"max_price_impact_bps": worst}),
    )


def fair_value() -> tuple[Side, Side]:
    """The triangle's Orca bSOL legs trade far from bSOL's stake-pool fair value."""
    opp = by_route(*TRIANGLE)

    def off_bps(market: Market, leg: Any) -> int:
        ppm = market.fair.premium_ppm(
            leg.input_mint, leg.in_amount, leg.output_mint, leg.out_amount
        )
        return 0 if ppm is None else -(-abs(ppm) // 100)

    worst = _limit_from_legs(opp, off_bps)
    assert worst > 300  # real: the 2023 Orca prices are far from the later stake pools' rates
    return (
        Side(opp, {"max_fair_value_deviation_bps": worst - 1}),
        Side(opp, {"max_fair_value_deviation_bps": worst}),
    )


def unpriced_leg() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)  # SOL/USDC: USDC has no fair value
    return Side(opp, {"require_fair_value": True}), Side(opp, {"require_fair_value": False})


def below_min_profit() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    net = planned(Side(opp)).net_profit_lamports
    return Side(opp, {"min_profit_lamports": net + 1}), Side(opp, {"min_profit_lamports": net})


def below_min_profit_bps() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    decision = planned(Side(opp))
    bps = decision.net_profit_lamports * BPS // decision.plan.amount_in
    return Side(opp, {"min_profit_bps": bps + 1}), Side(opp, {"min_profit_bps": bps})


def max_loss() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    risk = {"max_slippage_bps": 30}
    loss = planned(Side(opp, risk)).plan.max_loss_lamports
    return (
        Side(opp, {**risk, "max_loss_lamports": loss - 1}),
        Side(opp, {**risk, "max_loss_lamports": loss}),
    )


def low_confidence() -> tuple[Side, Side]:
    opp = by_route(*TWO_HOP)
    confidence = float(opp.metadata["confidence"])
    return Side(opp, {"min_confidence": confidence + 1e-4}), Side(
        opp, {"min_confidence": confidence}
    )


def risk() -> tuple[Side, Side]:
    opp = by_route(*TRIANGLE)
    score = planned(Side(opp)).plan.risk_score
    assert 0 < score < 1
    return Side(opp, {"max_risk_score": score - 1e-6}), Side(opp, {"max_risk_score": score})


CASES: list[tuple[str, Callable[[], tuple[Side, Side]]]] = [
    (core.HALTED, halted),
    (core.UNKNOWN_VERSION, unknown_version),
    (core.MALFORMED, malformed),
    (core.UNKNOWN_POOL, unknown_pool),
    (core.TOO_OLD_SLOTS, too_old_slots),
    (core.TOO_OLD_MS, too_old_ms),
    (core.BOOK_BEHIND, book_behind),
    (core.REQUOTE_FAILED, requote_failed),
    (core.STALE_POOL, stale_pool),
    (core.UNPRICED_BASE, unpriced_base),
    (core.BELOW_MIN_TRADE, below_min_trade),
    (core.UNFUNDED, unfunded),
    (core.UNFUNDED, unfunded_without_loan_state),
    (core.DEPTH, depth),
    (core.PRICE_IMPACT, price_impact),
    (core.FAIR_VALUE, fair_value),
    (core.UNPRICED_LEG, unpriced_leg),
    (core.BELOW_MIN_PROFIT, below_min_profit),
    (core.BELOW_MIN_PROFIT, below_min_profit_bps),
    (core.MAX_LOSS, max_loss),
    (core.LOW_CONFIDENCE, low_confidence),
    (core.RISK, risk),
]


@pytest.mark.parametrize(("reason", "case"), CASES, ids=[c.__name__ for _, c in CASES])
def test_factor_rejects_its_case_and_passes_its_neighbour(
    reason: str, case: Callable[[], tuple[Side, Side]]
) -> None:
    trip, neighbour = case()
    rejected = trip.decide()
    assert isinstance(rejected, Rejection), f"{reason}: the trip case became a plan"
    assert rejected.reason == reason, rejected
    assert rejected.detail
    assert isinstance(neighbour.decide(), Planned)


def test_every_reason_has_a_case() -> None:
    assert {reason for reason, _ in CASES} == set(core.REASONS)


def test_the_market_gives_cases_of_every_kind() -> None:
    """The cases read a real two-hop and a real triangle, each a plan with loose limits."""
    for route in (TWO_HOP, TRIANGLE):
        decision = planned(Side(by_route(*route)))
        assert decision.plan.gross_profit > 0
        assert not decision.reevaluated


@pytest.mark.parametrize(
    "route",
    [
        ("raydium-clmm", "raydium-amm-v4"),
        ("meteora-dlmm", "raydium-amm-v4"),
        ("raydium-amm-v4", "orca-whirlpool", "orca-whirlpool"),
    ],
)
@pytest.mark.parametrize("intermediate", [0, 50])
def test_the_sizing_search_reads_the_chained_legs_gross(
    route: tuple[str, ...], intermediate: int
) -> None:
    """gross_of (amounts only, for the search) is the chain's last out less the size, or
    None where the chain refuses (a leg refuses or guarantees nothing), at every size."""
    opp = by_route(*route)
    book = fresh_market().book
    hops = [Hop(x.pool, x.dex, x.input_mint, x.output_mint) for x in opp.legs]
    gross = gross_of(book, hops, 50, intermediate_bps=intermediate)
    refused = 0
    for size in [1, 2, 10, 10**3, 10**6, *(3**k for k in range(14, 44)), 2**64 - 1]:
        try:
            legs = chain(book, hops, size, 50, intermediate_bps=intermediate)
            want: int | None = legs[-1].out_amount - size
        except RouteError:
            want = None
            refused += 1
        assert gross(size) == want, size
    assert 0 < refused < 40


class SummaryBugClmm(ClmmPool):
    """The real Raydium CLMM adapter with a bug in ``summary`` (a third-party plugin's)."""

    def summary(self) -> PoolSummary | None:
        raise RuntimeError("bug in summary")


def test_a_leg_whose_summary_raises_is_rejected_and_its_pool_quarantined() -> None:
    """The planner's book computes no pool states while it reads the tape, so a bug in an
    adapter's ``summary`` shows when the planner asks for a leg's reserves: the opportunity
    is rejected, the pool quarantined (as a bug in ``quote`` is), the planner carries on."""
    opp = by_route(*TWO_HOP)
    adapters = [
        SummaryBugClmm if cls is ClmmPool else cls
        for cls in PoolBook.for_tape(host_for()).adapter_classes
    ]
    market = Market(PoolBook(adapters, keep_unwanted=True, states=False), strategies())
    market.apply_all(scanned().tape)
    clmm = opp.legs[0].pool
    assert isinstance(market.book.pools[clmm], SummaryBugClmm)
    rejected = Side(opp, market=market).decide()
    assert isinstance(rejected, Rejection) and rejected.reason == core.REQUOTE_FAILED
    assert "adapter fault" in rejected.detail
    assert "bug in summary" in market.book.quarantined[clmm]
    again = Side(opp, market=market).decide()
    assert isinstance(again, Rejection) and again.reason == core.UNKNOWN_POOL
