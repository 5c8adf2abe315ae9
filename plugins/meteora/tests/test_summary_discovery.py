"""summary() (SDK 1.1): reserves, the active bin's liquidity and the fee a swap pays now,
without a quote; None until the pool can quote. discovery_filters(): getProgramAccounts
filters that select the pairs of given mints and nothing else, on every real fixture."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from meteora_testlib import (
    FIXTURES,
    LABELS,
    accounts,
    clock_account,
    default_timestamp,
    expected,
    fixture_doc,
    idl_coder,
    load_pool,
    pair_address,
    program_cases,
)
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.bitmap import bin_array_index
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TokenAccount
from lstarb_sdk.testing import load_dir


def _idl_bin(label: str, bin_id: int) -> Any:
    index = bin_array_index(bin_id)
    raw = base64.b64decode(fixture_doc(label, f"bin_array_{index}.json")["data_base64"])
    return idl_coder().accounts.decode(raw).bins[bin_id - index * 70]


@pytest.mark.parametrize("label", LABELS)
def test_summary_reserves_and_active_bin_liquidity(label: str) -> None:
    pool = load_pool(label)
    pair = pool.pair
    summary = pool.summary()
    assert summary is not None
    accs = accounts(label)
    assert summary.reserve_a == TokenAccount.decode(bytes(accs[pair.reserve_x].data)).amount
    assert summary.reserve_b == TokenAccount.decode(bytes(accs[pair.reserve_y].data)).amount
    b = _idl_bin(label, pair.active_id)  # the bin as anchorpy reads it through the IDL
    assert summary.liquidity == ((b.amount_x * b.price) >> 64) + b.amount_y
    assert summary.liquidity > 0


def test_summary_fee_is_the_sdks_rate_in_the_active_bin() -> None:
    """Where the SDK quoted an exact-in swap that paid its fee on the input and filled in
    the active bin alone, its whole fee F on the pool-side input P is ceil(P * r / 10^9)
    for the bin's rate r (10^-9 units). The summary's fee_ppm (r rounded up to ppm) must
    admit such an r; from P >= 10^8 on that pins the ppm value."""
    checked = set()
    for doc in expected()["pools"]:
        label = doc["label"]
        for scen in doc["scenarios"]:
            pool = load_pool(label, scen["unix_timestamp"], scen["epoch"])
            x, y = pool.mints
            summary = pool.summary()
            if (label, scen["name"]) == ("jlp-hubsol-bs8", "elapsed_0"):
                assert summary is None  # before the farming reward's last update: no swap
                continue
            assert summary is not None
            ran = program_cases("pools", label, scen["name"])
            for case in scen["cases"]:
                if not case["exact_in"] or "error" in case or int(case["amount"]) < 10**8:
                    continue
                if "error" in ran[(case["swap_for_y"], True, case["amount"])]:
                    continue  # the program refuses it (test_oracle_quotes)
                detail = pool.quote_detailed(int(case["amount"]), x if case["swap_for_y"] else y)
                p = detail.swap.amount_in
                if detail.swap.bins_crossed != 1 or not detail.swap.fee_on_input or p < 10**8:
                    continue
                f = int(case["fee"]) + int(case["protocol_fee"])
                # r with ceil(p * r / 1e9) == f, and r with ceil(r / 1000) == fee_ppm
                lo = max((f - 1) * 10**9 // p + 1, 1000 * (summary.fee_ppm - 1) + 1)
                hi = min(f * 10**9 // p, 1000 * summary.fee_ppm)
                assert lo <= hi, (label, scen["name"], case, summary.fee_ppm)
                checked.add((label, scen["name"]))
    assert len(checked) >= 6 and len({label for label, _ in checked}) >= 2, checked


def test_summary_is_none_until_the_pool_can_quote() -> None:
    label = "sol-usdc-bs4"
    accs = accounts(label)
    pool = DlmmPool.from_account(pair_address(label), accs[pair_address(label)])
    pair = pool.pair
    pool.update({pair.reserve_x: accs[pair.reserve_x], pair.reserve_y: accs[pair.reserve_y]})
    assert pool.summary() is None  # no Clock, no bin arrays
    pool.update({k: a for k, a in accs.items() if k not in (pair.reserve_x, pair.reserve_y)})
    assert pool.summary() is None  # still no Clock
    pool.update({SYSVAR_CLOCK_ID: clock_account(default_timestamp(label))})
    assert pool.summary() == load_pool(label).summary() != None  # noqa: E711


# -- discovery ---------------------------------------------------------------------------

SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
HUBSOL = Pubkey.from_string("HUBsveNpjo5pWqNkH57QzxjQASdTVXcSK7bVKTSZtcSX")


@pytest.mark.parametrize(
    ("mints", "want"),
    [
        ([HUBSOL], {"jlp-hubsol-bs8"}),
        ([USDC], {"sol-usdc-bs4"}),
        ([SOL], {"sol-usdc-bs4", "pump-sol-bs250", "ttfz-sol-bs10-token2022"}),
        ([HUBSOL, USDC, HUBSOL], {"jlp-hubsol-bs8", "sol-usdc-bs4"}),
    ],
)
def test_discovery_filters_select_the_pairs_of_a_mint(mints: list[Pubkey], want: set[str]) -> None:
    filters = DlmmPool.discovery_filters(mints)
    assert len(filters) == 2 * len(set(mints))
    selected = set()
    for label in LABELS:
        for key, acc in load_dir(FIXTURES / label).items():
            if any(f.matches(bytes(acc.data)) for f in filters):
                selected.add((label, key))
    assert selected == {(label, pair_address(label)) for label in want}
    for label, key in selected:
        acc = accounts(label)[key]
        assert DlmmPool.matches(acc)
        assert set(mints) & set(DlmmPool.from_account(key, acc).mints)


def test_discovery_filters_name_size_discriminator_and_mint_offsets() -> None:
    fx, fy = DlmmPool.discovery_filters([USDC])
    for f in (fx, fy):
        assert f.data_size == 904
        assert f.memcmp[0] == (0, bytes.fromhex("210b3162b565b10d"))
    data = bytes(accounts("sol-usdc-bs4")[pair_address("sol-usdc-bs4")].data)
    (off_x, _), (off_y, raw_y) = fx.memcmp[1], fy.memcmp[1]
    assert data[off_x : off_x + 32] == bytes(SOL)
    assert data[off_y : off_y + 32] == bytes(USDC) == raw_y
