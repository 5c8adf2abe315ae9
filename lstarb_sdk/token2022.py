"""Token-2022 transfer fees, as the token program computes them.

A pool whose mint has the TransferFeeConfig extension receives less than the
trader sends, and the trader receives less than the pool sends. Quotes must
take both off exactly, so the fee math here follows spl-token-2022's
``TransferFee::calculate_fee`` and ``calculate_pre_fee_amount`` to the unit.
DEX programs that invert the fee their own way keep that variant in their
plugin; these are the token program's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.solana import MINT_LEN, TOKEN_ACCOUNT_LEN

ONE_IN_BASIS_POINTS = 10_000
EXTENSION_TRANSFER_FEE_CONFIG = 1
ACCOUNT_TYPE_MINT = 1
_TRANSFER_FEE_CONFIG_LEN = 108


@dataclass(frozen=True, slots=True)
class TransferFee:
    """One epoch's fee: basis points of the amount, capped at ``maximum_fee``."""

    epoch: int
    maximum_fee: int
    basis_points: int

    def fee(self, amount: int) -> int:
        """Fee withheld when ``amount`` is sent (rounded up, capped)."""
        if self.basis_points == 0 or amount == 0:
            return 0
        raw = -(-amount * self.basis_points // ONE_IN_BASIS_POINTS)
        return min(raw, self.maximum_fee)

    def pre_fee_amount(self, post_fee_amount: int) -> int:
        """Smallest amount to send so that ``post_fee_amount`` arrives."""
        bps = self.basis_points
        if bps == 0:
            return post_fee_amount
        if post_fee_amount == 0:
            return 0
        if bps == ONE_IN_BASIS_POINTS:
            return post_fee_amount + self.maximum_fee
        raw = -(-post_fee_amount * ONE_IN_BASIS_POINTS // (ONE_IN_BASIS_POINTS - bps))
        if raw - post_fee_amount >= self.maximum_fee:
            return post_fee_amount + self.maximum_fee
        return raw

    def inverse_fee(self, post_fee_amount: int) -> int:
        """Fee charged on the amount :meth:`pre_fee_amount` returns."""
        return self.fee(self.pre_fee_amount(post_fee_amount))


@dataclass(frozen=True, slots=True)
class TransferFeeConfig:
    """The TransferFeeConfig extension of a Token-2022 mint."""

    withheld_amount: int
    older: TransferFee
    newer: TransferFee

    def for_epoch(self, epoch: int) -> TransferFee:
        """The fee in force at ``epoch`` (the newer one from its epoch on)."""
        return self.newer if epoch >= self.newer.epoch else self.older


def _fee_at(data: bytes, offset: int) -> TransferFee:
    return TransferFee(
        int.from_bytes(data[offset : offset + 8], "little"),
        int.from_bytes(data[offset + 8 : offset + 16], "little"),
        int.from_bytes(data[offset + 16 : offset + 18], "little"),
    )


def mint_extensions(data: bytes, *, name: str = "mint") -> dict[int, bytes]:
    """The TLV extensions of a Token-2022 mint, by extension type number."""
    if len(data) <= MINT_LEN:
        return {}
    if len(data) < TOKEN_ACCOUNT_LEN + 1:
        raise DecodeError(f"{name}: {len(data)} bytes is neither a plain mint nor a Token-2022 one")
    if data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_MINT:
        raise DecodeError(f"{name}: account type byte is {data[TOKEN_ACCOUNT_LEN]}, not a mint")
    out: dict[int, bytes] = {}
    pos = TOKEN_ACCOUNT_LEN + 1
    end = len(data)
    while pos + 4 <= end:
        ext_type = int.from_bytes(data[pos : pos + 2], "little")
        length = int.from_bytes(data[pos + 2 : pos + 4], "little")
        if ext_type == 0:
            break
        if pos + 4 + length > end:
            raise DecodeError(f"{name}: extension {ext_type} runs past the end of the account")
        out[ext_type] = data[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return out


def transfer_fee_config(data: bytes, *, name: str = "mint") -> TransferFeeConfig | None:
    """The mint's transfer fee configuration, or None when it has none."""
    raw = mint_extensions(data, name=name).get(EXTENSION_TRANSFER_FEE_CONFIG)
    if raw is None:
        return None
    if len(raw) != _TRANSFER_FEE_CONFIG_LEN:
        raise DecodeError(
            f"{name}: TransferFeeConfig is {len(raw)} bytes, expected {_TRANSFER_FEE_CONFIG_LEN}"
        )
    return TransferFeeConfig(
        withheld_amount=int.from_bytes(raw[64:72], "little"),
        older=_fee_at(raw, 72),
        newer=_fee_at(raw, 90),
    )
