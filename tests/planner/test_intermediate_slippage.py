"""Intermediate slippage on the real market: a gap smaller than the last leg's slippage is
planned when intermediate legs must pay their quote, refused when they may slip as much; the
landing simulator fails such a plan, atomically, the moment its first leg pays less.

The gap is made the way the market makes it: another trader's swap through the route's
Raydium AMM V4 pool (what simnet's driver does) closes most of the scanned cycle's gap, until
a 10 SOL trade gains between 2 and 4 bps.
"""

from __future__ import annotations

from functools import cache

import pytest

from lstarb_runtime.executor.landing import Outcome, simulate
from lstarb_runtime.planner.core import BELOW_MIN_PROFIT, Planned, Rejection
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.quotes import BPS
from lstarb_sdk.events import AccountEvent, ExecutionPlanEvent, OpportunityEvent

from .planner_testlib import USDC, by_route, engine, fresh_market, requoted, scanned, traded

TWO_HOP = ("raydium-clmm", "raydium-amm-v4")
SIZE = 10 * 10**9
COSTS = {"min_profit_lamports": 10_000, "max_slippage_bps": 5}


def _gap_bps(market: Market, opp: OpportunityEvent) -> float:
    legs = requoted(_sized(opp), market.book, slot=0).legs
    return (legs[-1].out_amount - SIZE) * BPS / SIZE


def _sized(opp: OpportunityEvent) -> OpportunityEvent:
    first = opp.legs[0].model_copy(update={"in_amount": SIZE})
    return opp.model_copy(update={"legs": (first, *opp.legs[1:])})


def _moved(amount: int, slot: int) -> tuple[Market, list[AccountEvent]]:
    market = fresh_market()
    amm = by_route(*TWO_HOP).legs[1]
    swap = traded(market.book, amm.pool, amm.input_mint, amount, slot=slot, seq=10**6)
    market.apply_all(swap)
    return market, swap


@cache
def narrow() -> tuple[OpportunityEvent, tuple[AccountEvent, ...]]:
    """The scanned two-hop cycle after a trade that leaves a 2-4 bps gap at 10 SOL (the
    opportunity a strategy would report on that state, at 10 SOL) and that trade."""
    opp = by_route(*TWO_HOP)
    slot = scanned().tape[-1].slot + 1
    low, high = 0, 10**15  # the intermediate mint's units sold into the AMM: more, less gap
    for _ in range(200):
        mid = (low + high) // 2
        market, swap = _moved(mid, slot)
        gap = _gap_bps(market, opp)
        if 2 <= gap <= 4:
            return requoted(_sized(opp), market.book, slot=slot), tuple(swap)
        if gap > 4:
            low = mid
        else:
            high = mid
    raise AssertionError("no trade leaves a 2-4 bps gap")


def _decide(intermediate: int) -> Planned | Rejection:
    opp, swap = narrow()
    market = fresh_market()
    market.apply_all(swap)
    risk = {**COSTS, "intermediate_slippage_bps": intermediate}
    # the wallet holds its USDC account: the gap pays fees and the 10,000 minimum, not rent
    e = engine(market, risk=risk, planner={"token_accounts": [str(USDC)]})
    return e.decide(opp, now_ns=opp.detected_ns)


def test_a_gap_below_the_last_legs_slippage_is_planned_when_intermediate_legs_pay_their_quote() -> (
    None
):
    decision = _decide(0)
    assert isinstance(decision, Planned), decision
    plan = decision.plan
    first, last = plan.legs
    gap_bps = plan.gross_profit * BPS / plan.amount_in
    assert plan.amount_in == SIZE and 2 <= gap_bps <= 4 < COSTS["max_slippage_bps"]
    assert first.min_out == first.out_amount  # leg 1 must pay its quote ...
    assert last.in_amount == first.min_out  # ... all of which leg 2 swaps
    assert last.min_out == last.out_amount * (BPS - 5) // BPS  # the result keeps its 5 bps
    assert plan.slippage_bps == 5
    assert decision.net_profit_lamports >= 10_000


def test_the_same_gap_is_refused_when_the_first_leg_may_slip_as_much() -> None:
    decision = _decide(5)
    assert isinstance(decision, Rejection), decision
    assert decision.reason == BELOW_MIN_PROFIT
    assert "gross -" in decision.detail  # the slippage bought back costs more than the gap


