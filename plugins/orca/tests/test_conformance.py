"""The SDK's conformance kit on the Whirlpool adapter, on every real fixture set.

Plus an adaptive-fee variant (synthetic Oracle, Clock) and a Token-2022 variant
(transfer-fee mints, Clock), so that the Oracle's and the mints' None handling,
fuzzing and decode contract are checked too. Tick arrays the MANIFEST says did not
exist on chain are given as None, as the chain answers.

Two allowances. Exact-out may ask a few units more than the least input whose exact-in
output reaches the amount: the program rounds each step's input up, about one unit per
tick crossed (up to 69 units on these fixtures, for swaps crossing 86 ticks; the numbers
are Orca's own, proven to the unit in test_oracle_quotes). And summary() needs the
vault balances, which five of the seven sets did not dump.
"""

from __future__ import annotations

from typing import Any

import pytest
from orca_testlib import FIXTURES, LABELS, pool_files, pool_set
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import (
    check_adapter,
    clock_account,
    load_account,
    load_json,
    patched,
    token2022_mint,
)

IDL = load_json(FIXTURES / "idl" / "whirlpool.json")
EXACT_OUT_SLACK = 128
KIT_FILES = ("whirlpool", "tick_array_", "mint_", "vault_")


def _accounts(label: str) -> tuple[Pubkey, dict[Pubkey, Account | None]]:
    files = pool_files(label)
    accounts: dict[Pubkey, Account | None] = {
        key: acc for stem, (key, acc) in files.items() if stem.startswith(KIT_FILES)
    }
    for absent in pool_set(label).get("tick_arrays_absent_uninitialized", []):
        accounts[Pubkey.from_string(absent["pda"])] = None
    return files["whirlpool"][0], accounts


def _run(address: Pubkey, accounts: dict[Pubkey, Account | None], **kw: Any) -> None:
    check_adapter(
        WhirlpoolPool,
        address,
        accounts,
        idl=IDL,
        budget=40,
        exact_out_tolerance=EXACT_OUT_SLACK,
        **kw,
    )


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS)
def test_conformance_on_real_fixtures(label: str) -> None:
    address, accounts = _accounts(label)
    skip = {}
    if not any(stem.startswith("vault_") for stem in pool_files(label)):
        skip["summary"] = f"{label} has no vault dumps: no reserves to summarise"
    _run(address, accounts, skip=skip)


@pytest.mark.slow
def test_conformance_adaptive_fee_pool() -> None:
    label = "sol-usdc-ts64-2022"  # has vaults
    address, accounts = _accounts(label)
    pool_account = accounts[address]
    assert pool_account is not None
    accounts[address] = patched(pool_account, 43, (1024).to_bytes(2, "little"))
    _, oracle = load_account(FIXTURES / "synthetic" / "msol-sol-ts1-oracle.json")
    # the synthetic Oracle belongs to another pool: re-point it at this one
    data = bytes(oracle.data)
    oracle = Account(oracle.lamports, data[:8] + bytes(address) + data[40:], oracle.owner)
    group = int.from_bytes(data[62:64], "little")
    assert 64 % group == 0
    accounts[WhirlpoolPool.from_account(address, accounts[address]).oracle_address] = oracle
    accounts[SYSVAR_CLOCK_ID] = clock_account(1_700_000_000)
    _run(address, accounts)


@pytest.mark.slow
def test_conformance_token2022_pool() -> None:
    label = "sol-usdc-ts64-2022"
    address, accounts = _accounts(label)
    files = pool_files(label)
    for side, bps in (("a", 150), ("b", 33)):
        key, mint = files[f"mint_{side}"]
        accounts[key] = token2022_mint(
            mint, fee_bps=bps, max_fee=10**9, newer_fee_bps=bps + 1, newer_epoch=600
        )
    accounts[SYSVAR_CLOCK_ID] = clock_account(1_700_000_000, epoch=500)
    _run(address, accounts)
