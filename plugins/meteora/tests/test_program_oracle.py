"""Quotes equal what Meteora's production lb_clmm program does, to the unit.

tests/program_oracle/run_program.py ran the production binary on solders.litesvm with
these fixtures and the adapter's own swap2 / swap_exact_out2 instructions, and recorded
what the trader sent and received (token balances), the program's Swap event (fee and
protocol fee) or the error it failed with: expected_program.json. Every point is checked
here: a swap the program executed quotes the same amounts and fees; a swap it refused
raises QuoteError. CI compares against the recorded numbers and never runs the program.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from meteora_testlib import HERE, LABELS, load_pool

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import load_json
from lstarb_sdk.testing.program_oracle import fit_compute_units

PROGRAM = HERE / "program_oracle" / "expected_program.json"
# Errors of the program that the fixture sets provoke, and why the adapter refuses too.
UNDETERMINED_ERROR = 6085  # exact-out whose input, converted once, falls one unit short
MATH_OVERFLOW = 6018  # a Clock earlier than a farming reward's last update
TOKEN_INSUFFICIENT_FUNDS = 1  # the reserve holds less than the swap pays out


def _program() -> dict[str, Any]:
    return load_json(PROGRAM)  # type: ignore[no-any-return]


def _sets() -> list[tuple[str, dict[str, Any]]]:
    doc = _program()
    return [("pool", p) for p in doc["pools"]] + [("sparse", p) for p in doc["sparse"]]


SCENARIOS = [(kind, p["label"], s["name"]) for kind, p in _sets() for s in p["scenarios"]]


def _pool(kind: str, doc: dict[str, Any], scen: dict[str, Any]) -> DlmmPool:
    if kind == "pool":
        return load_pool(doc["label"], scen["unix_timestamp"], scen["epoch"])
    return load_pool(
        doc["label"],
        scen["unix_timestamp"],
        scen["epoch"],
        pair_file=doc["pair_file"],
        absent=doc["uninitialized_arrays"],
    )


def test_the_program_binary_is_named() -> None:
    """Which binary made the numbers: its sha256 and the public commit it came from."""
    program = _program()["program"]
    assert len(program["sha256"]) == 64
    assert program["source"].startswith("MeteoraAg/dlmm-sdk@")
    assert program["source"].endswith(":commons/tests/artifacts/lb_clmm_prod.so")
    assert sorted(p["label"] for p in _program()["pools"]) == sorted(LABELS)
    assert [p["label"] for p in _program()["sparse"]] == ["sol-usdc-bs4"]
    assert not list(Path(HERE).rglob("*.so")), "the program binary is not ours to commit"


def _check(pool: DlmmPool, cases: list[dict[str, Any]]) -> Counter[str]:
    x, y = pool.mints
    counts: Counter[str] = Counter()
    for case in cases:
        mint = x if case["swap_for_y"] else y
        amount = int(case["amount"])
        where = (case["swap_for_y"], case["exact_in"], amount)
        if "error" in case:
            with pytest.raises(QuoteError):
                pool.quote(amount, mint, exact_in=case["exact_in"])
            counts[f"refused {case['code']}"] += 1
            continue
        d = pool.quote_detailed(amount, mint, exact_in=case["exact_in"])
        event = case["event"]
        assert d.quote.in_amount == int(case["in"]) == event["amount_in"], where
        assert d.quote.out_amount == int(case["out"]), where
        assert d.swap.amount_out == event["amount_out"], where
        assert d.swap.fee + d.swap.protocol_fee == event["fee"], where
        assert d.swap.protocol_fee == event["protocol_fee"], where
        assert d.quote.fee_amount == event["fee"], where
        assert event["host_fee"] == 0, where
        counts["executed"] += 1
        counts["limit orders"] += (
            d.swap.protocol_fee > 0 and pool.pair.parameters.protocol_share == 0
        )
    return counts


@pytest.mark.parametrize(("kind", "label", "scenario"), SCENARIOS)
def test_quotes_equal_the_program(kind: str, label: str, scenario: str) -> None:
    doc = next(p for k, p in _sets() if k == kind and p["label"] == label)
    scen = next(s for s in doc["scenarios"] if s["name"] == scenario)
    counts = _check(_pool(kind, doc, scen), scen["cases"])
    refused = sum(n for what, n in counts.items() if what.startswith("refused"))
    assert refused >= 4, counts  # every set runs out of fixture arrays somewhere
    if (label, scenario) != ("jlp-hubsol-bs8", "elapsed_0"):
        assert counts["executed"] > 100, counts


def test_version_1_arrays_pay_out_their_legacy_bytes_as_orders() -> None:
    """pump-sol-bs250 (version-1 arrays): the program fills X->Y swaps from the legacy
    bytes at the limit-order offsets, refuses some exact-out swaps (6085) and fails those
    that would pay out more than the reserve holds; all three are in the recorded points."""
    doc = next(p for p in _program()["pools"] if p["label"] == "pump-sol-bs250")
    codes = Counter(c.get("code") for s in doc["scenarios"] for c in s["cases"])
    assert codes[UNDETERMINED_ERROR] >= 20 and codes[TOKEN_INSUFFICIENT_FUNDS] >= 20, codes
    pool = load_pool("pump-sol-bs250", doc["scenarios"][0]["unix_timestamp"])
    x, _ = pool.mints
    d = pool.quote_detailed(10**6, x)
    assert d.swap.bins_crossed == 1 and d.swap.protocol_fee > 0  # orders filled, LO share


def test_a_clock_before_the_reward_update_is_refused() -> None:
    """jlp-hubsol-bs8 at its 'elapsed_0' time is 20 s before its farming reward's last
    update: the program fails every swap (6018), and the adapter refuses them all."""
    doc = next(p for p in _program()["pools"] if p["label"] == "jlp-hubsol-bs8")
    scen = next(s for s in doc["scenarios"] if s["name"] == "elapsed_0")
    assert {c.get("code") for c in scen["cases"]} <= {MATH_OVERFLOW, 3007}
    pool = load_pool("jlp-hubsol-bs8", scen["unix_timestamp"])
    x, _ = pool.mints
    with pytest.raises(QuoteError, match="reward"):
        pool.quote(10**6, x)


def test_compute_units_are_the_measured_fit() -> None:
    """DlmmPool.compute_units is the upper-bound line over every measured swap
    (program_oracle/compute_units.json): base and per bin the price moved."""
    table = load_json(HERE / "program_oracle" / "compute_units.json")
    assert table["program"]["sha256"] == _program()["program"]["sha256"]
    fit = fit_compute_units([(r["crossings"], r["max"]) for r in table["cases"]], source="")
    cu = DlmmPool.compute_units
    assert (cu.base, cu.per_crossing, cu.measured_max) == (
        fit.base,
        fit.per_crossing,
        fit.measured_max,
    )
    assert cu.source.startswith("MeteoraAg/dlmm-sdk@")
    assert max(r["crossings"] for r in table["cases"]) >= 50
