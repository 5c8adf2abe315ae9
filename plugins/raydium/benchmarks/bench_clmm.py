"""Raydium CLMM: decode time per account and quote time by initialized ticks crossed.

Run for numbers:
``.venv/bin/pytest plugins/raydium/benchmarks/bench_clmm.py --benchmark-enable -q``.

The fixture's four tick arrays hold only 9 initialized ticks (6 below the price,
3 above), so the 5- and 20-tick cases also run on a synthetic copy of the
fixture in which every empty tick of the loaded arrays gets liquidity_gross 1
and liquidity_net 0: each tick is then a real crossing step for the swap loop
while the pool's liquidity stays that of the fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.clmm.bitmap import tick_array_address
from lstarb_raydium.clmm.state import (
    TICK_ARRAY_SIZE,
    TICK_LEN,
    TICKS_OFFSET,
    AmmConfig,
    BitmapExtension,
    PoolState,
    TickArray,
)
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import load_dir

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "clmm"
POOL = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
ACCOUNTS = load_dir(FIXTURES)


def _pool(accounts: dict[Pubkey, Account]) -> ClmmPool:
    p = ClmmPool.from_account(POOL, accounts[POOL])
    p.update(accounts)
    return p


def _dense(accounts: dict[Pubkey, Account]) -> dict[Pubkey, Account]:
    """Every empty tick of the loaded arrays initialized with zero net liquidity."""
    out = dict(accounts)
    for start in (-25200, -25140, -25080, -25020):
        key = tick_array_address(POOL, start)
        acc = accounts[key]
        d = bytearray(acc.data)
        for i in range(TICK_ARRAY_SIZE):
            p = TICKS_OFFSET + TICK_LEN * i
            if not any(d[p + 20 : p + 36]):
                d[p : p + 4] = (start + i).to_bytes(4, "little", signed=True)
                d[p + 20 : p + 36] = (1).to_bytes(16, "little")
        out[key] = Account(acc.lamports, bytes(d), acc.owner, acc.executable, acc.rent_epoch)
    return out


REAL = _pool(ACCOUNTS)
DENSE = _pool(_dense(ACCOUNTS))
MINT0, MINT1 = REAL.mints


def _amount_crossing(pool: ClmmPool, ticks: int) -> int:
    """Smallest token0 input whose swap crosses ``ticks`` initialized ticks (bisection)."""
    lo, hi = 100, 10**12
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            enough = pool.swap_amounts(mid, True, True)[4] >= ticks
        except QuoteError:  # past the loaded arrays
            enough = True
        if enough:
            hi = mid
        else:
            lo = mid
    assert pool.swap_amounts(hi, True, True)[4] == ticks
    return hi


POOL_DATA = bytes(ACCOUNTS[POOL].data)
CONFIG_DATA = bytes(ACCOUNTS[REAL.pool_state.amm_config].data)
ARRAY_DATA = bytes(ACCOUNTS[tick_array_address(POOL, -25200)].data)
EXT_DATA = bytes(ACCOUNTS[REAL.bitmap_extension_key].data)


def test_decode_pool_state(benchmark) -> None:
    assert benchmark(PoolState.decode, POOL_DATA).tick_current == -25046


def test_decode_pool_state_refresh(benchmark) -> None:
    """The hot path: a changed pool account decoded against its previous state."""
    previous = PoolState.decode(POOL_DATA)
    assert benchmark(PoolState.decode, POOL_DATA, previous).tick_current == -25046


def test_decode_amm_config(benchmark) -> None:
    assert benchmark(AmmConfig.decode, CONFIG_DATA).trade_fee_rate == 200


def test_decode_tick_array_header(benchmark) -> None:
    assert benchmark(TickArray.decode, ARRAY_DATA).start_tick_index == -25200


def test_decode_tick_array_with_tick_index(benchmark) -> None:
    """Header plus the initialized-tick index a quote builds on first use of an array."""

    def run() -> int:
        return len(TickArray.decode(ARRAY_DATA).initialized[0])

    assert benchmark(run) == 4


def test_decode_bitmap_extension(benchmark) -> None:
    assert benchmark(BitmapExtension.decode, EXT_DATA).pool_id == POOL


def test_update_all_accounts(benchmark) -> None:
    """A full refresh: pool, config, vaults, extension, four tick arrays, mints."""
    pool = _pool(ACCOUNTS)
    benchmark(pool.update, ACCOUNTS)


@pytest.mark.parametrize(
    ("label", "pool", "ticks"),
    [
        ("fixture", REAL, 0),
        ("fixture", REAL, 3),
        ("fixture", REAL, 6),
        ("dense", DENSE, 0),
        ("dense", DENSE, 5),
        ("dense", DENSE, 20),
        ("dense", DENSE, 60),
    ],
    ids=["fixture-0", "fixture-3", "fixture-6", "dense-0", "dense-5", "dense-20", "dense-60"],
)
def test_quote_crossing(benchmark, label: str, pool: ClmmPool, ticks: int) -> None:
    amount = 1_000 if ticks == 0 else _amount_crossing(pool, ticks)
    assert pool.swap_amounts(amount, True, True)[4] == ticks
    q = benchmark(pool.quote, amount, MINT0)
    assert q.out_amount > 0


def test_quote_exact_out_crossing_6(benchmark) -> None:
    out = REAL.quote(_amount_crossing(REAL, 6), MINT0).out_amount
    q = benchmark(REAL.quote, out, MINT0, exact_in=False)
    assert q.out_amount == out
