"""Wrong bytes raise DecodeError naming the problem; missing state raises QuoteError naming it."""

from __future__ import annotations

import pytest
from meteora_testlib import accounts, clock_account, default_timestamp, load_pool, pair_address
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_PROGRAM_ID

LABEL = "sol-usdc-bs4"


def _with(account: Account, *, data: bytes | None = None, owner: Pubkey | None = None) -> Account:
    return Account(
        account.lamports,
        bytes(account.data) if data is None else data,
        account.owner if owner is None else owner,
        account.executable,
        account.rent_epoch,
    )


def _pair_account() -> Account:
    return accounts(LABEL)[pair_address(LABEL)]


def _array_key(pool: DlmmPool, index: int) -> Pubkey:
    return pool.bin_array_key(index)


def test_pair_wrong_owner() -> None:
    with pytest.raises(DecodeError, match="owner"):
        DlmmPool.from_account(pair_address(LABEL), _with(_pair_account(), owner=TOKEN_PROGRAM_ID))


def test_pair_wrong_discriminator() -> None:
    data = bytearray(_pair_account().data)
    data[0] ^= 0xFF
    with pytest.raises(DecodeError, match="discriminator"):
        DlmmPool.from_account(pair_address(LABEL), _with(_pair_account(), data=bytes(data)))


@pytest.mark.parametrize("cut", [0, 5, 100, 903])
def test_pair_truncated(cut: int) -> None:
    data = bytes(_pair_account().data)[:cut]
    with pytest.raises(DecodeError, match="truncated"):
        DlmmPool.from_account(pair_address(LABEL), _with(_pair_account(), data=data))


def test_pair_wrong_size() -> None:
    data = bytes(_pair_account().data) + b"\0"
    with pytest.raises(DecodeError, match="expected 904 bytes, got 905"):
        LbPair.decode(data)


def test_matches_only_pairs() -> None:
    accs = accounts(LABEL)
    assert DlmmPool.matches(_pair_account())
    pool = load_pool(LABEL)
    assert not DlmmPool.matches(accs[_array_key(pool, -90)])
    assert not DlmmPool.matches(accs[pool.bitmap_extension_address])


def test_bin_array_errors() -> None:
    pool = load_pool(LABEL)
    good = accounts(LABEL)[_array_key(pool, -90)]
    data = bytes(good.data)
    with pytest.raises(
        DecodeError, match=r"BinArray: expected 10136 bytes, got 5000 \(truncated\)"
    ):
        BinArray.decode(data[:5000])
    with pytest.raises(DecodeError, match="BinArray: wrong discriminator"):
        BinArray.decode(b"\1" * 8 + data[8:])
    with pytest.raises(DecodeError, match="BinArray: owner"):
        BinArray.from_account(_with(good, owner=TOKEN_PROGRAM_ID))


def test_extension_errors() -> None:
    pool = load_pool(LABEL)
    data = bytes(accounts(LABEL)[pool.bitmap_extension_address].data)
    with pytest.raises(
        DecodeError, match=r"BinArrayBitmapExtension: expected 1576 bytes, got 100 \(truncated\)"
    ):
        BinArrayBitmapExtension.decode(data[:100])
    with pytest.raises(DecodeError, match="BinArrayBitmapExtension: wrong discriminator"):
        BinArrayBitmapExtension.decode(bytes(8) + data[8:])


def test_update_rejects_bad_bytes_and_keeps_state() -> None:
    pool = load_pool(LABEL)
    sol, _ = pool.mints
    before = pool.quote(5_000_000_000, sol)
    key = _array_key(pool, -90)
    bad = _with(accounts(LABEL)[key], data=bytes(accounts(LABEL)[key].data)[:200])
    pair_bad = _with(_pair_account(), data=bytes(100))
    with pytest.raises(DecodeError):
        pool.update({key: bad})
    with pytest.raises(DecodeError):
        pool.update({pool.address: pair_bad, SYSVAR_CLOCK_ID: clock_account(1)})
    with pytest.raises(DecodeError, match="Clock"):
        pool.update({SYSVAR_CLOCK_ID: Account(1, bytes(12), TOKEN_PROGRAM_ID, False, 0)})
    assert pool.quote(5_000_000_000, sol) == before


