"""One swap step inside a tick range, as raydium_clmm's ``swap_math.rs`` (2026) computes it.

Python ints are exact, so the program's U256 intermediate products need no
emulation; what must match is every rounding direction and the u64 overflow
rule (a range whose token amount exceeds u64 is treated as unreachable and the
price is moved by the amount instead).
"""

from __future__ import annotations

from lstarb_sdk.amounts import PPM_DENOMINATOR, U64_MAX, ceil_div

FEE_RATE_DENOMINATOR = PPM_DENOMINATOR


class SwapMathError(ArithmeticError):
    """The program would fail this step (liquidity cannot cover an output)."""


def delta_amount_0(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices: ``L * 2^64 * (b - a) / (a * b)``, rounded as asked."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    num = (liquidity << 64) * (sqrt_b - sqrt_a)
    if round_up:
        return ceil_div(ceil_div(num, sqrt_b), sqrt_a)
    return num // sqrt_b // sqrt_a


def delta_amount_1(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two prices: ``L * (b - a) / 2^64``, rounded as asked."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    num = liquidity * (sqrt_b - sqrt_a)
    if round_up:
        return -(-num >> 64)  # ceil_div(num, 2**64), as a shift
    return num >> 64


def next_sqrt_price_from_input(
    sqrt_price: int, liquidity: int, amount: int, zero_for_one: bool
) -> int:
    """Price after ``amount`` of input enters: token0 rounds the price up, token1 down."""
    if amount == 0:
        return sqrt_price
    if zero_for_one:
        numerator = liquidity << 64
        denominator = numerator + amount * sqrt_price
        return ceil_div(numerator * sqrt_price, denominator)
    return sqrt_price + (amount << 64) // liquidity


def next_sqrt_price_from_output(
    sqrt_price: int, liquidity: int, amount: int, zero_for_one: bool
) -> int:
    """Price after ``amount`` of output leaves: token1 out rounds down, token0 out up."""
    if amount == 0:
        return sqrt_price
    if zero_for_one:
        quotient = ceil_div(amount << 64, liquidity)
        if sqrt_price <= quotient:
            raise SwapMathError("liquidity cannot cover the token1 output")
        return sqrt_price - quotient
    numerator = liquidity << 64
    product = amount * sqrt_price
    if numerator <= product:
        raise SwapMathError("liquidity cannot cover the token0 output")
    return ceil_div(numerator * sqrt_price, numerator - product)


def compute_swap_step(
    sqrt_current: int,
    sqrt_target: int,
    liquidity: int,
    amount_remaining: int,
    fee_rate: int,
    is_base_input: bool,
    zero_for_one: bool,
    fee_on_input: bool,
) -> tuple[int, int, int, int]:
    """``(sqrt_price_next, amount_in, amount_out, fee_amount)`` of one step.

    ``amount_in`` excludes the fee when the fee is taken from the input;
    ``amount_out`` is net of the fee when it is taken from the output.
    """
    denom = FEE_RATE_DENOMINATOR
    amount_in = 0
    amount_out = 0
    if is_base_input:
        if fee_on_input:
            for_price = amount_remaining * (denom - fee_rate) // denom
        else:
            for_price = amount_remaining
        if zero_for_one:
            in_range = delta_amount_0(sqrt_target, sqrt_current, liquidity, True)
        else:
            in_range = delta_amount_1(sqrt_current, sqrt_target, liquidity, True)
        if in_range <= U64_MAX:
            amount_in = in_range
            if for_price >= in_range:
                sqrt_next = sqrt_target
            else:
                sqrt_next = next_sqrt_price_from_input(
                    sqrt_current, liquidity, for_price, zero_for_one
                )
        else:
            sqrt_next = next_sqrt_price_from_input(sqrt_current, liquidity, for_price, zero_for_one)
    else:
        if fee_on_input:
            for_price = amount_remaining
        else:
            for_price = ceil_div(amount_remaining * denom, denom - fee_rate)
        if zero_for_one:
            out_range = delta_amount_1(sqrt_target, sqrt_current, liquidity, False)
        else:
            out_range = delta_amount_0(sqrt_current, sqrt_target, liquidity, False)
        if out_range <= U64_MAX:
            amount_out = out_range
            if for_price >= out_range:
                sqrt_next = sqrt_target
            else:
                sqrt_next = next_sqrt_price_from_output(
                    sqrt_current, liquidity, for_price, zero_for_one
                )
        else:
            sqrt_next = next_sqrt_price_from_output(
                sqrt_current, liquidity, for_price, zero_for_one
            )

    reached = sqrt_next == sqrt_target
    if zero_for_one:
        if not (reached and is_base_input):
            amount_in = delta_amount_0(sqrt_next, sqrt_current, liquidity, True)
        if not (reached and not is_base_input):
            amount_out = delta_amount_1(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not (reached and is_base_input):
            amount_in = delta_amount_1(sqrt_current, sqrt_next, liquidity, True)
        if not (reached and not is_base_input):
            amount_out = delta_amount_0(sqrt_current, sqrt_next, liquidity, False)
    if amount_in > U64_MAX or amount_out > U64_MAX:
        raise SwapMathError("step amount exceeds u64")

    if is_base_input:
        if fee_on_input:
            if not reached:
                fee = amount_remaining - amount_in
            else:
                fee = ceil_div(amount_in * fee_rate, denom - fee_rate)
        else:
            fee = ceil_div(amount_out * fee_rate, denom)
            amount_out -= fee
            if not reached:
                amount_in = amount_remaining
    else:
        if fee_on_input:
            if amount_out > amount_remaining:
                amount_out = amount_remaining
            fee = ceil_div(amount_in * fee_rate, denom - fee_rate)
        else:
            fee = ceil_div(amount_out * fee_rate, denom)
            net = amount_out - fee
            if net > amount_remaining:
                fee = amount_out - amount_remaining
                amount_out = amount_remaining
            else:
                amount_out = net
    return sqrt_next, amount_in, amount_out, fee
