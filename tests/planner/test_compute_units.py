"""The compute-unit table holds what was measured on LiteSVM (``compute_units/measured.json``,
written by ``compute_units/measure.py`` with program binaries that are not committed): every
swap and envelope instruction measured fits its entry, and every DEX a first-party plugin
trades has an entry."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from lstarb_runtime.planner import compute_units as cu

from .planner_testlib import FIRST_PARTY

MEASURED = Path(__file__).parent / "compute_units" / "measured.json"

ENVELOPE = {
    "system transfer (the tip)": cu.TIP_UNITS,
    "compute budget (limit + price)": cu.COMPUTE_BUDGET_UNITS,
    "token account: create": cu.TOKEN_ACCOUNT_NEW_UNITS,
    "token account: exists": cu.TOKEN_ACCOUNT_HELD_UNITS,
    "wSOL: open and wrap": cu.WSOL_OPEN_UNITS,
    "wSOL: wrap": cu.WSOL_CONVERT_UNITS,
    "wSOL: close (unwrap)": cu.WSOL_CLOSE_UNITS,
}


def measured() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(MEASURED.read_text())
    return doc


def test_every_measured_swap_fits_its_entry() -> None:
    by_dex: defaultdict[str, list[int]] = defaultdict(list)
    for row in measured()["swaps"]:
        assert row["program"]["sha256"] and row["program"]["repository"] and row["fixture"]
        by_dex[row["dex"]].append(row["units"])
    assert set(by_dex) == {"meteora-dlmm", "orca-whirlpool"}
    for dex, units in by_dex.items():
        assert len(units) >= 12
        assert max(units) <= cu.SWAP_UNITS[dex] <= max(units) * 1.15, dex


def test_every_measured_envelope_instruction_fits() -> None:
    rows = {r["instruction"]: r for r in measured()["envelope"]}
    assert rows.keys() == ENVELOPE.keys()
    for name, entry in ENVELOPE.items():
        assert rows[name]["runs"] >= 16
        assert rows[name]["max"] <= entry, name
    assert rows["token account: create"]["max"] == cu.TOKEN_ACCOUNT_NEW_UNITS


def test_unmeasured_programs_get_twice_the_largest_measured_swap() -> None:
    largest = max(r["units"] for r in measured()["swaps"])
    assert 2 * largest <= cu.UNMEASURED_UNITS


def test_every_first_party_dex_has_an_entry() -> None:
    dexes = set()
    for _, module in FIRST_PARTY:
        hook = getattr(module, "lstarb_dex_adapters", None)
        if hook is not None:
            dexes.update(cls.dex for cls in hook())
    assert dexes <= cu.SWAP_UNITS.keys(), dexes - cu.SWAP_UNITS.keys()


def test_the_limit_adds_the_margin_and_stays_under_the_maximum() -> None:
    assert cu.compute_unit_limit(100_000, 1_000) == 110_000
    assert cu.compute_unit_limit(100_001, 1_000) == 110_002  # rounded up
    assert cu.compute_unit_limit(2_000_000, 0) == 1_400_000
