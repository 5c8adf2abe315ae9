"""The adaptive (volatility) fee of Whirlpools created on an adaptive fee tier.

The fee grows with how far the price has moved, in tick groups, from a
reference that decays with time; a swap re-evaluates it group by group. This
is a port of the program's fee rate manager: the static manager is the
degenerate case with a constant rate and no stepping.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_orca.state import (
    ADAPTIVE_FEE_CONTROL_FACTOR_DENOMINATOR,
    REDUCTION_FACTOR_DENOMINATOR,
    AdaptiveFeeConstants,
    AdaptiveFeeVariables,
)
from lstarb_orca.tick_math import (
    MAX_TICK_INDEX,
    MIN_TICK_INDEX,
    sqrt_price_at_tick,
    tick_at_sqrt_price,
)
from lstarb_sdk.amounts import ceil_div
from lstarb_sdk.errors import QuoteError

VOLATILITY_ACCUMULATOR_SCALE_FACTOR = 10_000
MAX_REFERENCE_AGE = 3_600
FEE_RATE_HARD_LIMIT = 100_000
_U128 = (1 << 128) - 1


class StaticFee:
    """A pool without adaptive fee: one rate for the whole swap."""

    __slots__ = ("rate",)
    skips = False

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def update_volatility_accumulator(self) -> None:
        """Nothing varies."""

    def total_fee_rate(self) -> int:
        return self.rate

    def bounded_target(self, sqrt_price: int, liquidity: int) -> tuple[int, bool]:
        return sqrt_price, False

    def advance_tick_group(self) -> None:
        """Nothing varies."""

    def advance_tick_group_after_skip(self, sqrt_price: int, tick_price: int, tick: int) -> None:
        """Never called: a static fee never skips."""


@dataclass(slots=True)
class AdaptiveFee:
    """Fee rate manager of an adaptive pool, on a copy of the Oracle's variables."""

    a_to_b: bool
    tick_group_index: int
    static_fee_rate: int
    c: AdaptiveFeeConstants
    reference_index: int
    volatility_reference: int
    volatility_accumulator: int
    lower_bound: tuple[int, int] | None
    upper_bound: tuple[int, int] | None

    @classmethod
    def start(
        cls,
        a_to_b: bool,
        tick_current_index: int,
        timestamp: int,
        static_fee_rate: int,
        constants: AdaptiveFeeConstants,
        variables: AdaptiveFeeVariables,
    ) -> AdaptiveFee:
        """Reference update at swap start, then the core tick-group range."""
        c = constants
        group = tick_current_index // c.tick_group_size
        v = variables
        reference_index = v.tick_group_index_reference
        volatility_reference = v.volatility_reference
        max_ts = max(v.last_reference_update_timestamp, v.last_major_swap_timestamp)
        if timestamp < max_ts:
            raise QuoteError(
                f"Orca Whirlpool: timestamp {timestamp} is before the Oracle's last update {max_ts}"
            )
        if timestamp - v.last_reference_update_timestamp > MAX_REFERENCE_AGE:
            reference_index, volatility_reference = group, 0
        else:
            elapsed = timestamp - max_ts
            if elapsed < c.filter_period:
                pass
            elif elapsed < c.decay_period:
                reference_index = group
                volatility_reference = (
                    v.volatility_accumulator * c.reduction_factor // REDUCTION_FACTOR_DENOMINATOR
                )
            else:
                reference_index, volatility_reference = group, 0
        delta = ceil_div(
            c.max_volatility_accumulator - volatility_reference, VOLATILITY_ACCUMULATOR_SCALE_FACTOR
        )
        lower_index = reference_index - delta
        upper_index = reference_index + delta
        lower_tick = lower_index * c.tick_group_size
        upper_tick = upper_index * c.tick_group_size + c.tick_group_size
        lower = (
            (lower_index, sqrt_price_at_tick(lower_tick)) if lower_tick > MIN_TICK_INDEX else None
        )
        upper = (
            (upper_index, sqrt_price_at_tick(upper_tick)) if upper_tick < MAX_TICK_INDEX else None
        )
        return cls(
            a_to_b,
            group,
            static_fee_rate,
            c,
            reference_index,
            volatility_reference,
            v.volatility_accumulator,
            lower,
            upper,
        )

    def update_volatility_accumulator(self) -> None:
        acc = (
            self.volatility_reference
            + abs(self.reference_index - self.tick_group_index)
            * VOLATILITY_ACCUMULATOR_SCALE_FACTOR
        )
        self.volatility_accumulator = min(acc, self.c.max_volatility_accumulator)

    def total_fee_rate(self) -> int:
        crossed = self.volatility_accumulator * self.c.tick_group_size
        adaptive = ceil_div(
            self.c.adaptive_fee_control_factor * crossed * crossed,
            ADAPTIVE_FEE_CONTROL_FACTOR_DENOMINATOR
            * VOLATILITY_ACCUMULATOR_SCALE_FACTOR
            * VOLATILITY_ACCUMULATOR_SCALE_FACTOR,
        )
        adaptive = min(adaptive, FEE_RATE_HARD_LIMIT)
        return min(self.static_fee_rate + adaptive, FEE_RATE_HARD_LIMIT)

    def bounded_target(self, sqrt_price: int, liquidity: int) -> tuple[int, bool]:
        """Clamp the step target to the current tick group; True when stepping is pointless."""
        if self.c.adaptive_fee_control_factor == 0 or liquidity == 0:
            return sqrt_price, True
        if self.lower_bound is not None and self.tick_group_index < self.lower_bound[0]:
            if self.a_to_b:
                return sqrt_price, True
            return min(sqrt_price, self.lower_bound[1]), True
        if self.upper_bound is not None and self.tick_group_index > self.upper_bound[0]:
            if self.a_to_b:
                return max(sqrt_price, self.upper_bound[1]), True
            return sqrt_price, True
        size = self.c.tick_group_size
        boundary = self.tick_group_index * size + (0 if self.a_to_b else size)
        boundary_price = sqrt_price_at_tick(min(max(boundary, MIN_TICK_INDEX), MAX_TICK_INDEX))
        if self.a_to_b:
            return max(sqrt_price, boundary_price), False
        return min(sqrt_price, boundary_price), False

    def advance_tick_group(self) -> None:
        self.tick_group_index += -1 if self.a_to_b else 1

    def advance_tick_group_after_skip(self, sqrt_price: int, tick_price: int, tick: int) -> None:
        """Resynchronise the group index from the price a skipped stretch reached."""
        size = self.c.tick_group_size
        if sqrt_price == tick_price:
            tick_index = tick
            on_boundary = tick % size == 0
        else:
            tick_index = tick_at_sqrt_price(sqrt_price)
            on_boundary = tick_index % size == 0 and sqrt_price == sqrt_price_at_tick(tick_index)
        # on a boundary going up, the group just left is the one below the boundary
        last = tick_index // size - (1 if on_boundary and not self.a_to_b else 0)
        if (self.a_to_b and last < self.tick_group_index) or (
            not self.a_to_b and last > self.tick_group_index
        ):
            self.tick_group_index = last
            self.update_volatility_accumulator()
        self.tick_group_index += -1 if self.a_to_b else 1
