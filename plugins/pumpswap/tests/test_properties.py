"""Laws of a quote on every scenario (hypothesis): monotonic, bounded, exact-out round trip."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.testing import (
    check_bounded,
    check_monotonic,
    check_round_trip,
    load_json,
    not_checked,
    try_quote,
)

ORACLE = Path(__file__).parent / "oracle"
VARIANTS = [v["name"] for v in load_json(ORACLE / "variants.json")["variants"]]

SETTINGS = settings(max_examples=150, deadline=None)
#: Amounts the pools can fill: 10^6 (below that the fees eat small sells) to ~10^14.
AMOUNTS = st.builds(lambda m, e: m * 10**e, st.integers(1, 99), st.integers(5, 12))
#: Quote units of budget by which buy_exact_quote_in may trail the exact-out total.
BUY_SLACK = 4


@pytest.fixture(scope="module")
def pools(load_pool: Callable[[str], PumpSwapPool]) -> Callable[[str], PumpSwapPool]:
    """One pool per scenario for the whole module (the laws only quote)."""
    return cache(load_pool)


def _reserve(pool: PumpSwapPool, side: int) -> int:
    value = pool.reserves[side]
    assert value is not None
    return value


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("side", [0, 1])
@SETTINGS
@given(a=AMOUNTS, b=AMOUNTS)
def test_monotonic(
    pools: Callable[[str], PumpSwapPool], name: str, side: int, a: int, b: int
) -> None:
    pool = pools(name)
    check_monotonic(pool, pool.mints[side], min(a, b), max(a, b))


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("side", [0, 1])
@SETTINGS
@given(amount=AMOUNTS)
def test_bounded_by_reserves(
    pools: Callable[[str], PumpSwapPool], name: str, side: int, amount: int
) -> None:
    pool = pools(name)
    check_bounded(pool, pool.mints[side], amount, _reserve(pool, 1 - side))


@pytest.mark.parametrize("name", VARIANTS)
@SETTINGS
@given(frac=st.floats(1e-9, 0.95))
def test_buy_round_trip(pools: Callable[[str], PumpSwapPool], name: str, frac: float) -> None:
    """Exact-out buy (``buy``), then exact-in (``buy_exact_quote_in``) with that budget.

    The two instructions price differently: ``buy_exact_quote_in`` takes the
    fees off the budget with one floor and three ceilings and prices one unit
    less than it charges, so the same budget buys slightly less. Within
    ``BUY_SLACK`` quote units more it buys at least as much, and a few units
    less buys strictly less: the exact-out total is tight.
    """
    pool = pools(name)
    _base, quote = pool.mints
    out = max(1, int(_reserve(pool, 0) * frac))
    need = try_quote(pool, out, quote, exact_in=False)
    if need is None:
        not_checked(f"the exact-out buy of {out} was refused")
        return
    assert need.out_amount == out
    assert any(
        (q := try_quote(pool, need.in_amount + k, quote)) is not None and q.out_amount >= out
        for k in range(BUY_SLACK + 1)
    ), need
    less = try_quote(pool, need.in_amount - BUY_SLACK, quote)
    assert less is None or less.out_amount < out or out < _reserve(pool, 0) // _reserve(pool, 1)


@pytest.mark.parametrize("name", VARIANTS)
@SETTINGS
@given(frac=st.floats(1e-9, 0.9))
def test_sell_round_trip(pools: Callable[[str], PumpSwapPool], name: str, frac: float) -> None:
    """Exact-out sell asks for the least base that delivers (see pool._sell_exact_out)."""
    pool = pools(name)
    out = max(1, int(_reserve(pool, 1) * frac))
    check_round_trip(pool, pool.mints[0], out, tolerance=0)


@pytest.mark.parametrize("name", VARIANTS)
@SETTINGS
@given(amount=st.integers(1, 10**15))
def test_fees_are_in_quote_and_positive_when_rates_are(
    pools: Callable[[str], PumpSwapPool], name: str, amount: int
) -> None:
    pool = pools(name)
    q = try_quote(pool, amount, pool.mints[0])
    if q is None:
        not_checked(f"the sell of {amount} was refused")
    else:
        assert q.fee_mint == pool.mints[1]
        rates = pool.fee_rates
        assert rates is not None
        assert q.fee_amount >= 1 if rates.lp_fee_bps + rates.protocol_fee_bps else q.fee_amount == 0
