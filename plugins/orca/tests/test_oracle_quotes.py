"""Quotes equal Orca's own core math (@orca-so/whirlpools-core) to the unit.

tests/oracle/oracle.mjs computed expected_quotes.json from the same fixture
bytes: a grid of sizes from 1 unit to u64::MAX in both directions, exact-in
and exact-out, plus the exact edge where the 3-array window runs out, for the
plain pools and for synthetic Token-2022 transfer-fee and adaptive-fee
variants. Where the core fails, the adapter must raise QuoteError.

Sparse swaps ("moved@TICK"): the real SOL/JitoSOL pool moved next to the tick
arrays that did not exist on chain, quoted through them in both directions; the
adapter is fed None for those arrays (the chain's answer) and must quote as the
core does with uninitialized arrays, to the unit, up to the exact edge. The
"sdk" variant is what Orca's own SDK quotes (current array +-2, missing ones as
uninitialized arrays).
"""

from __future__ import annotations

import pytest
from orca_testlib import expected, variant_pool

from lstarb_orca.tick_math import tick_at_sqrt_price
from lstarb_sdk.errors import QuoteError

CASES = [
    (label, i)
    for label, entry in expected()["pools"].items()
    for i in range(len(entry["variants"]))
]


@pytest.mark.parametrize(("label", "index"), CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_quotes_match_orca_core(label: str, index: int) -> None:
    variant = expected()["pools"][label]["variants"][index]
    pool = variant_pool(label, variant)
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


def test_sparse_cases_cross_arrays_that_did_not_exist() -> None:
    """The moved pools' windows really hold the absent arrays, both directions, and the
    swaps cross them: a non-error case reaches beyond the first array of its window."""
    entry = expected()["pools"]["jitosol-sol-ts1"]
    moved = [v for v in entry["variants"] if v["name"].startswith("moved@")]
    assert len(moved) >= 3
    crossed = {d for v in moved for d, arrays in v["absent_arrays_in_window"].items() if arrays}
    assert crossed == {"a_to_b", "b_to_a"}
    for v in moved:
        pool = variant_pool("jitosol-sol-ts1", v)
        for direction, absent in v["absent_arrays_in_window"].items():
            if not absent:
                continue
            a_to_b = direction == "a_to_b"
            ok = [c for c in v["cases"] if c["a_to_b"] == a_to_b and "error" not in c]
            assert {c["exact_in"] for c in ok} == {True, False}
            largest = max(ok, key=lambda c: int(c["amount"]))
            res = pool.swap(int(largest["amount"]), a_to_b, largest["exact_in"])
            end = tick_at_sqrt_price(res.end_sqrt_price)
            assert (end < min(absent) + 88) if a_to_b else (end >= max(absent)), (v["name"], end)
