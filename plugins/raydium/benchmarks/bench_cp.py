"""Raydium AMM V4 and CPMM: decode time per account and constant-product quote time.

Run for numbers:
``.venv/bin/pytest plugins/raydium/benchmarks/bench_cp.py --benchmark-enable -q``.
Targets: decode <= 5 us per account, quote <= 3 us.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.amm_v4.state import AmmInfo
from lstarb_raydium.cpmm import CpmmPool
from lstarb_raydium.cpmm.state import AmmConfig, PoolState
from lstarb_sdk.solana import token_account_amount
from lstarb_sdk.testing import load_dir

FIX = Path(__file__).parent.parent / "tests" / "fixtures"
AMM_ACC = load_dir(FIX / "amm_v4")
CP_ACC = load_dir(FIX / "cpmm")
AMM_KEY = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP_KEY = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
AMM = AmmV4Pool.from_account(AMM_KEY, AMM_ACC[AMM_KEY])
AMM.update(AMM_ACC)
CP = CpmmPool.from_account(CP_KEY, CP_ACC[CP_KEY])
CP.update(CP_ACC)
AMM_DATA = bytes(AMM_ACC[AMM_KEY].data)
CP_DATA = bytes(CP_ACC[CP_KEY].data)
CFG_DATA = bytes(CP_ACC[CP.pool_state.amm_config].data)
VAULT_DATA = bytes(CP_ACC[CP.pool_state.token_0_vault].data)


@pytest.mark.parametrize(
    ("fn", "data"),
    [
        (AmmInfo.decode, AMM_DATA),
        (PoolState.decode, CP_DATA),
        (AmmConfig.decode, CFG_DATA),
        (token_account_amount, VAULT_DATA),
    ],
    ids=["amm_v4_info", "cpmm_pool_state", "cpmm_amm_config", "vault_amount"],
)
def test_decode(benchmark: Any, fn: Any, data: bytes) -> None:
    benchmark(fn, data)


@pytest.mark.parametrize(
    ("pool", "exact_in"),
    [(AMM, True), (AMM, False), (CP, True), (CP, False)],
    ids=["amm_v4_exact_in", "amm_v4_exact_out", "cpmm_exact_in", "cpmm_exact_out"],
)
def test_quote(benchmark: Any, pool: Any, exact_in: bool) -> None:
    mint = pool.mints[0]
    q = benchmark(pool.quote, 1_000_000, mint, exact_in=exact_in)
    assert q.in_amount > 0 and q.out_amount > 0


def test_update_all_accounts(benchmark: Any) -> None:
    """A full refresh of the CPMM pool (pool, config, both vaults)."""
    benchmark(CP.update, CP_ACC)
