"""The concentrated-liquidity math the peer executes swaps with, per program.

Orca Whirlpool and Raydium CLMM share the Uniswap v3 model (Q64.64 square-root
prices, ticks of 1.0001, liquidity constant between initialized ticks) but not
every integer: their tick-to-price tables differ (Orca keeps a Q96 table for
positive ticks, Raydium inverts the negative one) and so does the rounding of
the token-A amount between two prices (Orca divides once, Raydium twice). The
peer plays the programs, so it carries their numbers; the DEX plugins carry
their own copies for quoting, and the driver checks every swap it executes
against the pool's adapter quote, so two independent implementations have to
agree to the unit on every trade (see ``clmm_swap``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

Q64 = 1 << 64
U128_MAX = (1 << 128) - 1
MIN_TICK = -443636
MAX_TICK = 443636
PPM = 1_000_000

# Whirlpool ``sqrt_price_from_tick_index``: Q96 factors sqrt(1.0001)^(2^i) for the bits
# of a positive tick, Q64 factors sqrt(1.0001)^-(2^i) for a negative one (program facts).
_ORCA_POSITIVE = (
    79236085330515764027303304731,
    79244008939048815603706035061,
    79259858533276714757314932305,
    79291567232598584799939703904,
    79355022692464371645785046466,
    79482085999252804386437311141,
    79736823300114093921829183326,
    80248749790819932309965073892,
    81282483887344747381513967011,
    83390072131320151908154831281,
    87770609709833776024991924138,
    97234110755111693312479820773,
    119332217159966728226237229890,
    179736315981702064433883588727,
    407748233172238350107850275304,
    2098478828474011932436660412517,
    55581415166113811149459800483533,
    38992368544603139932233054999993551,
)
_ORCA_NEGATIVE = (
    18444899583751176498,
    18443055278223354162,
    18439367220385604838,
    18431993317065449817,
    18417254355718160513,
    18387811781193591352,
    18329067761203520168,
    18212142134806087854,
    17980523815641551639,
    17526086738831147013,
    16651378430235024244,
    15030750278693429944,
    12247334978882834399,
    8131365268884726200,
    3584323654723342297,
    696457651847595233,
    26294789957452057,
    37481735321082,
)
# Raydium ``get_sqrt_price_at_tick``: Q64 factors sqrt(1.0001)^-(2^i), i = 0..18.
_RAYDIUM = (
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


@lru_cache(maxsize=1 << 16)
def orca_sqrt_price_at_tick(tick: int) -> int:
    if tick >= 0:
        ratio = 79232123823359799118286999567 if tick & 1 else 1 << 96
        for i, factor in enumerate(_ORCA_POSITIVE, start=1):
            if tick & (1 << i):
                ratio = ((ratio * factor) >> 96) & U128_MAX
        return ratio >> 32
    magnitude = -tick
    ratio = 18445821805675392311 if magnitude & 1 else Q64
    for i, factor in enumerate(_ORCA_NEGATIVE, start=1):
        if magnitude & (1 << i):
            ratio = (ratio * factor) >> 64
    return ratio


@lru_cache(maxsize=1 << 16)
def raydium_sqrt_price_at_tick(tick: int) -> int:
    magnitude = abs(tick)
    ratio = _RAYDIUM[0] if magnitude & 1 else Q64
    for i, factor in enumerate(_RAYDIUM[1:], start=1):
        if magnitude & (1 << i):
            ratio = (ratio * factor) >> 64
    return U128_MAX // ratio if tick > 0 else ratio


def orca_delta_a(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """Token A between two sqrt prices, one division: ``L (hi - lo) 2^64 / (lo hi)``."""
    lo, hi = min(p0, p1), max(p0, p1)
    q, r = divmod((liquidity * (hi - lo)) << 64, lo * hi)
    return q + 1 if round_up and r else q


def raydium_delta_a(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """Token 0 between two sqrt prices, divided by each price in turn (Uniswap's order)."""
    lo, hi = min(p0, p1), max(p0, p1)
    numerator = (liquidity << 64) * (hi - lo)
    if round_up:
        return _ceil_div(_ceil_div(numerator, hi), lo)
    return numerator // hi // lo


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def delta_b(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """Token B between two sqrt prices, ``L (hi - lo) / 2^64`` (both programs)."""
    product = liquidity * abs(p1 - p0)
    q = product >> 64
    return q + 1 if round_up and product & (Q64 - 1) else q


def next_sqrt_price(sqrt_price: int, liquidity: int, amount: int, a_to_b: bool) -> int:
    """The price after ``amount`` of input (fee already taken) enters: token A rounds the
    price up, token B down (both programs)."""
    if amount == 0:
        return sqrt_price
    if a_to_b:
        shifted = liquidity << 64
        return -(-(shifted * sqrt_price) // (shifted + amount * sqrt_price))
    return sqrt_price + (amount << 64) // liquidity


def fee_on_amount(amount_in: int, fee_rate: int) -> int:
    """The fee of a step that reaches its target: ``ceil(in * rate / (1e6 - rate))``."""
    return -(-amount_in * fee_rate // (PPM - fee_rate))


@dataclass(frozen=True, slots=True)
class TickMath:
    """One program's tick table and token-A rounding."""

    sqrt_price_at_tick: Callable[[int], int]
    delta_a: Callable[[int, int, int, bool], int]

    def tick_at(self, sqrt_price: int) -> int:
        """The greatest tick whose sqrt price is at most ``sqrt_price`` (exact)."""
        estimate = math.floor(2 * math.log(sqrt_price / Q64) / math.log(1.0001))
        tick = max(MIN_TICK, min(MAX_TICK, estimate))
        while tick > MIN_TICK and self.sqrt_price_at_tick(tick) > sqrt_price:
            tick -= 1
        while tick < MAX_TICK and self.sqrt_price_at_tick(tick + 1) <= sqrt_price:
            tick += 1
        return tick


ORCA = TickMath(orca_sqrt_price_at_tick, orca_delta_a)
RAYDIUM = TickMath(raydium_sqrt_price_at_tick, raydium_delta_a)


def sqrt_price_of(price: float) -> int:
    """Q64.64 sqrt price of a raw price (B per A)."""
    return int(math.sqrt(price) * Q64)


def price_of(sqrt_price: int) -> float:
    return (sqrt_price / Q64) ** 2
