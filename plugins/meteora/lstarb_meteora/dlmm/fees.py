"""DLMM trading fees: base fee, variable (volatility) fee and their split.

The variable fee grows with the number of bins the price moved away from a
reference bin, and the reference decays with the time since the last swap:
that is why a quote needs the Clock's ``unix_timestamp``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_meteora.dlmm.constants import LIMIT_ORDER_FEE_SHARE, MAX_FEE_RATE
from lstarb_meteora.dlmm.state import StaticParameters, VariableParameters
from lstarb_sdk.amounts import BPS_DENOMINATOR, ceil_div


def base_fee_rate(bin_step: int, sp: StaticParameters) -> int:
    """Base fee in 10^-9 units: ``base_factor * bin_step * 10 * 10^power``."""
    power: int = 10**sp.base_fee_power_factor
    return sp.base_factor * bin_step * 10 * power


def variable_fee_rate(bin_step: int, sp: StaticParameters, volatility_accumulator: int) -> int:
    """Variable fee in 10^-9 units, rounded up as the program does."""
    if sp.variable_fee_control == 0:
        return 0
    square = (volatility_accumulator * bin_step) ** 2
    return ceil_div(sp.variable_fee_control * square, 100_000_000_000)


def total_fee_rate(bin_step: int, sp: StaticParameters, volatility_accumulator: int) -> int:
    """Base plus variable fee, capped at 10 %."""
    rate = base_fee_rate(bin_step, sp) + variable_fee_rate(bin_step, sp, volatility_accumulator)
    return MAX_FEE_RATE if rate > MAX_FEE_RATE else rate


@dataclass(slots=True)
class VolatilityState:
    """The swap's working copy of the pair's variable parameters."""

    volatility_accumulator: int
    volatility_reference: int
    index_reference: int

    @classmethod
    def at(
        cls, vp: VariableParameters, sp: StaticParameters, active_id: int, now: int
    ) -> VolatilityState:
        """The state after the program's ``update_references(now)``.

        Past the filter period the reference bin becomes the active one and
        the reference volatility decays (to zero past the decay period).
        """
        state = cls(vp.volatility_accumulator, vp.volatility_reference, vp.index_reference)
        elapsed = now - vp.last_update_timestamp
        if elapsed >= sp.filter_period:
            state.index_reference = active_id
            if elapsed < sp.decay_period:
                state.volatility_reference = (
                    vp.volatility_accumulator * sp.reduction_factor // BPS_DENOMINATOR
                )
            else:
                state.volatility_reference = 0
        return state

    def enter_bin(self, bin_id: int, sp: StaticParameters) -> None:
        """Update the accumulator before swapping in ``bin_id``."""
        acc = self.volatility_reference + abs(self.index_reference - bin_id) * BPS_DENOMINATOR
        mx = sp.max_volatility_accumulator
        self.volatility_accumulator = mx if acc > mx else acc


def split_fee(
    trading_fee: int, protocol_share: int, mm_amount_in: int, total_amount_in: int
) -> tuple[int, int]:
    """(LP fee, protocol fee) of one bin's trading fee.

    The market-making share of the fee (pro rata to input, rounded up) pays
    the protocol ``protocol_share`` bps; of the limit-order share half goes to
    order owners and the rest to the protocol. A fill that took no input (one
    unit in, all of it fee) has no market-making share: the program books that
    fee as the limit-order part (the SDK drops it).
    """
    mm_fee = ceil_div(trading_fee * mm_amount_in, total_amount_in) if total_amount_in else 0
    lo_total = trading_fee - mm_fee
    lo_protocol = lo_total - lo_total * LIMIT_ORDER_FEE_SHARE // BPS_DENOMINATOR
    protocol = lo_protocol + mm_fee * protocol_share // BPS_DENOMINATOR
    return trading_fee - protocol, protocol
