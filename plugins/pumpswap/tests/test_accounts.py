"""accounts_to_update lists what the quote reads; update takes subsets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.testing import accounts_of, load_json, with_data

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = [s["label"] for s in load_json(FIXTURES / "MANIFEST.json")["sets"]]
Scenario = Callable[[str], dict[str, tuple[Pubkey, Account]]]


@pytest.mark.parametrize("label", LABELS)
def test_accounts_to_update(scenario: Scenario, label: str) -> None:
    accs = scenario(label)
    key, acc = accs["pool"]
    pool = PumpSwapPool.from_account(key, acc)
    before = pool.accounts_to_update()
    want = [
        accs[r][0]
        for r in ("pool", "base_vault", "quote_vault", "global_config", "fee_config", "base_mint")
    ]
    assert before == [*want, accs["quote_mint"][0]]  # quote token program unknown yet
    pool.update(accounts_of(accs))
    assert pool.accounts_to_update() == want  # both quote mints here are SPL Token
    assert set(pool.accounts_to_update()) <= {k for k, _ in accs.values()}


def test_partial_updates_move_the_quote(scenario: Scenario) -> None:
    accs = scenario(LABELS[0])
    key, acc = accs["pool"]
    pool = PumpSwapPool.from_account(key, acc)
    pool.update(accounts_of(accs))
    before = pool.quote(10**9, pool.mints[1])
    vkey, vacc = accs["quote_vault"]
    data = bytearray(vacc.data)
    amount = int.from_bytes(data[64:72], "little") * 2
    data[64:72] = amount.to_bytes(8, "little")
    pool.update({vkey: with_data(vacc, bytes(data))})
    assert pool.reserves[1] == amount
    after = pool.quote(10**9, pool.mints[1])
    assert after.out_amount < before.out_amount  # base got dearer
    assert pool.fee_rates is not None
