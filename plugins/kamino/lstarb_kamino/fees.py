"""The flash-loan fee exactly as klend computes it on repay.

klend keeps rates as U68F60 fixed point (``Fraction``: the integer ``bits``
stands for ``bits / 2**60``). ``ReserveFees::calculate_fees`` with
``FeeCalculation::Exclusive`` (klend 1.16, ``state/reserve.rs``) does:

1. rate == 0 or amount == 0: no fee.
2. ``fee_f = amount * rate``, exact here because ``amount`` is an integer
   (its bits are ``amount << 60``, the product's are ``amount * fee_sf``).
3. ``fee_f = max(fee_f, 1)``: at least one unit, raised not rounded.
4. ``fee_f >= amount``: BorrowTooSmall.
5. ``fee = fee_f.round()``: nearest, ties away from zero.
6. With a referrer (both optional accounts passed) and ``referral_fee_bps``
   > 0: ``referral = fee`` when bps is 10,000, else
   ``floor(fee_f * Fraction::from_bps(bps))`` where ``from_bps`` is
   ``bps / 10_000`` truncated to 60 fractional bits. The fixed crate's
   multiply is taken to truncate (it only matters when the product lies
   within 2**-60 of an integer).
7. The user pays ``amount + referral`` to the supply vault and
   ``fee - referral`` to the fee vault: ``amount + fee`` in total.

Plain ints only: this runs on the executor's hot path.
"""

from __future__ import annotations

from lstarb_sdk.amounts import BPS_DENOMINATOR
from lstarb_sdk.errors import FundingError

FRACTION_BITS = 60
_ONE = 1 << FRACTION_BITS
_HALF = 1 << (FRACTION_BITS - 1)


def flash_loan_fee_split(
    amount: int, fee_sf: int, referral_fee_bps: int = 0, has_referrer: bool = False
) -> tuple[int, int]:
    """``(protocol_fee, referral_fee)`` of a flash loan of ``amount``.

    Raises :class:`FundingError` where the program fails with BorrowTooSmall.
    """
    if fee_sf == 0 or amount == 0:
        return 0, 0
    fee_bits = amount * fee_sf
    if fee_bits < _ONE:
        fee_bits = _ONE
    if fee_bits >= amount << FRACTION_BITS:
        raise FundingError(
            f"flash loan of {amount} is too small: its fee would be all of it (BorrowTooSmall)"
        )
    fee = (fee_bits + _HALF) >> FRACTION_BITS
    if not has_referrer or referral_fee_bps == 0:
        return fee, 0
    if referral_fee_bps == BPS_DENOMINATOR:
        return 0, fee
    rate_bits = (referral_fee_bps << FRACTION_BITS) // BPS_DENOMINATOR
    referral = (fee_bits * rate_bits) >> (2 * FRACTION_BITS)
    return fee - referral, referral


def flash_loan_fee(amount: int, fee_sf: int) -> int:
    """The total fee of a flash loan of ``amount``: what the user pays on top of it.

    The referral split moves part of the fee to the referrer; the total does
    not change, so it is the protocol fee of a loan without one.
    """
    return flash_loan_fee_split(amount, fee_sf)[0]
