"""The Whirlpool swap loop in the program's integer math.

Every rounding direction, overflow check and fee rule follows the program and
Orca's core crate, because a quote that is one unit off either way fails the
slippage check or leaves money on the table. Amounts are u64 and prices
Q64.64 u128 on chain: Python ints hold them exactly, and each place where the
program would overflow raises instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lstarb_orca.adaptive_fee import AdaptiveFee, StaticFee
from lstarb_orca.tick_arrays import TickSequence
from lstarb_orca.tick_math import (
    MAX_SQRT_PRICE,
    MIN_SQRT_PRICE,
    sqrt_price_at_tick,
    tick_at_sqrt_price,
)
from lstarb_sdk.amounts import PPM_DENOMINATOR, U64_MAX, U128_MAX
from lstarb_sdk.errors import QuoteError

Q64_MASK = (1 << 64) - 1
FEE_RATE_DENOMINATOR = PPM_DENOMINATOR
_EXCEEDS = -1  # "does not fit in u64": tolerated for the first fixed-delta probe only


def _err(what: str) -> QuoteError:
    return QuoteError(f"Orca Whirlpool: {what}")


def amount_delta_a(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """Token A between two sqrt prices: L * (hi - lo) * 2^64 / (lo * hi); -1 above u64."""
    lo, hi = (p0, p1) if p0 < p1 else (p1, p0)
    numerator = (liquidity * (hi - lo)) << 64
    if numerator >> 256:
        raise _err("amount delta A overflows 256 bits")
    q, r = divmod(numerator, lo * hi)
    if round_up and r:
        q += 1
    return q if q <= U64_MAX else _EXCEEDS


def amount_delta_b(p0: int, p1: int, liquidity: int, round_up: bool) -> int:
    """Token B between two sqrt prices: L * (hi - lo) / 2^64; -1 above u64."""
    product = liquidity * (p1 - p0 if p1 > p0 else p0 - p1)
    q = product >> 64
    if round_up and product & Q64_MASK:
        q += 1
    return q if q <= U64_MAX else _EXCEEDS


def next_sqrt_price_from_a(price: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (input) or removing (output) ``amount`` of token A, rounded up."""
    if amount == 0:
        return price
    p = price * amount
    shifted = liquidity << 64
    denominator = shifted + p if add else shifted - p
    if denominator <= 0:
        raise _err("not enough liquidity: the output exceeds what the price range holds")
    q, r = divmod((liquidity * price) << 64, denominator)
    if r:
        q += 1
    if not MIN_SQRT_PRICE <= q <= MAX_SQRT_PRICE:
        raise _err("sqrt price out of bounds")
    return q


