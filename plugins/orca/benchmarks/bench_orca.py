"""Decode and quote timings (run with --benchmark-enable for numbers).

Targets of issue 6: decode <= 5 us; quote <= 10 us + <= 2.5 us per crossed tick.
The swap sizes below cross exactly 0, 5 and 20 initialized ticks of the
SOL/USDC ts8 fixture (dense ticks), found by scanning sizes; the asserts keep
them honest if the fixtures change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lstarb_orca.state import decode_tick_array_state, decode_whirlpool
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.testing import load_account

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from orca_testlib import FIXTURES, load_pool

LABEL = "sol-usdc-ts8"
# b->a (USDC in) exact-in sizes and the ticks they cross
SIZES = {0: 1_000_000, 5: 27_311_425_198, 20: 125_495_261_024}


def test_decode_whirlpool(benchmark) -> None:
    data = bytes(load_account(FIXTURES / LABEL / "whirlpool.json")[1].data)
    benchmark(decode_whirlpool, data)


def test_from_account(benchmark) -> None:
    key, acc = load_account(FIXTURES / LABEL / "whirlpool.json")
    benchmark(WhirlpoolPool.from_account, key, acc)


def test_decode_tick_array(benchmark) -> None:
    data = bytes(load_account(FIXTURES / LABEL / "tick_array_-38016.json")[1].data)
    benchmark(decode_tick_array_state, data)


@pytest.mark.parametrize("ticks", sorted(SIZES))
def test_quote(benchmark, ticks: int) -> None:
    pool = load_pool(LABEL)
    amount = SIZES[ticks]
    assert pool.swap(amount, False, True).ticks_crossed == ticks
    mint_in = pool.mints[1]
    # The first quote on a state walks the ticks; later ones on the same state add the steps
    # the pool keeps (a sizing search): the walk is what the per-tick target is about.
    benchmark.pedantic(
        pool.quote, (amount, mint_in), setup=pool._paths.clear, rounds=3000, warmup_rounds=100
    )


@pytest.mark.parametrize("ticks", sorted(SIZES))
def test_quote_again_on_the_same_state(benchmark, ticks: int) -> None:
    pool = load_pool(LABEL)
    amount = SIZES[ticks]
    mint_in = pool.mints[1]
    benchmark(pool.quote, amount, mint_in)


def test_summary(benchmark) -> None:
    """SDK 1.1 summary: vault balances, L, fee; no quote (published per update)."""
    pool = load_pool("sol-usdc-ts64-2022")  # a set with vault dumps
    assert benchmark(pool.summary) is not None
