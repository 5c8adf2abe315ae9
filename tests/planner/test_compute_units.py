"""Compute units: the envelope's constants hold what was measured on LiteSVM
(``compute_units/measured.json``, written by ``compute_units/measure.py`` with program binaries
that are not committed), every swap measured there fits what its adapter now says
(``PoolAdapter.swap_compute_units``, the plugin's own measurement), and the fallbacks apply
only to what does not say."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from lstarb_runtime.builtin.replay import bundled_market, clock_account, load_market
from lstarb_runtime.planner import compute_units as cu
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.types import DEFAULT_SWAP_COMPUTE_UNITS

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


def _books() -> dict[str, PoolBook]:
    """The fixture pools the swaps were measured on, by fixture (the measuring clock)."""
    clock = clock_account(410_400_000, 1_783_355_400)
    adapters = [cls for _, module in FIRST_PARTY for cls in _adapters(module)]
    books = {}
    for row in measured()["swaps"]:
        fixture = row["fixture"]
        if fixture not in books:
            accounts = load_market(bundled_market().parent.parent / fixture)
            accounts[SYSVAR_CLOCK_ID] = clock
            book = PoolBook(adapters, keep_unwanted=True)
            for key, account in accounts.items():
                book.apply(key, account)
            books[fixture] = book
    return books


def _adapters(module: object) -> list[type[PoolAdapter]]:
    hook = getattr(module, "lstarb_dex_adapters", None)
    return list(hook()) if hook is not None else []


def test_every_measured_swap_fits_its_adapters_estimate() -> None:
    """The planner's own LiteSVM runs (an older build of each program, other amounts) never
    exceed what the adapter says for the same swap on the same state."""
    books = _books()
    by_dex: defaultdict[str, int] = defaultdict(int)
    for row in measured()["swaps"]:
        assert row["program"]["sha256"] and row["program"]["repository"] and row["fixture"]
        pool = books[row["fixture"]].pools[Pubkey.from_string(row["pool"])]
        assert pool.dex == row["dex"]
        said = pool.swap_compute_units(int(row["amount"]), Pubkey.from_string(row["input_mint"]))
        assert row["units"] <= said, row
        by_dex[row["dex"]] += 1
    assert set(by_dex) == {"meteora-dlmm", "orca-whirlpool"}
    assert all(n >= 12 for n in by_dex.values()), by_dex


def test_crossing_adapters_count_their_own_walk() -> None:
    """A swap crossing more ticks or bins is budgeted more; a tiny one is budgeted the fit's
    base, far under the largest swap measured (what a per-DEX constant would charge)."""
    books = _books()
    for row in measured()["swaps"]:
        pool = books[row["fixture"]].pools[Pubkey.from_string(row["pool"])]
        mint = Pubkey.from_string(row["input_mint"])
        fit = type(pool).compute_units
        small = pool.swap_compute_units(1_000, mint)
        assert fit.base <= small < fit.estimate(None)
        assert pool.swap_compute_units(int(row["amount"]), mint) >= small


def test_every_measured_envelope_instruction_fits() -> None:
    rows = {r["instruction"]: r for r in measured()["envelope"]}
    assert rows.keys() == ENVELOPE.keys()
    for name, entry in ENVELOPE.items():
        assert rows[name]["runs"] >= 16
        assert rows[name]["max"] <= entry, name
    assert rows["token account: create"]["max"] == cu.TOKEN_ACCOUNT_NEW_UNITS


def test_every_first_party_adapter_publishes_a_measurement_or_the_sdk_default() -> None:
    """No DEX is budgeted by a table here: each adapter class says, or inherits the SDK's
    documented 200,000 (what the planner's fallback also is)."""
    for _, module in FIRST_PARTY:
        for cls in _adapters(module):
            units = cls.compute_units
            assert units.base > 0, cls
            if units is not DEFAULT_SWAP_COMPUTE_UNITS:
                assert units.source != "unmeasured" and units.measured_max, cls
    assert cu.FALLBACK_SWAP_UNITS == DEFAULT_SWAP_COMPUTE_UNITS.base == 200_000


def test_a_provider_without_a_measurement_gets_the_loan_fallback() -> None:
    class Unmeasured:
        compute_units = None

    class Measured:
        compute_units = 61_000

    class Nonsense:
        compute_units = "a lot"

    assert cu.loan_units(Unmeasured()) == cu.FALLBACK_LOAN_UNITS  # type: ignore[arg-type]
    assert cu.loan_units(Nonsense()) == cu.FALLBACK_LOAN_UNITS  # type: ignore[arg-type]
    assert cu.loan_units(Measured()) == 61_000  # type: ignore[arg-type]
    assert cu.loan_units(None) == cu.FALLBACK_LOAN_UNITS


def test_the_limit_adds_the_margin_and_stays_under_the_maximum() -> None:
    assert cu.compute_unit_limit(100_000, 1_000) == 110_000
    assert cu.compute_unit_limit(100_001, 1_000) == 110_002  # rounded up
    assert cu.compute_unit_limit(2_000_000, 0) == 1_400_000
