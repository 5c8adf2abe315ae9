"""SDK 1.1: ``update`` maps a key to None when the chain has no such account.

A tick array that was never created is crossed as 88 uninitialized ticks, as the
program does since sparse swaps; any other account a swap needs (pool, mint, vault,
Clock, Oracle) makes quotes refuse with a QuoteError naming it; a key left out of the
mapping means no news.
"""

from __future__ import annotations

import pytest
from orca_testlib import FIXTURES, load_pool, pool_files
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.tick_arrays import tick_array_address, window_starts
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import clock_account, empty_account, load_account

LABEL = "jitosol-sol-ts1"
DENSE = "sol-usdc-ts8"  # initialized ticks in every array


def _fresh(label: str = LABEL) -> WhirlpoolPool:
    key, acc = pool_files(label)["whirlpool"]
    pool = WhirlpoolPool.from_account(key, acc)
    pool.accounts_to_update()
    return pool


def _real(label: str = LABEL) -> dict[Pubkey, Account]:
    return {k: a for stem, (k, a) in pool_files(label).items() if stem != "whirlpool"}


def test_none_tick_array_is_uninitialized_like_an_empty_system_account() -> None:
    """Only the first array of the window exists: the swap walks through two that do not."""
    pool = load_pool(DENSE)
    st = pool.state
    starts = window_starts(st.tick_current_index, st.tick_spacing, True)
    as_none, as_empty = _fresh(DENSE), _fresh(DENSE)
    for p, absent in ((as_none, None), (as_empty, empty_account())):
        accounts: dict[Pubkey, Account | None] = dict(_real(DENSE))
        for start in starts[1:]:
            accounts[tick_array_address(p.address, start)] = absent
        p.update(accounts)
    big = 10**13
    assert as_none.quote(big, pool.mints[0]) == as_empty.quote(big, pool.mints[0])
    assert as_none.quote(big, pool.mints[0]) != pool.quote(big, pool.mints[0])
    # not loaded is not the same as absent: the sequence stops there
    unknown = _fresh(DENSE)
    accounts = dict(_real(DENSE))
    for start in starts[1:]:
        accounts.pop(tick_array_address(unknown.address, start))
    unknown.update(accounts)
    with pytest.raises(QuoteError, match="not loaded"):
        unknown.quote(big, pool.mints[0])


def test_an_array_that_appears_later_is_read() -> None:
    pool = _fresh(DENSE)
    st = pool.state
    second = window_starts(st.tick_current_index, st.tick_spacing, True)[1]
    key = tick_array_address(pool.address, second)
    accounts: dict[Pubkey, Account | None] = dict(_real(DENSE))
    real_second = accounts[key]
    accounts[key] = None
    pool.update(accounts)
    before = pool.quote(10**13, pool.mints[0])
    pool.update({key: real_second})
    assert pool.quote(10**13, pool.mints[0]) == load_pool(DENSE).quote(10**13, pool.mints[0])
    assert pool.quote(10**13, pool.mints[0]) != before


def test_an_account_at_an_array_pda_that_is_not_empty_is_checked() -> None:
    """The program loads anything but a system-owned empty account as a tick array."""
    pool = _fresh()
    st = pool.state
    key = tick_array_address(pool.address, window_starts(st.tick_current_index, 1, True)[1])
    junk = Account(lamports=1, data=b"\x01", owner=SYSVAR_CLOCK_ID)
    with pytest.raises(DecodeError, match=str(key)):
        pool.update({key: junk})


@pytest.mark.parametrize("what", ["mint_a", "mint_b"])
def test_mint_that_does_not_exist_is_named(what: str) -> None:
    pool = load_pool(LABEL)
    key = pool_files(LABEL)[what][0]
    pool.update({key: None})
    with pytest.raises(QuoteError, match=f"mint {key} does not exist"):
        pool.quote(10**6, pool.mints[0])
    assert pool.summary() is None
    pool.update({key: pool_files(LABEL)[what][1]})  # it comes back
    pool.quote(10**6, pool.mints[0])


def test_pool_account_that_does_not_exist_is_named() -> None:
    pool = load_pool(LABEL)
    pool.update({pool.address: None})
    with pytest.raises(QuoteError, match=f"pool account {pool.address} does not exist"):
        pool.quote(10**6, pool.mints[1], exact_in=False)
    assert pool.address in pool.accounts_to_update()  # still followed: it may come back
    pool.update({pool.address: pool_files(LABEL)["whirlpool"][1]})
    pool.quote(10**6, pool.mints[1], exact_in=False)


def test_vault_that_does_not_exist_is_named() -> None:
    pool = load_pool("bsol-usdc-ts64-2023")
    vault = pool.state.token_vault_b
    pool.update({vault: None})
    with pytest.raises(QuoteError, match=f"vault B {vault} does not exist"):
        pool.quote(10**6, pool.mints[0])


def test_clock_that_does_not_exist_is_named() -> None:
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    pool.quote(10**6, pool.mints[0])
    pool.update({SYSVAR_CLOCK_ID: None})
    with pytest.raises(QuoteError, match=f"Clock sysvar {SYSVAR_CLOCK_ID} does not exist"):
        pool.quote(10**6, pool.mints[0])
    pool.update({SYSVAR_CLOCK_ID: clock_account()})
    pool.quote(10**6, pool.mints[0])


def test_oracle_that_does_not_exist_is_named() -> None:
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    pool.update({pool.oracle_address: None})
    with pytest.raises(QuoteError, match=f"Oracle {pool.oracle_address} does not exist"):
        pool.quote(10**6, pool.mints[0])
    key, oracle = load_account(FIXTURES / "synthetic" / "msol-sol-ts1-oracle.json")
    pool.update({key: oracle})
    pool.quote(10**6, pool.mints[0])


def test_absent_key_is_no_news_and_unknown_none_is_ignored() -> None:
    pool = load_pool(LABEL)
    before = pool.quote(10**9, pool.mints[0])
    pool.update({})
    pool.update({Pubkey.new_unique(): None})
    assert pool.quote(10**9, pool.mints[0]) == before
