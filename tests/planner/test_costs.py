"""Costs in lamports, exactly, on real plans: base fee, priority fee from the compute-unit
table, the Jito tip's share/minimum/cap, the flash-loan fee from the real Kamino reserve on
the tape, rent for kept token accounts; net profit = gross - all of them. Then the choice of
submitter and funding, and the maximum loss."""

from __future__ import annotations

from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_kamino.provider import KaminoFunding
from lstarb_raydium.amm_v4.pool import AmmV4Pool
from lstarb_raydium.clmm.pool import ClmmPool
from lstarb_rpc.submitter import RpcSubmitter
from lstarb_runtime.config import Settings
from lstarb_runtime.planner.core import Planned
from lstarb_runtime.planner.parts import assemble
from lstarb_runtime.planner.settings import RiskSettings, held_token_mints
from lstarb_sdk import ComputeUnits, PluginContext
from lstarb_sdk.events import key_of
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.tokens import MINTS_OF_INTEREST

from .planner_testlib import (
    LOOSE_RISK,
    USDC,
    by_route,
    engine,
    fresh_market,
    host_for,
    jito_submitter,
    kamino_provider,
    kamino_tape,
    scanned,
)

TWO_HOP = ("raydium-clmm", "raydium-amm-v4")
SMALL = ("raydium-cpmm", "raydium-amm-v4")  # a real cycle gaining 86,242 lamports


def plan_of(route: tuple[str, ...] = TWO_HOP, **kwargs: Any) -> Planned:
    decision = engine(**kwargs).decide(by_route(*route), now_ns=by_route(*route).detected_ns)
    assert isinstance(decision, Planned), decision
    return decision


# Each leg's units are its adapter's (PoolAdapter.swap_compute_units): the Raydium CLMM leg's
# measured fit at the ticks it crosses, counted here on the pool's own walk, and AMM V4's SDK
# default (unmeasured: 200,000). The envelope: the compute budget pair (300), a new USDC
# token account (26,345), opening and wrapping wSOL (31,510) and closing it (2,915).
ENVELOPE_UNITS = 300 + 26_345 + 31_510 + 2_915


def _clmm_units() -> int:
    opp = by_route(*TWO_HOP)
    leg = opp.legs[0]
    pool = fresh_market().book.pools[leg.pool]
    assert isinstance(pool, ClmmPool)
    crossed = pool.swap_amounts(leg.in_amount, leg.input_mint == pool.mints[0], True)[4]
    return 82_867 + 15_097 * crossed


TWO_HOP_UNITS = _clmm_units() + 200_000 + ENVELOPE_UNITS


