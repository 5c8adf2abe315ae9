"""Bytes that are not what they claim raise DecodeError naming the problem; missing
accounts make quotes raise QuoteError naming the account."""

from __future__ import annotations

import pytest
from orca_testlib import FIXTURES, load_pool

from lstarb_orca.state import decode_oracle, decode_tick_array, decode_tick_array_state
from lstarb_orca.tick_arrays import tick_array_address, window_starts
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_PROGRAM_ID
from lstarb_sdk.testing import load_account, with_data

LABEL = "jitosol-sol-ts1"


def _pool_account():
    return load_account(FIXTURES / LABEL / "whirlpool.json")


def test_wrong_owner() -> None:
    key, acc = _pool_account()
    with pytest.raises(DecodeError, match="owner"):
        WhirlpoolPool.from_account(key, with_data(acc, bytes(acc.data), TOKEN_PROGRAM_ID))


def test_wrong_discriminator() -> None:
    key, acc = _pool_account()
    data = b"\x00" * 8 + bytes(acc.data)[8:]
    with pytest.raises(DecodeError, match="discriminator"):
        WhirlpoolPool.from_account(key, with_data(acc, data))


def test_truncated_pool() -> None:
    key, acc = _pool_account()
    with pytest.raises(DecodeError, match="expected 653 bytes, got 600"):
        WhirlpoolPool.from_account(key, with_data(acc, bytes(acc.data)[:600]))
    with pytest.raises(DecodeError, match="truncated"):
        WhirlpoolPool.from_account(key, with_data(acc, bytes(acc.data)[:5]))


def test_tick_array_bad_bytes() -> None:
    _, acc = load_account(FIXTURES / LABEL / "tick_array_-264.json")
    data = bytes(acc.data)
    with pytest.raises(DecodeError, match="expected 9988 bytes, got 9987"):
        decode_tick_array_state(data[:-1])
    with pytest.raises(DecodeError, match="expected 9988 bytes, got 9987"):
        decode_tick_array(data[:-1])
    with pytest.raises(DecodeError, match="discriminator"):
        decode_tick_array_state(b"\x01" * 8 + data[8:])
    with pytest.raises(DecodeError, match="truncated"):
        decode_tick_array_state(data[:4])


def test_dynamic_tick_array_truncated() -> None:
    path = next((FIXTURES / "synthetic").glob("*dynamic_tick_array*.json"))
    data = bytes(load_account(path)[1].data)
    with pytest.raises(DecodeError, match="truncated"):
        decode_tick_array_state(data[:-50])
    with pytest.raises(DecodeError, match="truncated"):
        decode_tick_array(data[:-50])
    with pytest.raises(DecodeError, match="at least 148 expected"):
        decode_tick_array_state(data[:100])
    bad = bytearray(data)
    bad[60] = 7
    with pytest.raises(DecodeError, match="tag"):
        decode_tick_array_state(bytes(bad))


def test_oracle_bad_bytes() -> None:
    path = next((FIXTURES / "synthetic").glob("*-oracle.json"))
    data = bytes(load_account(path)[1].data)
    with pytest.raises(DecodeError, match="expected 254 bytes, got 200"):
        decode_oracle(data[:200], 1)
    with pytest.raises(DecodeError, match="discriminator"):
        decode_oracle(bytes(8) + data[8:], 1)


def test_update_bad_bytes_keeps_state() -> None:
    pool = load_pool(LABEL)
    before = pool.quote(10**9, pool.mints[0])
    key, acc = _pool_account()
    ta_key, ta = load_account(FIXTURES / LABEL / "tick_array_-264.json")
    with pytest.raises(DecodeError):
        # a good tick array and a bad pool in the same batch: nothing is applied
        pool.update({ta_key: ta, key: with_data(acc, bytes(acc.data)[:100])})
    with pytest.raises(DecodeError, match="start tick"):
        _, other = load_account(FIXTURES / LABEL / "tick_array_-352.json")
        pool.update({ta_key: other})
    assert pool.quote(10**9, pool.mints[0]) == before


def test_missing_tick_array_is_named() -> None:
    key, acc = _pool_account()
    pool = WhirlpoolPool.from_account(key, acc)
    pool.update(dict(load_account(FIXTURES / LABEL / f"mint_{s}.json") for s in "ab"))
    st = pool.state
    start = window_starts(st.tick_current_index, st.tick_spacing, True)[0]
    pda = tick_array_address(key, start)
    with pytest.raises(QuoteError, match=str(pda)):
        pool.quote(10**6, pool.mints[0])


def test_missing_second_array_only_matters_when_reached() -> None:
    pool = load_pool(LABEL)
    st = pool.state
    starts = window_starts(st.tick_current_index, st.tick_spacing, True)
    small = pool.quote(10**6, pool.mints[0])
    fresh = WhirlpoolPool.from_account(*_pool_account())
    accounts = dict(load_account(FIXTURES / LABEL / f"mint_{s}.json") for s in "ab")
    first = load_account(FIXTURES / LABEL / f"tick_array_{starts[0]}.json")
    accounts[first[0]] = first[1]
    fresh.accounts_to_update()
    fresh.update(accounts)
    assert fresh.quote(10**6, fresh.mints[0]) == small
    with pytest.raises(QuoteError, match=str(tick_array_address(fresh.address, starts[1]))):
        fresh.quote(10**15, fresh.mints[0])


def test_missing_mint_oracle_clock_are_named() -> None:
    key, acc = _pool_account()
    pool = WhirlpoolPool.from_account(key, acc)
    with pytest.raises(QuoteError, match="mint"):
        pool.quote(10**6, pool.mints[0])
    adaptive = load_pool("msol-sol-ts1", adaptive_seed=1024)
    with pytest.raises(QuoteError, match="Clock"):
        adaptive.quote(10**6, adaptive.mints[0])
    no_oracle = load_pool("msol-sol-ts1", adaptive_seed=1024, timestamp=1_700_000_000)
    no_oracle._oracle_loaded = False
    with pytest.raises(QuoteError, match=str(no_oracle.oracle_address)):
        no_oracle.quote(10**6, no_oracle.mints[0])


def test_window_exhausted_is_not_enough_liquidity() -> None:
    pool = load_pool(LABEL)
    with pytest.raises(QuoteError, match="not enough liquidity"):
        pool.quote(10**18, pool.mints[0])
    with pytest.raises(QuoteError, match="not in the pool"):
        pool.quote(10, SYSVAR_CLOCK_ID)
    with pytest.raises(QuoteError):
        pool.quote(0, pool.mints[0])


def test_unrelated_program_accounts_are_ignored() -> None:
    pool = load_pool(LABEL)
    before = pool.quote(10**9, pool.mints[0])
    accounts = dict(load_account(FIXTURES / LABEL / f"{n}.json") for n in ("config", "fee_tier"))
    accounts.update([load_account(FIXTURES / "msol-sol-ts1" / "tick_array_-968.json")])
    pool.update(accounts)
    assert pool.quote(10**9, pool.mints[0]) == before


def test_dynamic_tick_array_replaces_fixed_one() -> None:
    pool = load_pool(LABEL)
    before = [pool.quote(10**k, pool.mints[0]) for k in (6, 9, 11)]
    path = next((FIXTURES / "synthetic").glob(f"{LABEL}-dynamic_tick_array_*.json"))
    pool.update(dict([load_account(path)]))
    assert [pool.quote(10**k, pool.mints[0]) for k in (6, 9, 11)] == before
