"""A swap that moves a concentrated-liquidity pool to (just past) a chosen price, as the
program runs it.

The driver picks the price and works out the input that gets there: each initialized
tick on the way is a step that ends on the tick, where the program charges
``ceil(in * rate / (1e6 - rate))`` and crosses it; the last step takes the input that
reaches the chosen price (fee included). The swap sent is that input, exact in, with no
price limit, so the program does not know the target: its last step runs toward the
next initialized tick and stops where the input runs out, a few units of sqrt price past
the target (``next_sqrt_price``). That is what this module computes, step for step as
the program does: amounts, fees, the input token's fee growth, the liquidity after each
crossed tick, and where price and tick end.

The caller gives every initialized tick up to the edge of what a swap may reach, and the
sqrt price of that edge; a last step that would reach the next tick or the edge is
refused (the target sits mid-tick, so that does not happen in practice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lstarb_runtime.simnet.clmm_math import (
    PPM,
    U128_MAX,
    TickMath,
    delta_b,
    fee_on_amount,
    next_sqrt_price,
)

U64_MAX = (1 << 64) - 1

FeeSplit = Callable[[int, int], tuple[int, int, int]]
"""(fee, liquidity) -> (protocol, fund, lp): how a program divides a step's fee."""


class SwapRefused(ValueError):
    """The program would fail this swap, or it would not end where the driver wants."""


@dataclass(frozen=True, slots=True)
class Crossing:
    """An initialized tick the swap crossed, with the input token's fee growth then."""

    tick: int
    fee_growth_in: int


@dataclass(slots=True)
class Swap:
    """An exact-in swap: what the trader pays and gets, and the pool after."""

    a_to_b: bool
    amount_in: int = 0
    """What leaves the trader, fee included."""
    amount_out: int = 0
    fee: int = 0
    protocol_fee: int = 0
    fund_fee: int = 0
    lp_fee: int = 0
    sqrt_price: int = 0
    tick: int = 0
    liquidity: int = 0
    fee_growth_in: int = 0
    crossings: list[Crossing] = field(default_factory=list)

    def add_step(
        self, amount_in: int, amount_out: int, fee: int, liquidity: int, split: FeeSplit
    ) -> None:
        """Count one step of the swap loop, its fee split as the program splits it."""
        if amount_in > U64_MAX or amount_out > U64_MAX:
            raise SwapRefused("a step's amount exceeds u64")
        protocol, fund, lp = split(fee, liquidity)
        self.amount_in += amount_in + fee
        self.amount_out += amount_out
        self.fee += fee
        self.protocol_fee += protocol
        self.fund_fee += fund
        self.lp_fee += lp
        if liquidity > 0:
            self.fee_growth_in = (self.fee_growth_in + ((lp << 64) // liquidity)) & U128_MAX


def swap_to_price(
    math: TickMath,
    *,
    sqrt_price: int,
    liquidity: int,
    fee_rate: int,
    fee_growth_in: int,
    split: FeeSplit,
    ticks: Sequence[tuple[int, int]],
    edge: int,
    target: int,
) -> Swap:
    """Walk from ``sqrt_price`` toward ``target``. ``ticks``: (tick, liquidity_net) of the
    initialized ticks from the price to ``edge`` (a sqrt price), in the order the price
    meets them."""
    a_to_b = target < sqrt_price
    swap = Swap(a_to_b, fee_growth_in=fee_growth_in)

    def amounts(start: int, end: int, active: int, round_in: bool) -> tuple[int, int]:
        if a_to_b:
            return math.delta_a(end, start, active, round_in), delta_b(end, start, active, False)
        return delta_b(start, end, active, round_in), math.delta_a(start, end, active, False)

    current, bound = sqrt_price, edge
    for crossed, net in ticks:
        at = math.sqrt_price_at_tick(crossed)
        if (at <= target) if a_to_b else (at >= target):
            bound = at
            break
        amount_in, amount_out = amounts(current, at, liquidity, True)
        swap.add_step(amount_in, amount_out, fee_on_amount(amount_in, fee_rate), liquidity, split)
        swap.crossings.append(Crossing(crossed, swap.fee_growth_in))
        liquidity += -net if a_to_b else net
        if liquidity < 0:
            raise SwapRefused(f"liquidity below zero after crossing tick {crossed}")
        current = at
    # the last step: the input that reaches the target, spent as the program spends it
    reach, _ = amounts(current, target, liquidity, True)
    remaining = reach + fee_on_amount(reach, fee_rate)
    usable = remaining * (PPM - fee_rate) // PPM
    if amounts(current, bound, liquidity, True)[0] <= usable:
        raise SwapRefused("the input would reach the next tick")
    end = next_sqrt_price(current, liquidity, usable, a_to_b)
    amount_in, amount_out = amounts(current, end, liquidity, True)
    swap.add_step(amount_in, amount_out, remaining - amount_in, liquidity, split)
    if swap.amount_in > U64_MAX:
        raise SwapRefused("the input exceeds u64")
    swap.sqrt_price = end
    swap.tick = math.tick_at(end)
    swap.liquidity = liquidity
    return swap
