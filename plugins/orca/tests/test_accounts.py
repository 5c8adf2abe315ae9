"""accounts_to_update names the tick arrays either direction may walk, and moves with
the price; the PDAs equal those Orca's client derives (recorded by the oracle script)."""

from __future__ import annotations

import pytest
from orca_testlib import FIXTURES, LABELS, expected, load_pool, pool_files
from solders.pubkey import Pubkey

from lstarb_orca.tick_arrays import oracle_address, tick_array_address, window_starts
from lstarb_orca.tick_math import sqrt_price_at_tick
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import load_account, token2022_mint, with_data


@pytest.mark.parametrize("label", LABELS)
def test_windows_match_orca_client(label: str) -> None:
    entry = expected()["pools"][label]
    pool = load_pool(label)
    for direction, a_to_b in (("a_to_b", True), ("b_to_a", False)):
        want = entry["windows"][direction]
        st = pool.state
        assert window_starts(st.tick_current_index, st.tick_spacing, a_to_b) == want["starts"]
        assert [str(p) for p in pool.tick_array_addresses(a_to_b)] == want["pdas"]
    assert str(oracle_address(pool.address)) == entry["oracle_pda"]
    keys = pool.accounts_to_update()
    assert keys[:3] == [pool.address, *pool.mints]
    for direction in ("a_to_b", "b_to_a"):
        for pda in entry["windows"][direction]["pdas"]:
            assert Pubkey.from_string(pda) in keys
    assert SYSVAR_CLOCK_ID not in keys  # plain pools: no time dependence
    assert len(keys) == len(set(keys))


def test_b_to_a_window_shifts_at_array_edge() -> None:
    # the last tick of an array: the next initializable tick up is in the next array
    assert window_starts(-1, 1, False) == [0, 88, 176]
    assert window_starts(-1, 1, True) == [-88, -176, -264]
    assert window_starts(-2, 1, False) == [-88, 0, 88]
    assert window_starts(-14170, 4, True) == [-14432, -14784, -15136]


def test_window_moves_with_price() -> None:
    label = "sol-usdc-ts64-2022"
    pool = load_pool(label)
    key, acc = load_account(FIXTURES / label / "whirlpool.json")
    before = pool.accounts_to_update()
    st = pool.state
    span = 88 * st.tick_spacing
    new_tick = st.tick_current_index + 2 * span
    data = bytearray(bytes(acc.data))
    data[65:81] = sqrt_price_at_tick(new_tick).to_bytes(16, "little")
    data[81:85] = new_tick.to_bytes(4, "little", signed=True)
    pool.update({key: with_data(acc, bytes(data))})
    after = pool.accounts_to_update()
    assert after != before
    for a_to_b in (True, False):
        for start in window_starts(new_tick, st.tick_spacing, a_to_b):
            assert tick_array_address(key, start) in after
    # the arrays the price left behind are no longer asked for
    old_base = window_starts(st.tick_current_index, st.tick_spacing, True)[0]
    assert tick_array_address(key, old_base - span) not in after
    # and the quote now walks the new window (-16896 and -22528 are loaded fixtures)
    q = pool.quote(10**9, pool.mints[0])
    assert q.out_amount > 0


def test_window_moves_after_a_real_swap() -> None:
    """Feed back the price a large quote reaches: the list follows it."""
    pool = load_pool("sol-usdc-ts8")
    res = pool.swap(2 * 10**13, True, True)
    from lstarb_orca.tick_math import tick_at_sqrt_price

    end_tick = tick_at_sqrt_price(res.end_sqrt_price)
    st = pool.state
    assert (
        window_starts(end_tick, st.tick_spacing, True)[0]
        < window_starts(st.tick_current_index, st.tick_spacing, True)[0]
    )


def test_adaptive_pool_asks_for_oracle_and_clock() -> None:
    pool = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    keys = pool.accounts_to_update()
    assert pool.oracle_address in keys
    assert SYSVAR_CLOCK_ID in keys


def test_transfer_fee_pool_asks_for_clock_when_the_epoch_decides() -> None:
    """A fee schedule whose two fees differ depends on the epoch: the Clock is followed;
    one fee for both epochs needs no Clock."""
    steady = {"a": {"fee_bps": 10, "max_fee": "100"}}
    pool = load_pool("msol-sol-ts1", transfer_fee=steady)
    key, mint = pool_files("msol-sol-ts1")["mint_a"]
    pool.update({SYSVAR_CLOCK_ID: None})
    assert SYSVAR_CLOCK_ID not in pool.accounts_to_update()
    pool.quote(10**6, pool.mints[0])  # no Clock needed
    changing = token2022_mint(mint, fee_bps=10, max_fee=100, newer_fee_bps=20, newer_epoch=600)
    pool.update({key: changing})
    assert SYSVAR_CLOCK_ID in pool.accounts_to_update()
    with pytest.raises(QuoteError, match="Clock"):
        pool.quote(10**6, pool.mints[0])
