"""The SDK's conformance kit on the DLMM adapter, on every real fixture set.

The bitmap extension is given as None where the MANIFEST says its PDA does not exist on
chain; a Clock at each set's default time. Plus the pair with bitmap gaps of
test_oracle_quotes (synthetic bitmap over the real arrays, the gap arrays None), so the
kit also walks a sparse pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from meteora_testlib import FIXTURES, LABELS, clock_account, default_timestamp, pool_feed
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import check_adapter, load_json

IDL = load_json(FIXTURES / "idl" / "lb_clmm.json")


def _accounts(
    label: str, pair_file: str | None = None, absent: Sequence[int] = ()
) -> tuple[Pubkey, dict[Pubkey, Account | None]]:
    pool, feed = pool_feed(label, pair_file, absent)
    feed[SYSVAR_CLOCK_ID] = clock_account(default_timestamp(label))
    return pool.address, feed


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS)
def test_conformance_on_real_fixtures(label: str) -> None:
    check_adapter(DlmmPool, *_accounts(label), idl=IDL, budget=40)


@pytest.mark.slow
def test_conformance_on_a_pair_with_bitmap_gaps() -> None:
    sparse = load_json(FIXTURES.parent / "oracle" / "expected_quotes.json")["sparse"][0]
    key, accs = _accounts(sparse["label"], sparse["pair_file"], sparse["uninitialized_arrays"])
    check_adapter(DlmmPool, key, accs, idl=IDL, budget=40)