def test_fees_rent_and_net_are_exact() -> None:
    planned = plan_of(planner={"signatures": 2, "compute_unit_price": 12_345})
    plan = planned.plan
    assert plan.base_fee_lamports == 10_000
    assert plan.compute_unit_limit == -(-TWO_HOP_UNITS * 11_000 // 10_000)
    assert plan.compute_unit_price == 12_345
    assert plan.priority_fee_lamports == -(-plan.compute_unit_limit * 12_345 // 1_000_000)
    assert plan.rent_lamports == 2_039_280  # the USDC account the trade creates and keeps
    assert plan.tip_lamports == 0 and plan.submitter == "" and plan.loan_fee == 0
    assert plan.gross_profit == plan.legs[-1].out_amount - plan.amount_in > 0
    assert planned.net_profit_lamports == (
        plan.gross_profit - 10_000 - plan.priority_fee_lamports - 2_039_280
    )
    assert plan.expected_profit == plan.gross_profit - 10_000 - plan.priority_fee_lamports


def test_held_token_accounts_cost_no_rent_and_fewer_units() -> None:
    plan = plan_of(planner={"token_accounts": [str(USDC)], "compute_unit_price": 1}).plan
    assert plan.rent_lamports == 0
    units = TWO_HOP_UNITS - 26_345 + 10_338
    assert plan.compute_unit_limit == -(-units * 11_000 // 10_000)


@pytest.mark.parametrize(
    ("paper", "configured", "rent"),
    [
        (True, None, 0),  # a prepared paper wallet holds the mints of interest (USDC too)
        (False, None, 2_039_280),  # live: nothing assumed
        (True, [], 2_039_280),  # configured, even empty, is what the wallets hold
        (False, [str(USDC)], 0),
    ],
)
def test_paper_runs_assume_wallets_prepared_with_the_mints_of_interest(
    paper: bool, configured: list[str] | None, rent: int
) -> None:
    settings = Settings.model_validate(
        {"planner": {} if configured is None else {"token_accounts": configured}}
    )
    held = held_token_mints(settings.planner, paper)
    if configured is None:
        assert held == (frozenset(MINTS_OF_INTEREST) if paper else frozenset())
    else:
        assert held == {Pubkey.from_string(m) for m in configured}
    parts = assemble(host_for(), PluginContext(paper=paper), settings, recent_fees=False)
    assert parts.engine.held == held
    parts.engine.market = fresh_market()
    parts.engine.risk = RiskSettings.model_validate(LOOSE_RISK)
    parts.engine.capital = {WSOL_MINT: 10**15}
    opp = by_route(*TWO_HOP)
    decision = parts.engine.decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    assert decision.plan.rent_lamports == rent


def test_tip_is_a_share_of_the_profit_within_minimum_and_cap() -> None:
    jito = [jito_submitter()]
    shared = plan_of(submitters=jito, planner={"tip_max_lamports": 10**12, "tip_share_bps": 250})
    plan = shared.plan
    before_tip = (
        plan.gross_profit - plan.base_fee_lamports - plan.priority_fee_lamports - plan.rent_lamports
    )
    assert plan.submitter == "jito"
    assert plan.tip_lamports == before_tip * 250 // 10_000 > 1_000
    assert shared.net_profit_lamports == before_tip - plan.tip_lamports
    capped = plan_of(submitters=jito, planner={"tip_max_lamports": 77_777}).plan
    assert capped.tip_lamports == 77_777
    small = plan_of(
        SMALL, submitters=jito, planner={"token_accounts": [str(USDC)], "tip_share_bps": 100}
    ).plan
    before = small.gross_profit - small.base_fee_lamports - small.priority_fee_lamports
    assert 0 < before * 100 // 10_000 < 1_000  # 1 % of it is below Jito's floor
    assert small.tip_lamports == 1_000


def test_a_bundle_when_the_tip_pays_for_itself_rpc_otherwise() -> None:
    both = [jito_submitter(), RpcSubmitter(paper=True)]
    # a tip at the minimum (1,000) costs less than the fees a failed RPC send burns (p = 1/2)
    cheap = plan_of(submitters=both, planner={"tip_max_lamports": 1_000}).plan
    assert cheap.submitter == "jito" and cheap.tip_lamports == 1_000
    # a 10 % share of a large profit, capped at 1,000,000, does not: RPC, no tip
    dear = plan_of(submitters=both).plan
    assert dear.submitter == "rpc" and dear.tip_lamports == 0
    # landing nearly always, failed sends are rare: even the minimum tip does not pay
    sure = plan_of(
        submitters=both, planner={"tip_max_lamports": 1_000, "landing_rate_bps": 9_500}
    ).plan
    fees = sure.base_fee_lamports + sure.priority_fee_lamports
    assert 500 * fees < 9_500 * 1_000
    assert sure.submitter == "rpc"
    # only one kind loaded: that one
    assert plan_of(submitters=[jito_submitter()]).plan.submitter == "jito"
    assert plan_of(submitters=[RpcSubmitter(paper=True)]).plan.submitter == "rpc"


def _kamino_engine(capital: int | None, max_amount: int | None = None, **kwargs: Any) -> Any:
    provider = kamino_provider(max_amount)
    tape = scanned().tape
    market = fresh_market(
        tape=[*tape, *kamino_tape(tape[-1].slot, tape[-1].seq + 1)], providers=(provider,)
    )
    return engine(
        market,
        providers=(provider,),
        capital={} if capital is None else {WSOL_MINT: capital},
        **kwargs,
    ), market


def _independent_fee(amount: int) -> int:
    """The fee another provider instance, fed the same two accounts directly, asks."""
    provider = kamino_provider()
    provider.update({e.pubkey: e.account() for e in kamino_tape(0, 0)})
    return provider.fee(WSOL_MINT, amount)


def test_flash_loan_fee_is_the_providers() -> None:
    e, _ = _kamino_engine(None)
    opp = by_route(*TWO_HOP)
    decision = e.decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    plan = decision.plan
    assert plan.funding_provider == "kamino"
    assert key_of(plan.loan_mint) == WSOL_MINT
    assert plan.loan_amount == plan.amount_in
    assert plan.loan_fee == _independent_fee(plan.amount_in)
    assert abs(plan.loan_fee - plan.amount_in // 100_000) <= 1  # the Main reserve: 1e-5
    assert plan.expected_profit == (
        plan.gross_profit - plan.loan_fee - plan.base_fee_lamports - plan.priority_fee_lamports
    )
    without = plan_of(capital={WSOL_MINT: 10**15}).plan
    flash = 300_000  # borrow + repay: Kamino publishes no measurement, the planner's fallback
    assert plan.compute_unit_limit == _limit(TWO_HOP_UNITS + flash)
    assert without.compute_unit_limit == -(-TWO_HOP_UNITS * 11_000 // 10_000)


def _limit(units: int) -> int:
    return -(-units * 11_000 // 10_000)


def test_the_limit_is_what_each_legs_adapter_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change an adapter's published measurement and the plan's limit follows it exactly."""
    assert plan_of().plan.compute_unit_limit == _limit(TWO_HOP_UNITS)
    monkeypatch.setattr(AmmV4Pool, "compute_units", ComputeUnits(base=77_777, measured_max=77_777))
    assert plan_of().plan.compute_unit_limit == _limit(TWO_HOP_UNITS - 200_000 + 77_777)


def test_an_adapter_that_cannot_say_gets_the_fallback_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: AmmV4Pool, amount: int, input_mint: object) -> int:
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(AmmV4Pool, "compute_units", ComputeUnits(base=77_777, measured_max=77_777))
    monkeypatch.setattr(AmmV4Pool, "swap_compute_units", broken)
    market = fresh_market()
    opp = by_route(*TWO_HOP)
    decision = engine(market).decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    assert decision.plan.compute_unit_limit == _limit(TWO_HOP_UNITS)  # 200,000: the fallback
    assert market.faults["raydium-amm-v4.swap_compute_units"] == 1


def test_a_provider_that_publishes_its_units_is_budgeted_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(KaminoFunding, "compute_units", 55_555)
    e, _ = _kamino_engine(None)
    opp = by_route(*TWO_HOP)
    decision = e.decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    assert decision.plan.loan_amount > 0
    assert decision.plan.compute_unit_limit == _limit(TWO_HOP_UNITS + 55_555)


def test_the_wallet_pays_what_it_can_and_borrows_the_rest() -> None:
    opp = by_route(*TWO_HOP)
    own = opp.legs[0].in_amount // 3
    e, _ = _kamino_engine(own)
    decision = e.decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    plan = decision.plan
    assert plan.loan_amount == plan.amount_in - own
    assert plan.loan_fee == _independent_fee(plan.amount_in - own)


def test_size_stays_within_what_can_be_funded() -> None:
    """1 SOL of the wallet's and at most 100 SOL borrowed: a 506 SOL cycle is cut to 101 SOL."""
    opp = by_route("meteora-dlmm", "raydium-amm-v4")
    assert opp.legs[0].in_amount > 101 * 10**9
    e, _ = _kamino_engine(10**9, max_amount=100 * 10**9)
    decision = e.decide(opp, now_ns=opp.detected_ns)
    assert isinstance(decision, Planned), decision
    assert decision.plan.amount_in == 101 * 10**9 and decision.reevaluated
    assert decision.plan.loan_amount == 100 * 10**9


@pytest.mark.parametrize("intermediate", [0, 20])
@pytest.mark.parametrize("bundled", [True, False])
def test_max_loss_is_landing_at_every_minimum_or_failing(bundled: bool, intermediate: int) -> None:
    """The last leg's minimum bounds the loss whatever the intermediate slippage: leg i+1
    swaps exactly leg i's minimum, so an intermediate leg paying more leaves a surplus and
    one paying less fails the whole transaction."""
    submitters = [jito_submitter()] if bundled else [RpcSubmitter(paper=True)]
    risk = {"max_slippage_bps": 30, "intermediate_slippage_bps": intermediate}
    plan = plan_of(submitters=submitters, risk=risk).plan
    fees = plan.base_fee_lamports + plan.priority_fee_lamports
    slip = max(0, plan.amount_in + plan.loan_fee - plan.legs[-1].min_out)
    assert plan.slippage_bps == 30
    last = len(plan.legs) - 1
    for i, leg in enumerate(plan.legs):
        bps = 30 if i == last else intermediate
        assert leg.min_out == leg.out_amount * (10_000 - bps) // 10_000
        if i:
            assert leg.in_amount == plan.legs[i - 1].min_out
    assert plan.max_loss_lamports == fees + plan.tip_lamports + slip
    assert (plan.tip_lamports > 0) == bundled
    # and with the minimum above the size, landing costs only fees (+ tip): failing is the
    # worst case of an RPC transaction, nothing for a bundle
    tight = plan_of(submitters=submitters).plan
    assert tight.legs[-1].min_out > tight.amount_in
    assert tight.max_loss_lamports == fees + tight.tip_lamports
