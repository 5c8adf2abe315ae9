"""Readers, identity checks and integer helpers every decoder shares."""

from __future__ import annotations

import struct
from fractions import Fraction
from math import ceil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import layout
from lstarb_sdk.amounts import U64_MAX, ceil_div, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.pool import PoolAdapter, account_unavailable
from lstarb_sdk.solana import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, TOKEN_PROGRAMS
from lstarb_sdk.testing import load_account, with_data

FIXTURES = Path(__file__).parent / "fixtures"
_, RESERVE = load_account(FIXTURES / "usdc_reserve.json")


@given(st.binary(min_size=48, max_size=48), st.integers(0, 16))
def test_readers_agree_with_struct(data: bytes, offset: int) -> None:
    assert layout.u8(data, offset) == data[offset]
    assert layout.u16(data, offset) == struct.unpack_from("<H", data, offset)[0]
    assert layout.u32(data, offset) == struct.unpack_from("<I", data, offset)[0]
    assert layout.u64(data, offset) == struct.unpack_from("<Q", data, offset)[0]
    assert layout.i32(data, offset) == struct.unpack_from("<i", data, offset)[0]
    assert layout.i64(data, offset) == struct.unpack_from("<q", data, offset)[0]
    lo, hi = struct.unpack_from("<QQ", data, offset)
    assert layout.u128(data, offset) == lo | hi << 64
    assert layout.i128(data, offset) == int.from_bytes(
        data[offset : offset + 16], "little", signed=True
    )
    assert layout.pubkey_at(data, offset) == Pubkey.from_bytes(data[offset : offset + 32])


def test_check_data_names_what_failed() -> None:
    disc = bytes(range(8))
    layout.check_data(disc + bytes(8), "thing", size=16, discriminator=disc)
    with pytest.raises(DecodeError, match=r"thing: expected 16 bytes, got 15 \(truncated\)"):
        layout.check_data(disc + bytes(7), "thing", size=16)
    with pytest.raises(DecodeError, match=r"thing: truncated, 3 bytes \(at least 8"):
        layout.check_data(b"abc", "thing", min_size=8)
    with pytest.raises(DecodeError, match="at most 4"):
        layout.check_data(bytes(5), "thing", max_size=4)
    with pytest.raises(DecodeError, match="wrong discriminator 0000000000000000, expected 0001"):
        layout.check_data(bytes(16), "thing", discriminator=disc)
    with pytest.raises(DecodeError, match="cannot hold a discriminator"):
        layout.check_data(b"\x00", "thing", discriminator=disc)


def test_account_data_checks_the_owner_first() -> None:
    assert layout.account_data(RESERVE, "vault", owner=TOKEN_PROGRAMS, size=165) == RESERVE.data
    with pytest.raises(
        DecodeError, match=f"vault: owner {TOKEN_PROGRAM_ID} is not {TOKEN_2022_PROGRAM_ID}"
    ):
        layout.account_data(RESERVE, "vault", owner=TOKEN_2022_PROGRAM_ID)
    stranger = with_data(RESERVE, RESERVE.data, Pubkey.default())
    with pytest.raises(DecodeError, match=r"is not Token.* or Token"):
        layout.account_data(stranger, "vault", owner=TOKEN_PROGRAMS)


@given(st.integers(0, 2**130), st.integers(1, 2**70))
def test_ceil_div_rounds_up(numerator: int, denominator: int) -> None:
    assert ceil_div(numerator, denominator) == ceil(Fraction(numerator, denominator))


def test_check_amount_is_the_u64_range() -> None:
    check_amount(1, "pool")
    check_amount(U64_MAX, "pool")
    for bad in (0, -1, U64_MAX + 1):
        with pytest.raises(QuoteError, match=f"pool: amount {bad} outside 1..u64::MAX"):
            check_amount(bad, "pool")


class _Sized(PoolAdapter):
    """Only the class attributes matter here; the abstract methods are never called."""

    program_id = TOKEN_PROGRAM_ID
    dex = "sized"
    account_size = 165
    account_discriminator = bytes(RESERVE.data)[:4]


def test_default_matches_uses_size_and_discriminator() -> None:
    assert _Sized.matches(RESERVE)
    assert not _Sized.matches(with_data(RESERVE, bytes(RESERVE.data)[:164]))
    assert not _Sized.matches(with_data(RESERVE, b"\xff" + bytes(RESERVE.data)[1:]))
    assert not _Sized.matches(with_data(RESERVE, RESERVE.data, TOKEN_2022_PROGRAM_ID))
    key = Pubkey.default()
    assert _Sized.pool_account_data(key, RESERVE) == RESERVE.data
    with pytest.raises(DecodeError, match=f"sized pool {key}: expected 165 bytes, got 164"):
        _Sized.pool_account_data(key, with_data(RESERVE, bytes(RESERVE.data)[:164]))
    assert not _Sized.matches(Account(0, b"", TOKEN_PROGRAM_ID))


def test_account_unavailable_says_whether_the_chain_has_it() -> None:
    key = Pubkey.default()
    assert (
        str(account_unavailable("pool P", "vault", key, ())) == f"pool P: vault {key} is not loaded"
    )
    absent = account_unavailable("pool P", "vault", key, {key})
    assert str(absent) == f"pool P: vault {key} does not exist on chain"
