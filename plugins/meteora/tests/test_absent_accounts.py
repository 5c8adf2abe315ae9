"""SDK 1.1: ``update`` maps a key to None when the chain has no such account.

The bitmaps say which bin arrays exist; an array the walk needs that the chain does not
have is never read as liquidity: the quote refuses, naming it. A bitmap extension that
does not exist limits the search to the pair's own bitmap, as on chain. Any other
account a swap needs (pair, Clock, mint, reserve) refuses quotes, naming it.
"""

from __future__ import annotations

import pytest
from meteora_testlib import accounts, clock_account, default_timestamp, load_pool, pair_address
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID

LABEL = "sol-usdc-bs4"


def test_bitmap_array_the_chain_does_not_have_is_named_not_read() -> None:
    pool = load_pool(LABEL)
    sol, usdc = pool.mints
    key = pool.bin_array_key(-91)
    pool.update({key: None})
    with pytest.raises(QuoteError, match=rf"bin array -91 \({key}\) does not exist"):
        pool.quote(10**13, sol)
    # swaps that stay in the active array, or go the other way, do not need it
    assert pool.quote(10**9, sol).out_amount > 0
    assert pool.quote(10**9, usdc).out_amount > 0
    pool.update({key: accounts(LABEL)[key]})  # created again
    assert pool.quote(10**13, sol) == load_pool(LABEL).quote(10**13, sol)


def test_extension_that_does_not_exist_bounds_the_search() -> None:
    """pump-sol's extension PDA does not exist on chain (MANIFEST): not 'not loaded'."""
    label = "pump-sol-bs250"
    accs = dict(accounts(label))
    pool = DlmmPool.from_account(pair_address(label), accs[pair_address(label)])
    pool.update({**accs, SYSVAR_CLOCK_ID: clock_account(default_timestamp(label))})
    with pytest.raises(QuoteError, match=rf"extension {pool.bitmap_extension_address} not loaded"):
        pool.quote(10**18, pool.mints[0])  # walks down past array -1: nothing below it
    pool.update({pool.bitmap_extension_address: None})
    with pytest.raises(QuoteError, match="insufficient liquidity") as err:
        pool.quote(10**18, pool.mints[0])
    assert "not loaded" not in str(err.value)


@pytest.mark.parametrize("which", ["pair", "clock", "reserve_x", "reserve_y"])
def test_required_account_that_does_not_exist_is_named(which: str) -> None:
    pool = load_pool(LABEL)
    key = {
        "pair": pool.address,
        "clock": SYSVAR_CLOCK_ID,
        "reserve_x": pool.pair.reserve_x,
        "reserve_y": pool.pair.reserve_y,
    }[which]
    restore = accounts(LABEL)[key] if which != "clock" else clock_account(default_timestamp(LABEL))
    pool.update({key: None})
    with pytest.raises(QuoteError, match=rf"{key}.*does not exist"):
        pool.quote(10**9, pool.mints[0])
    assert pool.summary() is None
    assert key in pool.accounts_to_update()
    pool.update({key: restore})
    assert pool.quote(10**9, pool.mints[0]) == load_pool(LABEL).quote(10**9, pool.mints[0])


def test_token2022_mint_that_does_not_exist_is_named() -> None:
    label = "ttfz-sol-bs10-token2022"
    pool = load_pool(label)
    mint_x = pool.mints[0]
    pool.update({mint_x: None})
    with pytest.raises(QuoteError, match=rf"mint {mint_x} does not exist"):
        pool.quote(10**9, mint_x)


def test_absent_key_is_no_news_and_unknown_none_is_ignored() -> None:
    pool = load_pool(LABEL)
    before = pool.quote(10**9, pool.mints[0])
    pool.update({})
    pool.update({Pubkey.new_unique(): None})
    assert pool.quote(10**9, pool.mints[0]) == before
