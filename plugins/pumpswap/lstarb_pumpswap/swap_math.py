"""PumpSwap's quote math, line for line the @pump-fun/pump-swap-sdk 1.20.0 functions.

``buy_quote_input``, ``buy_base_input``, ``sell_base_input`` and
``sell_quote_input`` are the SDK's ``buyQuoteInput``, ``buyBaseInput``,
``sellBaseInput`` and ``sellQuoteInput`` (src/sdk/buy.ts, sell.ts), and
``fee_rates`` its ``computeFeesBps`` (src/sdk/fees.ts). Every fee is
``ceil(amount * bps / 10_000)``; reserves are the vault balances, the quote side
plus the pool's ``virtual_quote_reserves``. Where the SDK throws, these raise
:class:`SwapMathError`; where it returns a number the program would refuse
(zero or negative output), the adapter raises instead of passing it on.
"""

from __future__ import annotations

from bisect import bisect_right

from solders.pubkey import Pubkey

from lstarb_pumpswap.constants import (
    MAYHEM_TOTAL_TOKEN_SUPPLY,
    SOL_LIKE_QUOTE_MINTS,
    STABLE_QUOTE_MINTS,
)
from lstarb_pumpswap.state import FeeConfig, Fees, FeeTier, GlobalConfig
from lstarb_sdk.amounts import BPS_DENOMINATOR

BPS = BPS_DENOMINATOR


class SwapMathError(ValueError):
    """The SDK refuses these inputs (the message is the SDK's reason)."""


def ceil_div(a: int, b: int) -> int:
    """The SDK's ``ceilDiv`` ((a + b - 1) / b, truncating like BN)."""
    if b == 0:
        raise SwapMathError("Cannot divide by zero.")
    n = a + b - 1
    if n >= 0 and b > 0:  # the quote path: plain floor division, no sign juggling
        return n // b
    return _trunc_div(n, b)


def _trunc_div(a: int, b: int) -> int:
    """BN.js division: truncates toward zero (Python's // floors)."""
    if a >= 0 and b > 0:
        return a // b
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def fee(amount: int, bps: int) -> int:
    """``ceil(amount * bps / 10_000)``."""
    if amount >= 0:
        return (amount * bps + BPS - 1) // BPS
    return ceil_div(amount * bps, BPS)


def market_cap(supply: int, base_reserve: int, quote_reserve: int, is_mayhem_mode: bool) -> int:
    """pump-amm ``Pool::market_cap``: quote value of the supply at the pool price."""
    if base_reserve == 0:
        raise SwapMathError("Division by zero: pool base token reserves cannot be zero")
    circulating = MAYHEM_TOTAL_TOKEN_SUPPLY if is_mayhem_mode else supply
    return _trunc_div(quote_reserve * circulating, base_reserve)


def fee_tier(tiers: tuple[FeeTier, ...], cap: int, thresholds: list[int] | None = None) -> Fees:
    """pump-fees ``calculate_fee_tier``: the last tier whose threshold is at most ``cap``.

    Below the first threshold the first tier applies. Thresholds are
    ascending on chain; for an unsorted list the SDK's reverse scan is used.
    """
    if not tiers:
        raise SwapMathError("Fee tiers cannot be empty.")
    first = tiers[0]
    if cap < first.market_cap_lamports_threshold:
        return first.fees
    if thresholds is None:
        values = [t.market_cap_lamports_threshold for t in tiers]
        thresholds = values if values == sorted(values) else None
    if thresholds is not None:
        return tiers[bisect_right(thresholds, cap) - 1].fees
    for tier in reversed(tiers):
        if cap >= tier.market_cap_lamports_threshold:
            return tier.fees
    return first.fees


def fee_rates(
    global_config: GlobalConfig,
    fee_config: FeeConfig | None,
    *,
    is_pump_pool: bool,
    quote_mint: Pubkey,
    supply: int,
    base_reserve: int,
    effective_quote_reserve: int,
    is_mayhem_mode: bool,
    pool_creator_fee_bps: int,
) -> Fees:
    """The SDK's ``computeFeesBps``: the rates in force for the next trade.

    They depend on the pre-trade reserves only (never on the trade size), so
    the adapter computes them once per state update.
    """
    if fee_config is None:
        return Fees(
            global_config.lp_fee_basis_points,
            global_config.protocol_fee_basis_points,
            global_config.coin_creator_fee_basis_points,
        )
    if not is_pump_pool:
        fees = fee_config.flat_fees
    elif quote_mint in SOL_LIKE_QUOTE_MINTS:
        cap = market_cap(supply, base_reserve, effective_quote_reserve, is_mayhem_mode)
        fees = fee_tier(fee_config.fee_tiers, cap, fee_config.thresholds(False))
    elif quote_mint in STABLE_QUOTE_MINTS:
        cap = market_cap(supply, base_reserve, effective_quote_reserve, is_mayhem_mode)
        stable = bool(fee_config.stable_fee_tiers)
        tiers = fee_config.stable_fee_tiers if stable else fee_config.fee_tiers
        fees = fee_tier(tiers, cap, fee_config.thresholds(stable))
    elif fee_config.exotic_flat_fees.is_zero:
        fees = fee_config.flat_fees
    else:
        fees = fee_config.exotic_flat_fees
    if global_config.creator_fee_configurable and pool_creator_fee_bps > 0:
        return Fees(fees.lp_fee_bps, fees.protocol_fee_bps, pool_creator_fee_bps)
    return fees