def test_bin_array_of_another_pair_is_rejected() -> None:
    pool = load_pool(LABEL)
    other = load_pool("pump-sol-bs250")
    key = other.bin_array_key(0)
    with pytest.raises(DecodeError, match="belongs to pair"):
        pool.update({key: accounts("pump-sol-bs250")[key]})


def test_bin_array_under_the_wrong_address_is_rejected() -> None:
    pool = load_pool(LABEL)
    acc = accounts(LABEL)[_array_key(pool, -90)]
    with pytest.raises(DecodeError, match="does not match its address"):
        pool.update({_array_key(pool, -89): acc})


def test_missing_bin_array_is_named() -> None:
    accs = dict(accounts(LABEL))
    pool = DlmmPool.from_account(pair_address(LABEL), accs[pair_address(LABEL)])
    missing = _array_key(pool, -91)
    del accs[missing]
    pool.update({**accs, SYSVAR_CLOCK_ID: clock_account(default_timestamp(LABEL))})
    sol, usdc = pool.mints
    with pytest.raises(QuoteError, match=f"bin array -91 \\({missing}\\) not loaded"):
        pool.quote(10**13, sol)
    # Swaps that stay in the active bin's array, or go the other way, do not need it.
    assert pool.quote(10**9, sol).out_amount > 0
    assert pool.quote(10**9, usdc).out_amount > 0


def test_next_array_beyond_fixtures_is_named() -> None:
    pool = load_pool(LABEL)
    sol, _ = pool.mints
    with pytest.raises(QuoteError, match=f"bin array -93 \\({pool.bin_array_key(-93)}\\)"):
        pool.quote(10**16, sol)


def test_insufficient_liquidity_at_the_end_of_the_bitmap() -> None:
    pool = load_pool("ttfz-sol-bs10-token2022")
    _, wsol = pool.mints
    with pytest.raises(QuoteError, match="insufficient liquidity"):
        pool.quote(10**18, wsol)


def test_missing_clock_is_named() -> None:
    accs = accounts(LABEL)
    pool = DlmmPool.from_account(pair_address(LABEL), accs[pair_address(LABEL)])
    pool.update(accs)
    with pytest.raises(QuoteError, match=str(SYSVAR_CLOCK_ID)):
        pool.quote(1000, pool.mints[0])


def test_missing_token2022_mint_is_named() -> None:
    label = "ttfz-sol-bs10-token2022"
    accs = dict(accounts(label))
    pool = DlmmPool.from_account(pair_address(label), accs[pair_address(label)])
    mint_x = pool.mints[0]
    del accs[mint_x]
    pool.update({**accs, SYSVAR_CLOCK_ID: clock_account(1_700_000_000)})
    with pytest.raises(QuoteError, match=f"mint {mint_x} is not loaded"):
        pool.quote(10**9, mint_x)


def test_foreign_mint_and_bad_amount() -> None:
    pool = load_pool(LABEL)
    with pytest.raises(QuoteError, match="not traded"):
        pool.quote(1000, TOKEN_PROGRAM_ID)
    with pytest.raises(QuoteError, match="positive"):
        pool.quote(0, pool.mints[0])


def test_disabled_pair_does_not_quote() -> None:
    data = bytearray(_pair_account().data)
    data[82] = 1  # status
    pool = load_pool(LABEL)
    pool.update({pool.address: _with(_pair_account(), data=bytes(data))})
    with pytest.raises(QuoteError, match="disabled"):
        pool.quote(1000, pool.mints[0])


def test_swap_that_buys_nothing_is_refused_as_the_program_does() -> None:
    """1 lamport of SOL buys 0 USDC: the SDK quotes 0 out, the program fails such a swap
    with InsufficientOutAmount (6039; seen running the production binary)."""
    pool = load_pool(LABEL)
    sol, usdc = pool.mints
    with pytest.raises(QuoteError, match="InsufficientOutAmount"):
        pool.quote(1, sol)
    assert pool.quote(1000, sol).out_amount > 0
    assert pool.quote(1, usdc, exact_in=False).in_amount > 0  # exact-out is not affected