# ---------------------------------------------------------------------------- landing

SMALL = ("raydium-cpmm", "raydium-amm-v4")  # both legs constant-product: a trade moves leg 1


def _small_plan(intermediate: int) -> ExecutionPlanEvent:
    opp = by_route(*SMALL)
    risk = {"max_slippage_bps": 5, "intermediate_slippage_bps": intermediate}
    decision = engine(risk=risk).decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    return decision.plan


def _leg1_moved(plan: ExecutionPlanEvent, amount: int) -> Market:
    """The plan's market after another trader swaps ``amount`` through leg 1's pool: in the
    plan's direction (> 0, leg 1 then pays less) or against it (< 0, it pays more)."""
    market = fresh_market()
    leg = plan.legs[0]
    mint = leg.input_mint if amount > 0 else leg.output_mint
    slot = scanned().tape[-1].slot + 1
    market.apply_all(traded(market.book, leg.pool, mint, abs(amount), slot=slot, seq=10**6))
    return market


def _land(plan: ExecutionPlanEvent, market: Market, *, bundled: bool) -> Outcome:
    return simulate(
        market.book,
        plan,
        slot=1,
        bundled=bundled,
        fee_lamports=plan.base_fee_lamports + plan.priority_fee_lamports,
        tip_lamports=plan.tip_lamports,
        loan_fee=plan.loan_fee,
    )


@pytest.mark.parametrize("bundled", [True, False])
def test_the_landing_simulator_fails_the_plan_when_leg_1_pays_less(bundled: bool) -> None:
    plan = _small_plan(0)
    first = plan.legs[0]
    assert first.min_out == first.out_amount
    market = _leg1_moved(plan, plan.amount_in // 1_000)
    paid = market.book.quote(first.pool, first.in_amount, first.input_mint).out_amount
    assert paid < first.min_out  # a move of a thousandth of the trade: a few units less
    outcome = _land(plan, market, bundled=bundled)
    assert outcome.status == "failed"
    assert f"leg 0 (raydium-cpmm {first.pool}): {paid} out, below its min_out" in (
        outcome.error or ""
    )
    assert len(outcome.legs) == 1  # leg 2 never ran: the whole transaction reverted
    fees = plan.base_fee_lamports + plan.priority_fee_lamports
    assert outcome.realized_profit == (0 if bundled else -fees)
    assert outcome.fee_lamports == (0 if bundled else fees) and outcome.out_amount == 0


def test_with_intermediate_slippage_the_same_move_lands_at_the_planned_result() -> None:
    """The trade-off: 5 bps on leg 1 survive the move (the plan swaps leg 1's minimum in leg
    2, so the result is what was planned), but every such plan was priced 5 bps worse."""
    plan = _small_plan(5)
    first, last = plan.legs
    assert first.min_out == first.out_amount * (BPS - 5) // BPS and last.in_amount == first.min_out
    market = _leg1_moved(plan, plan.amount_in // 1_000)
    paid = market.book.quote(first.pool, first.in_amount, first.input_mint).out_amount
    assert first.min_out <= paid < first.out_amount
    outcome = _land(plan, market, bundled=True)
    assert outcome.status == "landed", outcome.error
    assert outcome.legs[0].out_amount == paid and outcome.out_amount == last.out_amount


@pytest.mark.parametrize("move", [0, -1])
def test_leg_1_paying_its_quote_or_more_lands(move: int) -> None:
    """Unmoved, or moved in the plan's favour: leg 2 swaps exactly its planned input and the
    surplus of leg 1 stays in the wallet (not counted as profit)."""
    plan = _small_plan(0)
    market = fresh_market() if move == 0 else _leg1_moved(plan, -plan.amount_in // 1_000)
    outcome = _land(plan, market, bundled=False)
    assert outcome.status == "landed", outcome.error
    assert outcome.legs[0].out_amount >= plan.legs[0].min_out
    assert (outcome.legs[0].out_amount > plan.legs[0].min_out) == (move != 0)
    assert outcome.out_amount == plan.legs[-1].out_amount
    fees = plan.base_fee_lamports + plan.priority_fee_lamports
    assert outcome.realized_profit == plan.legs[-1].out_amount - plan.amount_in - fees
