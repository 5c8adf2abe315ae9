"""Quotes equal Orca's own core math (@orca-so/whirlpools-core) to the unit.

tests/oracle/oracle.mjs computed expected_quotes.json from the same fixture
bytes: a grid of sizes from 1 unit to u64::MAX in both directions, exact-in
and exact-out, plus the exact edge where the 3-array window runs out, for the
plain pools and for synthetic Token-2022 transfer-fee and adaptive-fee
variants. Where the core fails, the adapter must raise QuoteError.
"""

from __future__ import annotations

import pytest
from orca_testlib import expected, load_pool

from lstarb_sdk.errors import QuoteError

CASES = [
    (label, i)
    for label, entry in expected()["pools"].items()
    for i in range(len(entry["variants"]))
]


def _pool(label: str, variant: dict):
    name = variant["name"]
    if name == "plain":
        return load_pool(label)
    if name == "transfer_fee":
        return load_pool(label, transfer_fee=variant["transfer_fee"])
    assert name.startswith("adaptive@")
    return load_pool(
        label, adaptive_seed=variant["fee_tier_index_seed"], timestamp=int(variant["timestamp"])
    )


@pytest.mark.parametrize(("label", "index"), CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_quotes_match_orca_core(label: str, index: int) -> None:
    variant = expected()["pools"][label]["variants"][index]
    pool = _pool(label, variant)
    mint_a, mint_b = pool.mints
    mismatches = []
    for case in variant["cases"]:
        amount = int(case["amount"])
        input_mint = mint_a if case["a_to_b"] else mint_b
        partial = "error" not in case and not case["exact_in"] and int(case["out"]) != amount
        try:
            q = pool.quote(amount, input_mint, exact_in=case["exact_in"])
        except QuoteError as e:
            if "error" not in case and not partial:
                mismatches.append((case, f"QuoteError: {e}"))
            continue
        if "error" in case or partial:
            mismatches.append((case, q))
            continue
        got = (q.in_amount, q.out_amount, q.fee_amount)
        want = (int(case["in"]), int(case["out"]), int(case["fee"]))
        if got != want:
            mismatches.append((case, got))
    assert not mismatches, f"{len(mismatches)} of {len(variant['cases'])}: {mismatches[:5]}"