def next_sqrt_price_from_b(price: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (input, rounded down) or removing (output, rounded up) token B."""
    if amount == 0:
        return price
    if liquidity == 0:
        raise _err("not enough liquidity (zero liquidity)")
    q, r = divmod(amount << 64, liquidity)
    result = price + q if add else price - q - (1 if r else 0)
    if not MIN_SQRT_PRICE <= result <= MAX_SQRT_PRICE:
        raise _err("sqrt price out of bounds")
    return result


def apply_swap_fee(amount: int, fee_rate: int) -> int:
    """What is left to swap once the fee at ``fee_rate`` (millionths) is taken."""
    return amount * (FEE_RATE_DENOMINATOR - fee_rate) // FEE_RATE_DENOMINATOR


def reverse_apply_swap_fee(amount: int, fee_rate: int) -> int:
    """Smallest fee-inclusive amount that leaves ``amount`` once the fee is taken."""
    if amount == 0:
        return 0
    # ceil_div written out: this runs once per swap step
    result = -(-amount * FEE_RATE_DENOMINATOR // (FEE_RATE_DENOMINATOR - fee_rate))
    if result > U64_MAX:
        raise _err("amount exceeds u64")
    return result


def _fixed_delta(cur: int, target: int, liquidity: int, a_to_b: bool, exact_in: bool) -> int:
    if a_to_b == exact_in:
        return amount_delta_a(cur, target, liquidity, exact_in)
    return amount_delta_b(cur, target, liquidity, exact_in)


def _unfixed_delta(cur: int, nxt: int, liquidity: int, a_to_b: bool, exact_in: bool) -> int:
    if a_to_b == exact_in:
        return amount_delta_b(cur, nxt, liquidity, not exact_in)
    return amount_delta_a(cur, nxt, liquidity, not exact_in)


def swap_step(
    remaining: int,
    fee_rate: int,
    liquidity: int,
    cur: int,
    target: int,
    a_to_b: bool,
    exact_in: bool,
) -> tuple[int, int, int, int]:
    """One step toward ``target``: (amount_in, amount_out, next_sqrt_price, fee)."""
    initial = _fixed_delta(cur, target, liquidity, a_to_b, exact_in)
    calc = apply_swap_fee(remaining, fee_rate) if exact_in else remaining
    if initial != _EXCEEDS and initial <= calc:
        nxt = target
    elif a_to_b == exact_in:
        nxt = next_sqrt_price_from_a(cur, liquidity, calc, exact_in)
    else:
        nxt = next_sqrt_price_from_b(cur, liquidity, calc, exact_in)
    is_max = nxt == target
    unfixed = _unfixed_delta(cur, nxt, liquidity, a_to_b, exact_in)
    if unfixed == _EXCEEDS:
        raise _err("amount exceeds u64")
    if is_max and initial != _EXCEEDS:
        fixed = initial
    else:
        fixed = _fixed_delta(cur, nxt, liquidity, a_to_b, exact_in)
        if fixed == _EXCEEDS:
            raise _err("amount exceeds u64")
    if exact_in:
        amount_in, amount_out = fixed, unfixed
    else:
        amount_in, amount_out = unfixed, fixed
        if amount_out > remaining:
            amount_out = remaining
    if exact_in and not is_max:
        fee = remaining - amount_in
    else:
        fee = reverse_apply_swap_fee(amount_in, fee_rate) - amount_in
    return amount_in, amount_out, nxt, fee


@dataclass(frozen=True, slots=True)
class SwapResult:
    """Amounts of a swap before Token-2022 transfer fees."""

    amount_in: int
    amount_out: int
    trade_fee: int
    remaining: int
    end_sqrt_price: int
    ticks_crossed: int


def compute_swap(
    amount: int,
    sqrt_price: int,
    tick_current_index: int,
    liquidity: int,
    sequence: TickSequence,
    fee: StaticFee | AdaptiveFee,
    a_to_b: bool,
    exact_in: bool,
    sqrt_price_limit: int = 0,
) -> SwapResult:
    """Walk the ticks of ``sequence`` until ``amount`` is used up (or the limit is hit)."""
    limit = sqrt_price_limit or (MIN_SQRT_PRICE if a_to_b else MAX_SQRT_PRICE)
    if not MIN_SQRT_PRICE <= limit <= MAX_SQRT_PRICE:
        raise _err("sqrt price limit out of bounds")
    if (a_to_b and limit > sqrt_price) or (not a_to_b and limit < sqrt_price):
        raise _err("sqrt price limit on the wrong side of the price")
    if amount == 0:
        raise _err("zero tradable amount")
    remaining = amount
    calculated = 0
    trade_fee = 0
    cur = sqrt_price
    tick = tick_current_index
    tick_stale = False
    crossed = 0
    while remaining > 0 and cur != limit:
        if tick_stale:
            tick = tick_at_sqrt_price(cur)
            tick_stale = False
        if a_to_b:
            next_tick, net = sequence.prev_initialized(tick)
        else:
            next_tick, net = sequence.next_initialized(tick)
        tick_price = sqrt_price_at_tick(next_tick)
        if a_to_b:
            target = tick_price if tick_price > limit else limit
        else:
            target = tick_price if tick_price < limit else limit
        while True:
            fee.update_volatility_accumulator()
            rate = fee.total_fee_rate()
            bounded, skipped = fee.bounded_target(target, liquidity)
            amount_in, amount_out, nxt, step_fee = swap_step(
                remaining, rate, liquidity, cur, bounded, a_to_b, exact_in
            )
            trade_fee += step_fee
            if exact_in:
                remaining -= amount_in + step_fee
                if remaining < 0:
                    raise _err("arithmetic overflow")
                calculated += amount_out
            else:
                remaining -= amount_out
                calculated += amount_in + step_fee
            if calculated > U64_MAX:
                raise _err("arithmetic overflow: amount exceeds u64")
            if nxt == tick_price:
                if net is not None:
                    liquidity = liquidity - net if a_to_b else liquidity + net
                    if not 0 <= liquidity <= U128_MAX:
                        raise _err(f"liquidity out of range after crossing tick {next_tick}")
                    crossed += 1
                tick = next_tick - 1 if a_to_b else next_tick
                tick_stale = False
            elif nxt != cur:
                tick_stale = True
            cur = nxt
            if skipped:
                fee.advance_tick_group_after_skip(cur, tick_price, next_tick)
            else:
                fee.advance_tick_group()
            if remaining == 0 or cur == target:
                break
    if exact_in:
        return SwapResult(amount - remaining, calculated, trade_fee, remaining, cur, crossed)
    return SwapResult(calculated, amount - remaining, trade_fee, remaining, cur, crossed)


class ExactInPath:
    """The steps an exact-in swap takes on one state, worked out once and shared by its quotes.

    A step that reaches its target price is the same whatever input is left, as long as
    enough is (its input, output and fee are the liquidity's between two prices), and so
    is everything after it: the fee manager's state, the ticks crossed. Each step is
    recorded the first time a swap reaches it, with the least input that completes it;
    a quote adds completed steps and computes only its last one with :func:`swap_step`,
    as :func:`compute_swap` does. Whatever this cannot answer the same way (a zero
    amount, a last step that lands on its target after all) :meth:`swap` leaves to
    :func:`compute_swap` by returning None. Built for one pool state and direction
    (its tick sequence and a fresh fee manager): the pool drops it on every update.
    """

    __slots__ = ("_a_to_b", "_start", "_steps", "_walk")

    def __init__(
        self,
        sqrt_price: int,
        tick_current_index: int,
        liquidity: int,
        sequence: TickSequence,
        fee: StaticFee | AdaptiveFee,
        a_to_b: bool,
    ) -> None:
        self._a_to_b = a_to_b
        self._start = sqrt_price
        # ("step" | "fails", rate, liquidity, cur, target, least input that completes it,
        #  (in, out, fee) completed, ticks crossed after, price after, error when completed);
        # ("last", rate, liquidity, cur, target): never completed; ("error", error); ("limit",)
        self._steps: list[tuple[Any, ...]] = []
        self._walk = self._record(sqrt_price, tick_current_index, liquidity, sequence, fee)

    def _record(
        self,
        cur: int,
        tick: int,
        liquidity: int,
        sequence: TickSequence,
        fee: StaticFee | AdaptiveFee,
    ) -> Iterator[tuple[Any, ...]]:
        """compute_swap's loop with input never running out, one step at a time."""
        a_to_b = self._a_to_b
        limit = MIN_SQRT_PRICE if a_to_b else MAX_SQRT_PRICE
        tick_stale = False
        crossed = 0
        while cur != limit:
            if tick_stale:
                tick = tick_at_sqrt_price(cur)
                tick_stale = False
            try:
                if a_to_b:
                    next_tick, net = sequence.prev_initialized(tick)
                else:
                    next_tick, net = sequence.next_initialized(tick)
            except QuoteError as exc:
                yield ("error", _again(exc))
                return
            tick_price = sqrt_price_at_tick(next_tick)
            if a_to_b:
                target = tick_price if tick_price > limit else limit
            else:
                target = tick_price if tick_price < limit else limit
            while True:
                fee.update_volatility_accumulator()
                rate = fee.total_fee_rate()
                bounded, skipped = fee.bounded_target(target, liquidity)
                initial = _fixed_delta(cur, bounded, liquidity, a_to_b, True)
                if initial == _EXCEEDS:  # no input within u64 completes it
                    yield ("last", rate, liquidity, cur, bounded)
                    return
                least = -(-initial * FEE_RATE_DENOMINATOR // (FEE_RATE_DENOMINATOR - rate))
                while least > 0 and apply_swap_fee(least - 1, rate) >= initial:
                    least -= 1
                while apply_swap_fee(least, rate) < initial:
                    least += 1
                before = (rate, liquidity, cur, bounded, least)
                try:
                    amount_in, amount_out, nxt, step_fee = swap_step(
                        least, rate, liquidity, cur, bounded, a_to_b, True
                    )
                except QuoteError as exc:
                    yield ("fails", *before, None, crossed, cur, _again(exc))
                    return
                if nxt != bounded or amount_in + step_fee != least:
                    yield ("last", rate, liquidity, cur, bounded)  # not as expected: compute
                    return
                error = None
                if nxt == tick_price:
                    if net is not None:
                        liquidity = liquidity - net if a_to_b else liquidity + net
                        if not 0 <= liquidity <= U128_MAX:
                            error = _again(
                                _err(f"liquidity out of range after crossing tick {next_tick}")
                            )
                        crossed += 1
                    tick = next_tick - 1 if a_to_b else next_tick
                    tick_stale = False
                elif nxt != cur:
                    tick_stale = True
                yield ("step", *before, (amount_in, amount_out, step_fee), crossed, nxt, error)
                if error is not None:
                    return
                cur = nxt
                if skipped:
                    fee.advance_tick_group_after_skip(cur, tick_price, next_tick)
                else:
                    fee.advance_tick_group()
                if cur == target:
                    break
        yield ("limit",)

    def _step(self, i: int) -> tuple[Any, ...]:
        steps = self._steps
        while i >= len(steps):
            steps.append(next(self._walk))
        return steps[i]

    def swap(self, amount: int) -> SwapResult | None:
        """What ``compute_swap(amount, ..., exact_in=True)`` gives (None: ask it)."""
        if amount <= 0:
            return None
        a_to_b = self._a_to_b
        remaining = amount
        calculated = trade_fee = crossed = 0
        cur = self._start
        i = 0
        while remaining > 0:
            step = self._step(i)
            kind = step[0]
            if kind == "limit":
                break
            if kind == "error":
                raise step[1]()
            rate, liquidity, start, target = step[1:5]
            if kind == "fails" and remaining >= step[5]:
                raise step[9]()  # completing the step fails whatever the input
            if kind == "step" and remaining >= step[5]:
                amount_in, amount_out, step_fee = step[6]
                trade_fee += step_fee
                remaining -= amount_in + step_fee
                calculated += amount_out
                if calculated > U64_MAX:
                    raise _err("arithmetic overflow: amount exceeds u64")
                if step[9] is not None:
                    raise step[9]()
                crossed = step[7]
                cur = step[8]
                i += 1
                continue
            amount_in, amount_out, nxt, step_fee = swap_step(
                remaining, rate, liquidity, start, target, a_to_b, True
            )
            if nxt == target:
                return None  # the last step completes after all: the full loop goes on
            trade_fee += step_fee
            remaining -= amount_in + step_fee
            if remaining < 0:
                raise _err("arithmetic overflow")
            calculated += amount_out
            if calculated > U64_MAX:
                raise _err("arithmetic overflow: amount exceeds u64")
            cur = nxt
            break
        return SwapResult(amount - remaining, calculated, trade_fee, remaining, cur, crossed)


def _again(exc: QuoteError) -> Callable[[], QuoteError]:
    """A fresh copy of ``exc`` each time it is raised."""
    message = str(exc)
    return lambda: QuoteError(message)
