"""Owners, sizes and program invariants of every account the adapter reads are checked
at decode (issue 10 items 6 and 7): a Token-2022 mint cut short must not make its
transfer fee vanish from quotes; a Clock or mint from the wrong owner is refused."""

from __future__ import annotations

import struct

import pytest
from meteora_testlib import SYSVAR_OWNER, accounts, clock_account, load_pool, pair_address
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

T22 = "ttfz-sol-bs10-token2022"


def _with(account: Account, *, data: bytes | None = None, owner: Pubkey | None = None) -> Account:
    return Account(
        account.lamports,
        bytes(account.data) if data is None else data,
        account.owner if owner is None else owner,
        account.executable,
        account.rent_epoch,
    )


@pytest.mark.parametrize("size", [0, 1, 44, 81, 82, 83, 165, 166, 200])
def test_truncated_token2022_mint_is_a_decode_error(size: int) -> None:
    """Before: every one of these was accepted and the 50 bps transfer fee vanished."""
    pool = load_pool(T22)
    mint_x = pool.mints[0]
    real = accounts(T22)[mint_x]
    assert len(real.data) > 200
    before = pool.quote(10**9, mint_x)
    with pytest.raises(DecodeError, match=str(mint_x)):
        pool.update({mint_x: _with(real, data=bytes(real.data)[:size])})
    assert pool.quote(10**9, mint_x) == before


def test_token2022_mint_cannot_lose_its_transfer_fee() -> None:
    """82 bytes is a valid Token-2022 mint without extensions, but a mint never drops an
    extension on chain: once seen with a transfer fee, a mint without one is refused."""
    pool = load_pool(T22)
    mint_x = pool.mints[0]
    real = accounts(T22)[mint_x]
    fresh = DlmmPool.from_account(pair_address(T22), accounts(T22)[pair_address(T22)])
    fresh.update({mint_x: _with(real, data=bytes(real.data)[:82])})  # first sight: plain
    with pytest.raises(DecodeError, match="never loses its extensions"):
        pool.update({mint_x: _with(real, data=bytes(real.data)[:82])})


def test_mint_from_the_wrong_token_program_is_a_decode_error() -> None:
    """Before: a mint owned by anyone was read. The pair's flag names its token program."""
    pool = load_pool(T22)
    mint_x = pool.mints[0]
    real = accounts(T22)[mint_x]
    with pytest.raises(DecodeError, match=rf"mint {mint_x}: owner"):
        pool.update({mint_x: _with(real, owner=SYSVAR_OWNER)})
    # the SPL Token program's mints are 82 bytes: these bytes cannot be one of its mints
    with pytest.raises(DecodeError, match=rf"mint {mint_x}: a Token program account"):
        pool.update({mint_x: _with(real, owner=TOKEN_PROGRAM_ID)})
    plain = accounts("sol-usdc-bs4")[
        Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    ]
    with pytest.raises(DecodeError, match=rf"mint {mint_x}: owner .* the pair says"):
        fresh = DlmmPool.from_account(pair_address(T22), accounts(T22)[pair_address(T22)])
        fresh.update({mint_x: plain})  # a valid SPL Token mint where the pair says Token-2022


def test_uninitialized_mint_is_a_decode_error() -> None:
    pool = load_pool(T22)
    mint_x = pool.mints[0]
    data = bytearray(accounts(T22)[mint_x].data)
    data[45] = 0
    with pytest.raises(DecodeError, match="initialized"):
        pool.update({mint_x: _with(accounts(T22)[mint_x], data=bytes(data))})


def test_clock_from_the_wrong_owner_is_a_decode_error() -> None:
    """Before: a Clock from any owner moved the variable fee."""
    pool = load_pool("sol-usdc-bs4")
    good = clock_account(1_783_355_400)
    with pytest.raises(DecodeError, match=r"Clock.*owner"):
        pool.update({SYSVAR_CLOCK_ID: _with(good, owner=TOKEN_2022_PROGRAM_ID)})
    with pytest.raises(DecodeError, match="Clock"):
        pool.update({SYSVAR_CLOCK_ID: _with(good, data=bytes(good.data)[:39])})


def _pair_with(label: str, offset: int, fmt: str, value: int) -> Account:
    acc = accounts(label)[pair_address(label)]
    data = bytearray(acc.data)
    struct.pack_into(fmt, data, offset, value)
    return _with(acc, data=bytes(data))


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "match"),
    [
        (76, "<i", 443637, "active_id"),
        (76, "<i", -443637, "active_id"),
        (32, "<H", 2501, "protocol_share"),
        (880, "<B", 2, "token_mint_x_program_flag"),
        (881, "<B", 7, "token_mint_y_program_flag"),
        (36, "<B", 2, "collect_fee_mode"),
        (86, "<B", 2, "activation_type"),
    ],
)
def test_pair_fields_outside_the_program_range_are_decode_errors(
    offset: int, fmt: str, value: int, match: str
) -> None:
    label = "sol-usdc-bs4"
    bad = _pair_with(label, offset, fmt, value)
    with pytest.raises(DecodeError, match=match):
        DlmmPool.from_account(pair_address(label), bad)
    pool = load_pool(label)
    before = pool.accounts_to_update()
    with pytest.raises(DecodeError, match=match):
        pool.update({pool.address: bad})
    assert pool.accounts_to_update() == before
