"""Decode time per account and quote time for swaps crossing 0, 10 and 50 bins.

Run for numbers: .venv/bin/pytest plugins/meteora/benchmarks --benchmark-enable -q
Targets (issue 5): decode <= 5 us; quote <= 10 us + 2 us per crossed bin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from meteora_testlib import accounts, load_pool, pair_address

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair

LABEL = "sol-usdc-bs4"


def _raw(key_of: str) -> bytes:
    pool = load_pool(LABEL)
    key = {
        "pair": pool.address,
        "bin_array": pool.bin_array_key(-90),
        "extension": pool.bitmap_extension_address,
    }[key_of]
    return bytes(accounts(LABEL)[key].data)


def test_decode_lb_pair(benchmark) -> None:  # type: ignore[no-untyped-def]
    raw = _raw("pair")
    assert benchmark(LbPair.decode, raw).active_id == -6260


def test_decode_bin_array(benchmark) -> None:  # type: ignore[no-untyped-def]
    raw = _raw("bin_array")
    assert benchmark(BinArray.decode, raw).index == -90


def test_decode_bitmap_extension(benchmark) -> None:  # type: ignore[no-untyped-def]
    raw = _raw("extension")
    assert benchmark(BinArrayBitmapExtension.decode, raw).negative[0] == 0


def test_from_account(benchmark) -> None:  # type: ignore[no-untyped-def]
    address = pair_address(LABEL)
    account = accounts(LABEL)[address]
    benchmark(DlmmPool.from_account, address, account)


def _amount_crossing(pool: DlmmPool, swap_for_y: bool, crossed: int) -> int:
    """Largest input whose swap fills ``crossed + 1`` bins: it empties the
    last of them (binary search for the smallest input filling one more)."""
    mint = pool.mints[0 if swap_for_y else 1]
    lo, hi = 1, 10**16
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            n = pool.quote_detailed(mid, mint).swap.bins_crossed
        except Exception:
            n = 10**9
        if n >= crossed + 2:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


@pytest.mark.parametrize("crossed", [0, 10, 50])
@pytest.mark.parametrize("swap_for_y", [True, False], ids=["x_to_y", "y_to_x"])
def test_quote_crossing(benchmark, crossed: int, swap_for_y: bool) -> None:  # type: ignore[no-untyped-def]
    pool = load_pool(LABEL)
    mint = pool.mints[0 if swap_for_y else 1]
    amount = _amount_crossing(pool, swap_for_y, crossed)
    assert pool.quote_detailed(amount, mint).swap.bins_crossed == crossed + 1
    # The first quote on a state walks the bins; later ones on the same state add the bins
    # the pool keeps (a sizing search): the walk is what the per-bin target is about.
    q = benchmark.pedantic(
        pool.quote, (amount, mint), setup=pool._paths.clear, rounds=3000, warmup_rounds=100
    )
    assert q.out_amount > 0


@pytest.mark.parametrize("crossed", [0, 10, 50])
def test_quote_crossing_again_on_the_same_state(benchmark, crossed: int) -> None:  # type: ignore[no-untyped-def]
    pool = load_pool(LABEL)
    mint = pool.mints[0]
    amount = _amount_crossing(pool, True, crossed)
    assert benchmark(pool.quote, amount, mint).out_amount > 0


@pytest.mark.parametrize("crossed", [0, 50])
def test_quote_exact_out_crossing(benchmark, crossed: int) -> None:  # type: ignore[no-untyped-def]
    pool = load_pool(LABEL)
    mint = pool.mints[0]
    out = pool.quote(_amount_crossing(pool, True, crossed), mint).out_amount
    benchmark(pool.quote, out, mint, exact_in=False)


def test_summary(benchmark) -> None:  # type: ignore[no-untyped-def]
    """SDK 1.1 summary: reserves, active bin liquidity, fee; no quote (published per update)."""
    pool = load_pool(LABEL)
    assert benchmark(pool.summary) is not None
