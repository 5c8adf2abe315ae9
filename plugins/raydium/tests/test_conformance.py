"""Every Raydium adapter passes the SDK's conformance kit on its real fixture accounts.

One call per adapter (:func:`lstarb_sdk.testing.check_adapter`): decode and
update contract, None handling, accounts_to_update, summary, the quote laws,
fuzzing of every account it reads (seeded, bounded) and swap_instruction
against the program's IDL with anchorpy. The report names every broken law.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.clmm.bitmap import tick_array_address
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import check_adapter, clock_account, load_account, load_dir, load_json

FIXTURES = Path(__file__).parent / "fixtures"
AMM = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
CLMM = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
#: 2026-01-01, epoch 948: after both pools opened, the epoch the fixtures were dumped in.
CLOCK = clock_account(1_767_225_600, 948)


def test_amm_v4(amm_v4_idl: dict[str, Any]) -> None:
    report = check_adapter(AmmV4Pool, AMM, load_dir(FIXTURES / "amm_v4"), idl=amm_v4_idl)
    assert all(r.checks for r in report.results)


def test_cpmm() -> None:
    accounts = {**load_dir(FIXTURES / "cpmm"), SYSVAR_CLOCK_ID: CLOCK}
    check_adapter(CpmmPool, CP, accounts, idl=load_json(FIXTURES / "idl" / "raydium_cp_swap.json"))


#: CLMM's exact-out rounds the input of every step up, and a step that reaches its target
#: tick pays for the whole range: where a walk ends on a tick the program asks a few units
#: more than the least exact input that delivers (9 at the fixture's largest fill). The SDK
#: asks the same, to the unit (test_clmm_oracle): this is the program, not the adapter.
CLMM_EXACT_OUT_TOLERANCE = 16


@pytest.mark.slow
def test_clmm() -> None:
    check_adapter(
        ClmmPool,
        CLMM,
        load_dir(FIXTURES / "clmm"),
        idl=load_json(FIXTURES / "idl" / "raydium_clmm.json"),
        exact_out_tolerance=CLMM_EXACT_OUT_TOLERANCE,
    )


@pytest.mark.slow
def test_clmm_with_an_array_that_does_not_exist() -> None:
    """The gap_down variant (test_clmm_sparse_oracle): array -25140 is absent on chain."""
    accounts: dict[Pubkey, Account | None] = dict(load_dir(FIXTURES / "clmm"))
    accounts[CLMM] = load_account(FIXTURES / "clmm_sparse" / "pool_gap_down.json")[1]
    accounts[tick_array_address(CLMM, -25140)] = None
    check_adapter(
        ClmmPool,
        CLMM,
        accounts,
        idl=load_json(FIXTURES / "idl" / "raydium_clmm.json"),
        exact_out_tolerance=CLMM_EXACT_OUT_TOLERANCE,
        budget=60,
    )
