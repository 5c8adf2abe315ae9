"""Ticks and Q64.64 square-root prices, as raydium_clmm's ``tick_math.rs`` computes them.

The program turns a tick into a price with a fixed table of 19 Q64 factors and
back with a 16-bit-precision binary logarithm; both are integer-exact, so a
quote that crosses ticks lands on the same prices as the program only if this
code reproduces those steps bit for bit (including the error margins of the
inverse).
"""

from __future__ import annotations

from functools import lru_cache

from lstarb_sdk.amounts import U128_MAX

MIN_TICK = -443636
MAX_TICK = 443636
MIN_SQRT_PRICE_X64 = 4295048016
MAX_SQRT_PRICE_X64 = 79226673521066979257578248091

_Q64 = 1 << 64
_LOG_B_2_X32 = 59543866431248
_LOG_B_P_ERR_MARGIN_LOWER_X64 = 184467440737095516
_LOG_B_P_ERR_MARGIN_UPPER_X64 = 15793534762490258745

# Q64 factors sqrt(1.0001)^-(2^i) for bits 0..18 of |tick|.
_FACTORS = (
    0xFFFCB933BD6FB800,
    0xFFF97272373D4000,
    0xFFF2E50F5F657000,
    0xFFE5CACA7E10F000,
    0xFFCB9843D60F7000,
    0xFF973B41FA98E800,
    0xFF2EA16466C9B000,
    0xFE5DEE046A9A3800,
    0xFCBE86C7900BB000,
    0xF987A7253AC65800,
    0xF3392B0822BB6000,
    0xE7159475A2CAF000,
    0xD097F3BDFD2F2000,
    0xA9F746462D9F8000,
    0x70D869A156F31C00,
    0x31BE135F97ED3200,
    0x9AA508B5B85A500,
    0x5D6AF8DEDC582C,
    0x2216E584F5FA,
)


class TickRangeError(ValueError):
    """A tick or sqrt price outside the program's bounds."""


def sqrt_price_at_tick(tick: int) -> int:
    """Q64.64 sqrt price at ``tick`` (the program's ``get_sqrt_price_at_tick``)."""
    if tick < MIN_TICK or tick > MAX_TICK:
        raise TickRangeError(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    abs_tick = -tick if tick < 0 else tick
    ratio = _FACTORS[0] if abs_tick & 1 else _Q64
    bit = 1
    for factor in _FACTORS[1:]:
        if abs_tick & (1 << bit):
            ratio = (ratio * factor) >> 64
        bit += 1
    if tick > 0:
        ratio = U128_MAX // ratio
    return ratio


def tick_at_sqrt_price(sqrt_price_x64: int) -> int:
    """Greatest tick whose sqrt price is <= ``sqrt_price_x64`` (``get_tick_at_sqrt_price``)."""
    if sqrt_price_x64 < MIN_SQRT_PRICE_X64 or sqrt_price_x64 >= MAX_SQRT_PRICE_X64:
        raise TickRangeError(f"sqrt price {sqrt_price_x64} outside the program's range")
    msb = sqrt_price_x64.bit_length() - 1
    log2p_integer_x32 = (msb - 64) << 32
    r = sqrt_price_x64 >> (msb - 63) if msb >= 64 else sqrt_price_x64 << (63 - msb)
    log2p_fraction_x64 = 0
    bit = 1 << 63
    for _ in range(16):
        r = r * r
        is_r_more_than_two = r >> 127
        r >>= 63 + is_r_more_than_two
        if is_r_more_than_two:
            log2p_fraction_x64 += bit
        bit >>= 1
    log2p_x32 = log2p_integer_x32 + (log2p_fraction_x64 >> 32)
    log_sqrt_10001_x64 = log2p_x32 * _LOG_B_2_X32
    tick_low = (log_sqrt_10001_x64 - _LOG_B_P_ERR_MARGIN_LOWER_X64) >> 64
    tick_high = (log_sqrt_10001_x64 + _LOG_B_P_ERR_MARGIN_UPPER_X64) >> 64
    if tick_low == tick_high:
        return tick_low
    if sqrt_price_at_tick(tick_high) <= sqrt_price_x64:
        return tick_high
    return tick_low


sqrt_price_at_tick_cached = lru_cache(maxsize=1 << 16)(sqrt_price_at_tick)
""":func:`sqrt_price_at_tick`, memoised: swaps and decodes revisit the same ticks."""
