"""Reserve and LendingMarket accounts of Kamino Lending, read at fixed offsets.

Only the fields a flash loan depends on are read. The offsets are the
zero-copy ``#[repr(C)]`` layout of klend 1.16 (IDL 1.13); the tests prove each
one against anchorpy decoding the IDL on the real reserve dumps.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_kamino.constants import KLEND_PROGRAM_ID
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import pubkey_at, u16, u64

RESERVE_DISCRIMINATOR = bytes.fromhex("2bf2ccca1af73b7f")
RESERVE_LEN = 8624
LENDING_MARKET_DISCRIMINATOR = bytes.fromhex("f6723262489d1c78")
LENDING_MARKET_LEN = 4664

#: ReserveStatus: 0 Active, 1 Obsolete, 2 Hidden. Only Obsolete is refused by flash loans.
STATUS_OBSOLETE = 1
#: ``config.emergency_mode`` (klend >= 1.22; a reserved byte before): config byte 8.
RESERVE_EMERGENCY_MODE_OFFSET = 4864


def _check(data: bytes, owner: Pubkey, disc: bytes, size: int, kind: str) -> None:
    if owner != KLEND_PROGRAM_ID:
        raise DecodeError(f"{kind}: owner is {owner}, not the klend program {KLEND_PROGRAM_ID}")
    if len(data) != size:
        raise DecodeError(f"{kind}: expected {size} bytes, got {len(data)}")
    if data[:8] != disc:
        raise DecodeError(f"{kind}: discriminator is {data[:8].hex()}, not {disc.hex()}")


@dataclass(frozen=True, slots=True)
class Reserve:
    """What a flash loan needs from a klend Reserve."""

    version: int
    last_update_slot: int
    lending_market: Pubkey
    liquidity_mint: Pubkey
    supply_vault: Pubkey
    fee_vault: Pubkey
    available_amount: int
    mint_decimals: int
    token_program: Pubkey
    status: int
    emergency_mode: int
    flash_loan_fee_sf: int

    @classmethod
    def decode(cls, data: bytes, owner: Pubkey = KLEND_PROGRAM_ID) -> Reserve:
        """Raises :class:`DecodeError` for a wrong owner, size or discriminator."""
        _check(data, owner, RESERVE_DISCRIMINATOR, RESERVE_LEN, "klend Reserve")
        return cls(
            version=u64(data, 8),
            last_update_slot=u64(data, 16),
            lending_market=pubkey_at(data, 32),
            liquidity_mint=pubkey_at(data, 128),
            supply_vault=pubkey_at(data, 160),
            fee_vault=pubkey_at(data, 192),
            available_amount=u64(data, 224),
            mint_decimals=u64(data, 272),
            token_program=pubkey_at(data, 408),
            status=data[4856],
            emergency_mode=data[RESERVE_EMERGENCY_MODE_OFFSET],
            flash_loan_fee_sf=u64(data, 4904),
        )


@dataclass(frozen=True, slots=True)
class LendingMarket:
    """What a flash loan needs from a klend LendingMarket."""

    version: int
    bump_seed: int
    referral_fee_bps: int
    emergency_mode: int

    @classmethod
    def decode(cls, data: bytes, owner: Pubkey = KLEND_PROGRAM_ID) -> LendingMarket:
        """Raises :class:`DecodeError` for a wrong owner, size or discriminator."""
        _check(data, owner, LENDING_MARKET_DISCRIMINATOR, LENDING_MARKET_LEN, "klend LendingMarket")
        return cls(
            version=u64(data, 8),
            bump_seed=u64(data, 16),
            referral_fee_bps=u16(data, 120),
            emergency_mode=data[122],
        )
