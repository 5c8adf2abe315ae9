"""Bin prices and amount conversions in the program's 64.64 fixed point.

Every rounding here is the program's: a bin's price is
``(1 + bin_step / 10^4) ^ bin_id`` computed by square-and-multiply with a
floor after each product, and amounts convert through ``price / 2^64`` with
floor for what the trader receives and ceiling for what the trader owes.
"""

from __future__ import annotations

from lstarb_meteora.dlmm.constants import (
    MAX_EXPONENTIAL,
    ONE_Q64,
    SCALE_OFFSET,
)
from lstarb_sdk.amounts import BPS_DENOMINATOR, U128_MAX, ceil_div


def q64_pow(base: int, exp: int) -> int:
    """``base ^ exp`` for a 64.64 ``base``, as the program's ``pow`` rounds it.

    The base is inverted first when it is >= 1 so every intermediate stays
    below 1 (no overflow in u128); the result is inverted back at the end.
    Returns 0 where the program has no representable result.
    """
    if exp == 0:
        return ONE_Q64
    invert = exp < 0
    if invert:
        exp = -exp
    if exp > MAX_EXPONENTIAL:
        return 0
    squared = base
    result = ONE_Q64
    if squared >= result:
        squared = U128_MAX // squared
        invert = not invert
    bit = 1
    while bit <= MAX_EXPONENTIAL // 2:  # bits 0..18
        if exp & bit:
            result = (result * squared) >> SCALE_OFFSET
        squared = (squared * squared) >> SCALE_OFFSET
        bit <<= 1
    if result == 0:
        return 0
    if invert:
        result = U128_MAX // result
    return result


def price_from_id(bin_id: int, bin_step: int) -> int:
    """The 64.64 price of ``bin_id`` (token Y per token X, raw units)."""
    bps = (bin_step << SCALE_OFFSET) // BPS_DENOMINATOR
    return q64_pow(ONE_Q64 + bps, bin_id)


def amount_in_up(amount_out: int, price: int, swap_for_y: bool) -> int:
    """Input that buys ``amount_out`` at one bin's price, rounded up."""
    if swap_for_y:
        return ceil_div(amount_out << SCALE_OFFSET, price)
    return -(-(amount_out * price) >> SCALE_OFFSET)  # ceil_div by 2**64, as a shift
