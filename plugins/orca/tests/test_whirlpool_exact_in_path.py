"""The exact-in steps kept per state give what the whole swap loop gives, to the unit."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from orca_testlib import expected, pool_feed, variant_pool

from lstarb_orca.swap_math import ExactInPath, compute_swap
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk import Quote
from lstarb_sdk.errors import QuoteError

VARIANTS = [
    (label, i)
    for label, entry in expected()["pools"].items()
    for i, variant in enumerate(entry["variants"])
    if variant["name"] != "transfer_fee"  # the same pool swap as "plain"
]


def _looped(pool: WhirlpoolPool, amount: int, a_to_b: bool) -> Any:
    s = pool._pool
    try:
        return compute_swap(
            amount,
            s.sqrt_price,
            s.tick_current_index,
            s.liquidity,
            pool._sequence(a_to_b),
            pool._fee_manager(a_to_b),
            a_to_b,
            True,
        )
    except QuoteError as exc:
        return str(exc)


def _kept(pool: WhirlpoolPool, path: ExactInPath, amount: int, a_to_b: bool) -> Any:
    try:
        got = path.swap(amount)
    except QuoteError as exc:
        return str(exc)
    return _looped(pool, amount, a_to_b) if got is None else got


@pytest.mark.parametrize(("label", "index"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
@pytest.mark.parametrize("a_to_b", [True, False])
def test_every_amount_swaps_as_the_whole_loop_does(label: str, index: int, a_to_b: bool) -> None:
    pool = variant_pool(label, expected()["pools"][label]["variants"][index])
    s = pool._pool
    try:
        path = ExactInPath(
            s.sqrt_price,
            s.tick_current_index,
            s.liquidity,
            pool._sequence(a_to_b),
            pool._fee_manager(a_to_b),
            a_to_b,
        )
    except QuoteError:
        return  # no swap this way at all (the loop refuses the same: the oracle tests)
    amounts = sorted({1, 2, 3} | {int(1.41**k) for k in range(2, 140)})
    fallbacks = 0
    for amount in amounts[::-1] + amounts:  # the path grows both ways
        want = _looped(pool, amount, a_to_b)
        assert _kept(pool, path, amount, a_to_b) == want, amount
        with contextlib.suppress(QuoteError):
            fallbacks += path.swap(amount) is None
    total = 0
    edges = 0
    for step in path._steps:  # around each completed step's least input
        if step[0] != "step":
            break
        for amount in (total + step[5] - 1, total + step[5], total + step[5] + 1):
            if amount > 0:
                assert _kept(pool, path, amount, a_to_b) == _looped(pool, amount, a_to_b)
                edges += 1
        total += step[5]
    assert fallbacks < len(amounts)  # the kept steps answer, not the loop
    assert edges > 0 or len(path._steps) <= 2


def test_the_steps_last_while_the_swap_reads_the_same_state() -> None:
    """A mint's account (as a vault's) keeps them: the swap does not read it; the pool drops
    them."""
    label, index = VARIANTS[0]
    pool = variant_pool(label, expected()["pools"][label]["variants"][index])
    feed = pool_feed(label)[1]
    a, _ = pool.mints
    first = pool.quote(10**9, a)
    assert pool._paths == {True: None}  # one swap: walked, not kept
    assert pool.quote(10**9, a) == first
    kept = pool._paths[True]
    assert kept is not None
    mint = pool._pool.token_mint_b
    pool.update({mint: feed[mint]})
    assert pool._paths[True] is kept
    assert pool.quote(10**9 + 1, a) == _quote_looped(pool, 10**9 + 1, a)
    pool.update({pool.address: feed[pool.address]})
    assert not pool._paths
    assert pool.quote(10**9, a) == first


def _quote_looped(pool: WhirlpoolPool, amount: int, mint: Any) -> Any:
    res = _looped(pool, amount, True)
    return Quote(res.amount_in, res.amount_out, res.trade_fee, mint)