def _check_reserves(base_reserve: int, quote_reserve: int) -> None:
    if base_reserve == 0 or quote_reserve == 0:
        raise SwapMathError("Invalid input: 'baseReserve' or 'quoteReserve' cannot be zero.")


def buy_base_input(
    base_out: int, base_reserve: int, quote_reserve: int, virtual: int, rates: Fees, creator: bool
) -> tuple[int, int]:
    """``buyBaseInput``: (quote paid with fees, fees) for exactly ``base_out``."""
    _check_reserves(base_reserve, quote_reserve)
    if base_out > base_reserve:
        raise SwapMathError("Cannot buy more base tokens than the pool reserves.")
    denominator = base_reserve - base_out
    if denominator == 0:
        raise SwapMathError("Pool would be depleted; denominator is zero.")
    quote_in = ceil_div((quote_reserve + virtual) * base_out, denominator)
    fees = fee(quote_in, rates.lp_fee_bps) + fee(quote_in, rates.protocol_fee_bps)
    if creator:
        fees += fee(quote_in, rates.creator_fee_bps)
    return quote_in + fees, fees


def buy_quote_input(
    quote_in: int, base_reserve: int, quote_reserve: int, virtual: int, rates: Fees, creator: bool
) -> tuple[int, int, int]:
    """``buyQuoteInput``: (base out, quote swapped before fees, fees) for a quote budget.

    The program's ``buy_exact_quote_in`` prices one unit less than it charges
    (``effective - 1``), which the SDK mirrors.
    """
    _check_reserves(base_reserve, quote_reserve)
    creator_bps = rates.creator_fee_bps if creator else 0
    total_bps = rates.lp_fee_bps + rates.protocol_fee_bps + creator_bps
    effective = _trunc_div(quote_in * BPS, BPS + total_bps)
    fees = fee(effective, rates.lp_fee_bps) + fee(effective, rates.protocol_fee_bps)
    if creator:
        fees += fee(effective, rates.creator_fee_bps)
    if effective + fees > quote_in:
        effective -= effective + fees - quote_in
    priced = effective - 1
    denominator = quote_reserve + virtual + priced
    if denominator == 0:
        raise SwapMathError("Pool would be depleted; denominator is zero.")
    return _trunc_div(base_reserve * priced, denominator), effective, fees


def sell_base_input(
    base_in: int, base_reserve: int, quote_reserve: int, virtual: int, rates: Fees, creator: bool
) -> tuple[int, int]:
    """``sellBaseInput``: (quote out after fees, fees) for exactly ``base_in``."""
    _check_reserves(base_reserve, quote_reserve)
    gross = _trunc_div((quote_reserve + virtual) * base_in, base_reserve + base_in)
    lp = fee(gross, rates.lp_fee_bps)
    fees = lp + fee(gross, rates.protocol_fee_bps)
    if creator:
        fees += fee(gross, rates.creator_fee_bps)
    if quote_reserve < gross - lp:
        raise SwapMathError("Insufficient real quote reserves to cover the sell output.")
    out = gross - fees
    if out < 0:
        raise SwapMathError("Fees exceed total output; final quote is negative.")
    return out, fees


def sell_quote_input(
    quote_out: int, base_reserve: int, quote_reserve: int, virtual: int, rates: Fees, creator: bool
) -> tuple[int, int]:
    """``sellQuoteInput``: (base in, quote before fees) for ``quote_out`` after fees."""
    _check_reserves(base_reserve, quote_reserve)
    if quote_out > quote_reserve:
        raise SwapMathError("Cannot receive more quote tokens than the pool quote reserves.")
    effective_reserve = quote_reserve + virtual
    total_bps = (
        rates.lp_fee_bps + rates.protocol_fee_bps + (rates.creator_fee_bps if creator else 0)
    )
    raw = ceil_div(quote_out * BPS, BPS - total_bps)
    if raw >= effective_reserve:
        raise SwapMathError("Invalid input: Desired quote amount exceeds available reserve.")
    return ceil_div(base_reserve * raw, effective_reserve - raw), raw
