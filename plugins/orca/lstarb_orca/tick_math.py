"""Tick <-> Q64.64 sqrt price, bit for bit as the Whirlpool program computes them.

Floats are not exact enough: a tick boundary that is off by one unit of sqrt
price changes which branch a swap step takes, so both directions use the
program's fixed-point constants. ``sqrt_price_at_tick`` is memoised because a
quote looks up the same few hundred ticks over and over.
"""

from __future__ import annotations

from functools import lru_cache

MIN_TICK_INDEX = -443636
MAX_TICK_INDEX = 443636
MIN_SQRT_PRICE = 4295048016
MAX_SQRT_PRICE = 79226673515401279992447579055
TICK_ARRAY_SIZE = 88

_U128 = (1 << 128) - 1

# Q96 factors for positive ticks (bit i of the tick multiplies by 1.0001^(2^i / 2)).
_POSITIVE = (
    (2, 79236085330515764027303304731),
    (4, 79244008939048815603706035061),
    (8, 79259858533276714757314932305),
    (16, 79291567232598584799939703904),
    (32, 79355022692464371645785046466),
    (64, 79482085999252804386437311141),
    (128, 79736823300114093921829183326),
    (256, 80248749790819932309965073892),
    (512, 81282483887344747381513967011),
    (1024, 83390072131320151908154831281),
    (2048, 87770609709833776024991924138),
    (4096, 97234110755111693312479820773),
    (8192, 119332217159966728226237229890),
    (16384, 179736315981702064433883588727),
    (32768, 407748233172238350107850275304),
    (65536, 2098478828474011932436660412517),
    (131072, 55581415166113811149459800483533),
    (262144, 38992368544603139932233054999993551),
)
# Q64 factors for negative ticks (bit i of |tick| multiplies by 1.0001^(-2^i / 2)).
_NEGATIVE = (
    (2, 18444899583751176498),
    (4, 18443055278223354162),
    (8, 18439367220385604838),
    (16, 18431993317065449817),
    (32, 18417254355718160513),
    (64, 18387811781193591352),
    (128, 18329067761203520168),
    (256, 18212142134806087854),
    (512, 17980523815641551639),
    (1024, 17526086738831147013),
    (2048, 16651378430235024244),
    (4096, 15030750278693429944),
    (8192, 12247334978882834399),
    (16384, 8131365268884726200),
    (32768, 3584323654723342297),
    (65536, 696457651847595233),
    (131072, 26294789957452057),
    (262144, 37481735321082),
)


@lru_cache(maxsize=65536)
def sqrt_price_at_tick(tick: int) -> int:
    """Q64.64 sqrt price of ``tick`` (the program's ``sqrt_price_from_tick_index``)."""
    if tick >= 0:
        ratio = 79232123823359799118286999567 if tick & 1 else 79228162514264337593543950336
        for bit, factor in _POSITIVE:
            if tick & bit:
                ratio = ((ratio * factor) >> 96) & _U128
        return ratio >> 32
    abs_tick = -tick
    ratio = 18445821805675392311 if abs_tick & 1 else 18446744073709551616
    for bit, factor in _NEGATIVE:
        if abs_tick & bit:
            ratio = (ratio * factor) >> 64
    return ratio


_LOG_B_2_X32 = 59543866431248
_BIT_PRECISION = 14
_LOG_B_P_ERR_MARGIN_LOWER_X64 = 184467440737095516
_LOG_B_P_ERR_MARGIN_UPPER_X64 = 15793534762490258745


def tick_at_sqrt_price(sqrt_price: int) -> int:
    """Greatest tick whose sqrt price is <= ``sqrt_price`` (the program's estimate-and-check)."""
    msb = sqrt_price.bit_length() - 1
    log2p_integer_x32 = (msb - 64) << 32
    bit = 0x8000_0000_0000_0000
    log2p_fraction_x64 = 0
    r = sqrt_price >> (msb - 63) if msb >= 64 else sqrt_price << (63 - msb)
    for _ in range(_BIT_PRECISION):
        r *= r
        more = r >> 127
        r >>= 63 + more
        if more:
            log2p_fraction_x64 += bit
        bit >>= 1
    logbp_x64 = (log2p_integer_x32 + (log2p_fraction_x64 >> 32)) * _LOG_B_2_X32
    tick_low = (logbp_x64 - _LOG_B_P_ERR_MARGIN_LOWER_X64) >> 64
    tick_high = (logbp_x64 + _LOG_B_P_ERR_MARGIN_UPPER_X64) >> 64
    if tick_low == tick_high:
        return tick_low
    return tick_high if sqrt_price_at_tick(tick_high) <= sqrt_price else tick_low


def tick_array_start(tick: int, tick_spacing: int) -> int:
    """Start index of the tick array holding ``tick`` (floor toward minus infinity)."""
    span = TICK_ARRAY_SIZE * tick_spacing
    return (tick // span) * span
