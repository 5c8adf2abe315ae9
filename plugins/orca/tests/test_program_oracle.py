"""Quotes equal what Orca's deployed Whirlpool program does, to the unit.

tests/program_oracle/run_program.py ran the mainnet binary Orca publishes (its
whirlpool-tx-replayer, upgrade of 2025-09-11, slot 366 188 902) on solders.litesvm with
these fixtures and the adapter's own swap_v2 instructions, and recorded what the trader
sent and received or the error: expected_program.json. Every point is checked here. Window
arrays the program was not given do not exist for it (it swaps through them as
uninitialized); the adapter is told the same (None) first. CI never runs the program.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from orca_testlib import load_pool
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import load_json
from lstarb_sdk.testing.program_oracle import committed_binaries, fit_compute_units

HERE = Path(__file__).parent
PROGRAM = HERE / "program_oracle" / "expected_program.json"
COMPUTE_UNITS = HERE / "program_oracle" / "compute_units.json"
TICK_ARRAY_SEQUENCE_INVALID_INDEX = 6038  # the swap walks past the 3-array window
MAX_TRANSACTION_UNITS = 1_400_000


def _program() -> dict[str, Any]:
    return load_json(PROGRAM)  # type: ignore[no-any-return]


VARIANTS = [(p["label"], v["name"]) for p in _program()["pools"] for v in p["variants"]]


def _pool(label: str, variant: dict[str, Any]) -> WhirlpoolPool:
    pool = load_pool(label, whirlpool_file=variant.get("whirlpool_file"))
    pool.update({Pubkey.from_string(k): None for k in variant["tick_arrays_absent"]})
    return pool


def test_the_program_binary_is_named() -> None:
    program = _program()["program"]
    assert program["id"] == "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc"
    assert len(program["sha256"]) == 64
    assert program["source"].startswith("orca-so/whirlpool-tx-replayer@")
    assert program["source"].endswith("/whirlpool-20250911-366188902.so")
    assert program["security_txt"]["source_code"] == "https://github.com/orca-so/whirlpools"
    assert not committed_binaries(HERE.parent), "program binaries are not ours to commit"


def _check(pool: WhirlpoolPool, cases: list[dict[str, Any]]) -> Counter[str]:
    a, b = pool.mints
    counts: Counter[str] = Counter()
    for case in cases:
        mint = a if case["a_to_b"] else b
        amount = int(case["amount"])
        where = (case["a_to_b"], case["exact_in"], amount)
        if "error" in case:
            if case["code"] is None and "ProgramFailedToComplete" in case["error"]:
                # The program ran out of the transaction's 1.4M compute units: where the
                # adapter quotes, the measured table says the swap cannot fit a transaction.
                try:
                    res = pool.swap(amount, case["a_to_b"], case["exact_in"])
                except QuoteError:
                    counts["refused, the program out of compute units first"] += 1
                    continue
                units = pool.compute_units.estimate(res.ticks_crossed)
                assert units > MAX_TRANSACTION_UNITS, (where, res.ticks_crossed, units)
                counts["over the compute limit"] += 1
                continue
            with pytest.raises(QuoteError):
                pool.quote(amount, mint, exact_in=case["exact_in"])
            counts[f"refused {case['code']}"] += 1
            continue
        q = pool.quote(amount, mint, exact_in=case["exact_in"])
        assert (q.in_amount, q.out_amount) == (int(case["in"]), int(case["out"])), where
        counts["executed"] += 1
    return counts


@pytest.mark.parametrize(("label", "variant"), VARIANTS)
def test_quotes_equal_the_program(label: str, variant: str) -> None:
    doc = next(p for p in _program()["pools"] if p["label"] == label)
    var = next(v for v in doc["variants"] if v["name"] == variant)
    counts = _check(_pool(label, var), var["cases"])
    assert counts["executed"] > 150, counts
    # every set runs out of its window (6038), or of compute units first (tick spacing 4)
    refused = sum(n for what, n in counts.items() if what.startswith("refused"))
    assert refused > 50, counts
    assert (
        counts[f"refused {TICK_ARRAY_SEQUENCE_INVALID_INDEX}"] > 50 or label == "sol-usdc-ts4-2024"
    )


def test_compute_units_are_the_measured_fit() -> None:
    """WhirlpoolPool.compute_units is the upper-bound line over every measured swap
    (compute_units.json, from the program oracle): base and per tick crossed."""
    table = load_json(COMPUTE_UNITS)
    assert table["program"]["sha256"] == _program()["program"]["sha256"]
    points = [(row["crossings"], row["max"]) for row in table["cases"]]
    points += [(row["crossings"], row["min"]) for row in table["cases"]]
    fit = fit_compute_units(points, source="")
    cu = WhirlpoolPool.compute_units
    assert (cu.base, cu.per_crossing, cu.measured_max) == (
        fit.base,
        fit.per_crossing,
        fit.measured_max,
    )
    assert cu.source.startswith("orca-so/whirlpool-tx-replayer@")
    assert {row["fixture"] for row in table["cases"]} >= {"jitosol-sol-ts1", "sol-usdc-ts8"}
    assert max(row["crossings"] for row in table["cases"]) >= 20
