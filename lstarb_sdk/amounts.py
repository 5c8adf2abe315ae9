"""Integer bounds and rounding shared by every program's quote math.

On-chain amounts are u64; fee rates are fractions of fixed denominators
(basis points, or parts per million); and every program rounds what the
trader pays up and what the trader receives down. Python ints never
overflow, so the bounds must be checked where the program would fail, and
the rounding must be spelled out: :func:`ceil_div` is that spelling.
"""

from __future__ import annotations

from lstarb_sdk.errors import QuoteError

U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1
BPS_DENOMINATOR = 10_000
"""Basis points: 1 bps = 1 / 10_000."""
PPM_DENOMINATOR = 1_000_000
"""Parts per million: Raydium's and Orca's fee rates, and :class:`PoolSummary.fee_ppm`."""


def ceil_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded up (Rust's ``checked_ceil_div`` for u64/u128).

    Meant for a non-negative numerator and a positive denominator, as the
    programs use it; for those it equals ``(n + d - 1) // d``.
    """
    return -(-numerator // denominator)


def check_amount(amount: int, tag: str) -> None:
    """QuoteError unless ``amount`` is a u64 the program accepts as a swap amount (1..u64::MAX).

    ``tag`` names the pool in the message (``"raydium-cpmm pool <address>"``).
    """
    if not 0 < amount <= U64_MAX:
        raise QuoteError(f"{tag}: amount {amount} outside 1..u64::MAX")
