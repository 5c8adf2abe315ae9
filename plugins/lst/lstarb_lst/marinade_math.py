"""Marinade ``deposit`` (SOL -> mSOL) and ``liquid_unstake`` (mSOL -> SOL), in the program's math.

The checks are the program's, in its order, raising :class:`MarinadeRefusal`
with its error name. Deposits first take mSOL from the liquidity pool's mSOL
leg and mint the rest; the trader gets the same total either way, but only
lamports that go to the reserve count against ``staking_sol_cap``, so the
leg's balance matters. Liquid unstake charges a fee in mSOL that grows
linearly from ``lp_min_fee`` to ``lp_max_fee`` as the SOL leg would fall
below ``lp_liquidity_target``.
"""

from __future__ import annotations

from lstarb_lst.marinade_state import MarinadeState
from lstarb_sdk.amounts import BPS_DENOMINATOR, U64_MAX

BASIS_POINTS = BPS_DENOMINATOR
BP_CENTS = 1_000_000


class MarinadeRefusal(Exception):
    """The program fails the instruction with ``name``; ``high``: a larger amount cannot help."""

    def __init__(self, name: str, detail: str, *, high: bool) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.high = high


def proportional(amount: int, numerator: int, denominator: int) -> int:
    """``calc::proportional``: ``amount * numerator / denominator`` (amount if denominator is 0)."""
    if denominator == 0:
        return amount
    out = amount * numerator // denominator
    if out > U64_MAX:
        raise MarinadeRefusal("CalculationFailure", "result above u64", high=True)
    return out


def msol_for_lamports(state: MarinadeState, lamports: int) -> int:
    """``calc_msol_from_lamports`` (shares from value; 1:1 before any supply)."""
    if state.msol_supply == 0:
        return lamports
    return proportional(lamports, state.msol_supply, state.total_virtual_staked_lamports)


def lamports_for_msol(state: MarinadeState, msol: int) -> int:
    """``msol_to_sol`` (value from shares)."""
    return proportional(msol, state.total_virtual_staked_lamports, state.msol_supply)


def deposit(state: MarinadeState, lamports: int, msol_leg_balance: int) -> tuple[int, int]:
    """(mSOL to the trader, SOL fee) for depositing exactly ``lamports``."""
    if state.paused:
        raise MarinadeRefusal("ProgramIsPaused", "deposits are paused", high=False)
    if lamports < state.min_deposit:
        raise MarinadeRefusal(
            "DepositAmountIsTooLow", f"{lamports} < min_deposit {state.min_deposit}", high=False
        )
    fee = lamports * state.deposit_sol_fee_bp_cents // BP_CENTS
    order = msol_for_lamports(state, lamports - fee)
    swapped = min(order, msol_leg_balance)
    if swapped == 0:
        sol_swapped = 0
    elif swapped == order:
        sol_swapped = lamports
    else:
        sol_swapped = lamports_for_msol(state, swapped)
    to_reserve = lamports - sol_swapped
    if to_reserve > 0 and state.total_lamports_under_control + to_reserve > state.staking_sol_cap:
        raise MarinadeRefusal(
            "StakingIsCapped",
            f"{to_reserve} lamports to the reserve exceed staking_sol_cap {state.staking_sol_cap}",
            high=True,
        )
    return order, fee


def unstake_fee_bps(state: MarinadeState, sol_leg_lamports: int, msol: int) -> int:
    """The liquid-unstake fee (basis points) for ``msol``, from the liquidity left after it."""
    available = max(sol_leg_lamports - state.rent_exempt_for_token_acc, 0)
    removed = lamports_for_msol(state, msol)
    if removed >= available:
        return state.lp_max_fee_bps
    after = available - removed
    if after >= state.lp_liquidity_target:
        return state.lp_min_fee_bps
    delta = max(state.lp_max_fee_bps - state.lp_min_fee_bps, 0)
    return state.lp_max_fee_bps - proportional(delta, after, state.lp_liquidity_target)


def liquid_unstake_at_fee(
    state: MarinadeState, sol_leg_lamports: int, msol: int, fee_bps: int
) -> tuple[int, int]:
    """(lamports to the trader, mSOL fee) for ``msol`` at a given fee rate, with the checks."""
    msol_fee = msol * fee_bps // BASIS_POINTS
    lamports = lamports_for_msol(state, msol - msol_fee)
    if lamports + state.rent_exempt_for_token_acc > sol_leg_lamports:
        raise MarinadeRefusal(
            "InsufficientLiquidity",
            f"{lamports} lamports, the SOL leg holds {sol_leg_lamports}",
            high=True,
        )
    if lamports < state.min_withdraw:
        raise MarinadeRefusal(
            "WithdrawAmountIsTooLow", f"{lamports} < min_withdraw {state.min_withdraw}", high=False
        )
    return lamports, msol_fee


def liquid_unstake(state: MarinadeState, msol: int, sol_leg_lamports: int) -> tuple[int, int]:
    """(lamports to the trader, mSOL fee) for liquid-unstaking exactly ``msol``."""
    if state.paused:
        raise MarinadeRefusal("ProgramIsPaused", "liquid unstake is paused", high=False)
    fee_bps = unstake_fee_bps(state, sol_leg_lamports, msol)
    return liquid_unstake_at_fee(state, sol_leg_lamports, msol, fee_bps)
