"""The SDK's conformance kit on the DLMM adapter, on every real fixture set.

The bitmap extension is given as None where the MANIFEST says its PDA does not exist on
chain; a Clock at each set's default time. Plus the pair with bitmap gaps of
test_oracle_quotes (synthetic bitmap over the real arrays, the gap arrays None), so the
kit also walks a sparse pair.
"""

from __future__ import annotations

import pytest
from meteora_testlib import (
    FIXTURES,
    LABELS,
    accounts,
    clock_account,
    default_timestamp,
    pair_address,
)
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import check_adapter, load_account, load_json

IDL = load_json(FIXTURES / "idl" / "lb_clmm.json")


def _accounts(label: str) -> dict[Pubkey, Account | None]:
    accs: dict[Pubkey, Account | None] = dict(accounts(label))
    pool = DlmmPool.from_account(pair_address(label), accounts(label)[pair_address(label)])
    accs.setdefault(pool.bitmap_extension_address, None)
    accs[SYSVAR_CLOCK_ID] = clock_account(default_timestamp(label))
    return accs


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS)
def test_conformance_on_real_fixtures(label: str) -> None:
    check_adapter(DlmmPool, pair_address(label), _accounts(label), idl=IDL, budget=40)


@pytest.mark.slow
def test_conformance_on_a_pair_with_bitmap_gaps() -> None:
    sparse = load_json(FIXTURES.parent / "oracle" / "expected_quotes.json")["sparse"][0]
    label = sparse["label"]
    key, pair = load_account(FIXTURES / sparse["pair_file"])
    accs = _accounts(label)
    accs[key] = pair
    pool = DlmmPool.from_account(key, pair)
    for index in sparse["uninitialized_arrays"]:
        accs[pool.bin_array_key(index)] = None
    check_adapter(DlmmPool, key, accs, idl=IDL, budget=40)
