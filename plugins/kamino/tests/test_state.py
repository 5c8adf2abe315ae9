"""The fixed-offset decoders agree with anchorpy on the IDL, field by field.

Agreement on a fixture could be luck (two fields holding the same value), so
each offset is also proven by writing a distinctive value there and seeing
anchorpy report it in the field of that name.
"""

from __future__ import annotations

import pytest
from kamino_testlib import (
    JITO,
    MAIN,
    accounts_coder,
    market_account,
    patched,
    reserve,
    with_data,
)
from solders.pubkey import Pubkey

from lstarb_kamino.state import LendingMarket, Reserve
from lstarb_sdk.errors import DecodeError

RESERVE_FIELDS = {
    # our field: (offset, width or "key", anchorpy path)
    "version": (8, 8, "version"),
    "last_update_slot": (16, 8, "last_update.slot"),
    "lending_market": (32, "key", "lending_market"),
    "liquidity_mint": (128, "key", "liquidity.mint_pubkey"),
    "supply_vault": (160, "key", "liquidity.supply_vault"),
    "fee_vault": (192, "key", "liquidity.fee_vault"),
    "available_amount": (224, 8, "liquidity.available_amount"),
    "mint_decimals": (272, 8, "liquidity.mint_decimals"),
    "token_program": (408, "key", "liquidity.token_program"),
    "status": (4856, 1, "config.status"),
    "flash_loan_fee_sf": (4904, 8, "config.fees.flash_loan_fee_sf"),
}


def _get(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("fixture", [MAIN, JITO])
def test_reserve_matches_anchorpy(fixture: str) -> None:
    _, acc = reserve(fixture)
    ours = Reserve.decode(bytes(acc.data), acc.owner)
    theirs = accounts_coder().decode(bytes(acc.data))
    assert type(theirs).__name__ == "Reserve"
    for field, (_, _, path) in RESERVE_FIELDS.items():
        assert getattr(ours, field) == _get(theirs, path), field


@pytest.mark.parametrize("field", list(RESERVE_FIELDS))
def test_reserve_offsets_are_the_idl_fields(field: str) -> None:
    offset, width, path = RESERVE_FIELDS[field]
    _, acc = reserve(MAIN)
    if width == "key":
        value: object = Pubkey.new_unique()
        raw = bytes(value)
    else:
        value = 0x5A if width == 1 else 0x0102030405060708 % (1 << (8 * width))
        raw = int(value).to_bytes(width, "little")
    acc = patched(acc, offset, raw)
    assert _get(accounts_coder().decode(bytes(acc.data)), path) == value
    assert getattr(Reserve.decode(bytes(acc.data), acc.owner), field) == value


def test_reserve_emergency_mode_is_the_newer_idl_field() -> None:
    """klend 1.22 names config byte 8 ``emergency_mode`` (a reserved byte in IDL 1.13)."""
    _, acc = reserve(MAIN)
    assert Reserve.decode(bytes(acc.data), acc.owner).emergency_mode == 0
    acc = patched(acc, 4864, b"\x01")
    assert accounts_coder("klend-1.22.json").decode(bytes(acc.data)).config.emergency_mode == 1
    assert Reserve.decode(bytes(acc.data), acc.owner).emergency_mode == 1


def test_lending_market_matches_anchorpy() -> None:
    acc = market_account(bump=248, referral_fee_bps=517, emergency_mode=1, version=1)
    ours = LendingMarket.decode(bytes(acc.data), acc.owner)
    theirs = accounts_coder().decode(bytes(acc.data))
    assert type(theirs).__name__ == "LendingMarket"
    assert (
        (ours.version, ours.bump_seed, ours.referral_fee_bps, ours.emergency_mode)
        == (
            theirs.version,
            theirs.bump_seed,
            theirs.referral_fee_bps,
            theirs.emergency_mode,
        )
        == (1, 248, 517, 1)
    )
    # the neighbours of emergency_mode stay untouched: the offset is exactly that byte
    assert theirs.autodeleverage_enabled == 0 and theirs.borrow_disabled == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: with_data(a, bytes(a.data), owner=Pubkey.new_unique()), "owner"),
        (lambda a: with_data(a, bytes(a.data)[:-1]), "expected 8624 bytes"),
        (lambda a: patched(a, 0, b"\x00" * 8), "discriminator"),
    ],
)
def test_reserve_decode_refuses_bad_bytes(mutate: object, message: str) -> None:
    _, acc = reserve(MAIN)
    bad = mutate(acc)  # type: ignore[operator]
    with pytest.raises(DecodeError, match=message):
        Reserve.decode(bytes(bad.data), bad.owner)


def test_market_decode_refuses_a_reserve() -> None:
    _, acc = reserve(MAIN)
    with pytest.raises(DecodeError, match="LendingMarket: expected 4664 bytes"):
        LendingMarket.decode(bytes(acc.data), acc.owner)
