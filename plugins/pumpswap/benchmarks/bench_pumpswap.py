"""Decode and quote timings (run with --benchmark-enable for numbers).

Targets of issue 5: decode <= 5 us per account; quote <= 3 us. Decodes are
timed per account kind (a pool refresh with its previous state, as the
runtime's update path does; a vault through the adapter's update), quotes in
all four directions on the canonical wSOL pool.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_pumpswap.state import FeeConfig, GlobalConfig, Pool
from lstarb_sdk.solana import token_account_amount
from lstarb_sdk.testing import accounts_of, load_named

ACCOUNTS = load_named(Path(__file__).parent.parent / "tests" / "fixtures" / "7lss-wsol-canonical")


def _data(role: str) -> bytes:
    return bytes(ACCOUNTS[role][1].data)


def _loaded() -> PumpSwapPool:
    key, account = ACCOUNTS["pool"]
    pool = PumpSwapPool.from_account(key, account)
    pool.update(accounts_of(ACCOUNTS))
    return pool


def test_decode_pool(benchmark) -> None:
    benchmark(Pool.decode, _data("pool"))


def test_decode_pool_refresh(benchmark) -> None:
    data = _data("pool")
    previous = Pool.decode(data)
    benchmark(Pool.decode, data, previous)


def test_decode_global_config(benchmark) -> None:
    benchmark(GlobalConfig.decode, _data("global_config"))


def test_decode_fee_config(benchmark) -> None:
    benchmark(FeeConfig.decode, _data("fee_config"))


def test_decode_vault_amount(benchmark) -> None:
    benchmark(token_account_amount, _data("quote_vault"))


def test_update_vault(benchmark) -> None:
    """One vault refresh through the adapter (decode + fee-rate recompute)."""
    pool = _loaded()
    key, acc = ACCOUNTS["quote_vault"]
    benchmark(pool.update, {key: acc})


@pytest.mark.parametrize(
    ("side", "exact_in"), [("buy", True), ("buy", False), ("sell", True), ("sell", False)]
)
def test_quote(benchmark, side: str, exact_in: bool) -> None:
    pool = _loaded()
    base_reserve, quote_reserve = pool.reserves
    assert base_reserve and quote_reserve
    mint = pool.mints[1] if side == "buy" else pool.mints[0]
    amount = (quote_reserve if (side == "buy") == exact_in else base_reserve) // 1000
    pool.quote(amount, mint, exact_in=exact_in)
    benchmark(pool.quote, amount, mint, exact_in=exact_in)
