"""Laws every AMM V4 and CPMM quote obeys on the fixture pools (hypothesis + lstarb_sdk.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.testing import check_bounded, check_monotonic, check_round_trip, load_dir

HERE = Path(__file__).parent


def _pool(cls: type[PoolAdapter], sub: str, key: str) -> PoolAdapter:
    accounts = load_dir(HERE / "fixtures" / sub)
    k = Pubkey.from_string(key)
    p = cls.from_account(k, accounts[k])
    p.update(accounts)
    return p


AMM = _pool(AmmV4Pool, "amm_v4", "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP = _pool(CpmmPool, "cpmm", "7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
CASES = [(AMM, 0), (AMM, 1), (CP, 0), (CP, 1)]
IDS = ["amm_v4-coin_in", "amm_v4-pc_in", "cpmm-token0_in", "cpmm-token1_in"]


def _sides(pool: PoolAdapter, i: int) -> tuple[Pubkey, int, int]:
    reserves = pool.reserves()  # type: ignore[attr-defined]
    return pool.mints[i], reserves[i], reserves[1 - i]


@pytest.mark.parametrize(("pool", "i"), CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_monotonic(pool: PoolAdapter, i: int, data: st.DataObject) -> None:
    mint, r_in, _ = _sides(pool, i)
    amounts = st.integers(1, 20 * r_in)
    a, b = data.draw(amounts), data.draw(amounts)
    check_monotonic(pool, mint, min(a, b), max(a, b))


@pytest.mark.parametrize(("pool", "i"), CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_bounded_by_reserve(pool: PoolAdapter, i: int, data: st.DataObject) -> None:
    mint, _r_in, r_out = _sides(pool, i)
    check_bounded(pool, mint, data.draw(st.integers(1, 2**64 - 1)), r_out - 1)


@pytest.mark.parametrize(("pool", "i"), CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_exact_out_round_trips_through_exact_in(
    pool: PoolAdapter, i: int, data: st.DataObject
) -> None:
    mint, _, r_out = _sides(pool, i)
    check_round_trip(pool, mint, data.draw(st.integers(1, r_out - 1)), tolerance=1)


@pytest.mark.parametrize(("pool", "i"), CASES, ids=IDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_fee_is_the_rate_rounded_up(pool: PoolAdapter, i: int, data: st.DataObject) -> None:
    mint, r_in, _ = _sides(pool, i)
    amount = data.draw(st.integers(1, 10 * r_in))
    q = pool.quote(amount, mint) if amount > 1000 else None
    if q is None:
        return
    if pool is AMM:
        assert q.fee_amount == -(-amount * 25 // 10_000)
    else:
        assert q.fee_amount == -(-amount * 2500 // 1_000_000)
