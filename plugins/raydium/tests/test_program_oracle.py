"""Quotes against Raydium's programs themselves, run on solders.litesvm (no CI run of them).

tests/program_oracle/run_program.py ran each binary (other projects' mainnet dumps; see the
JSON for repository, commit, sha256 and security.txt) with the plugin's fixtures and the
adapters' own swap instructions, at every SDK-oracle point and more. Where the program
executed, the quote equals what the trader sent and received; where it refused, the
adapter refuses, or the disagreement is one the binary's age or the fixtures explain, and
the tests below pin down which.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.testing import load_dir, load_json
from lstarb_sdk.testing.program_oracle import (
    TRADER,
    TRADER_DESTINATION,
    TRADER_SOURCE,
    committed_binaries,
    fit_compute_units,
)
from lstarb_sdk.types import SwapParams

HERE = Path(__file__).parent
ORACLE = HERE / "program_oracle"
FIXTURES = HERE / "fixtures"
REQUIRE_GT = 2505  # Anchor's require_gt!
ACCOUNT_OWNED_BY_WRONG_PROGRAM = 3007
INVALID_INSTRUCTION_DATA = "InvalidInstructionData"


def _doc(name: str) -> dict[str, Any]:
    return load_json(ORACLE / f"expected_{name}.json")  # type: ignore[no-any-return]


def _pool(cls: type[PoolAdapter], fixtures: str, doc: dict[str, Any]) -> PoolAdapter:
    accounts = load_dir(FIXTURES / fixtures)
    key = Pubkey.from_string(doc["pool"])
    pool = cls.from_account(key, accounts[key])
    pool.update(accounts)
    return pool


def _classify(pool: PoolAdapter, cases: list[dict[str, Any]], explain: Any = None) -> Counter[str]:
    """Executed points equal the quote; refused points are refused or ``explain``ed."""
    counts: Counter[str] = Counter()
    for case in cases:
        mint = Pubkey.from_string(case["input_mint"])
        amount, exact_in = int(case["amount"]), case["exact_in"]
        where = (case["input_mint"], exact_in, amount)
        if "not_built" in case:
            with pytest.raises(QuoteError):
                pool.quote(amount, mint, exact_in=exact_in)
            counts["not built (refused)"] += 1
            continue
        if "error" in case:
            try:
                pool.quote(amount, mint, exact_in=exact_in)
            except QuoteError:
                counts[f"refused {case['code']}"] += 1
                continue
            assert explain is not None, (where, case["error"])
            counts[explain(pool, case)] += 1
            continue
        q = pool.quote(amount, mint, exact_in=exact_in)
        assert (q.in_amount, q.out_amount) == (int(case["in"]), int(case["out"])), where
        counts["executed"] += 1
    return counts


def test_binaries_are_named_and_not_committed() -> None:
    for name, repo in (
        ("cpmm", "metaDAOproject/metaDAO@"),
        ("clmm", "metaDAOproject/futarchy@26461b83"),
        ("amm_v4", "keel-fi/svm-alm-controller@"),
    ):
        program = _doc(name)["program"]
        assert program["source"].startswith(repo), program
        assert len(program["sha256"]) == 64
    assert not committed_binaries(HERE.parent), "program binaries are not ours to commit"


def _cpmm_old_ceiling(pool: PoolAdapter, case: dict[str, Any]) -> str:
    """The binary (Feb 2025) rounds x*dy/(y-dy) below one half to 0 input and fails
    ``require_gt!(source_amount_swapped, 0)``; the deployed program (creator-fee release,
    Aug 2025) takes the plain ceiling, 1, as the adapter does."""
    assert case["code"] == REQUIRE_GT and not case["exact_in"], case
    assert "swap_base_output.rs" in case["error_log"]
    summary = pool.summary()
    assert summary is not None
    mint = Pubkey.from_string(case["input_mint"])
    x, y = (
        (summary.reserve_a, summary.reserve_b)
        if mint == pool.mints[0]
        else (summary.reserve_b, summary.reserve_a)
    )
    out = int(case["amount"])
    numerator, denominator = x * out, y - out
    assert numerator < denominator and 2 * numerator < denominator, case
    return "old binary: sub-half input rounds to 0"


def test_cpmm_quotes_equal_the_program() -> None:
    doc = _doc("cpmm")
    pool = _pool(CpmmPool, "cpmm", doc)
    counts = _classify(pool, doc["cases"], _cpmm_old_ceiling)
    assert counts["executed"] > 200, counts
    assert counts["old binary: sub-half input rounds to 0"] == 4, counts
    assert counts[f"refused {REQUIRE_GT}"] >= 8, counts  # exact in that buys nothing


def _clmm_array_not_in_fixture(pool: PoolAdapter, case: dict[str, Any]) -> str:
    """The swap walks past the last initialized tick of the fixture's last array: the
    program then loads the next initialized array (the spare the instruction passes),
    which exists on chain but not in the fixture, and fails 3007 on its absence."""
    assert case["code"] == ACCOUNT_OWNED_BY_WRONG_PROGRAM, case
    known = set(load_dir(FIXTURES / "clmm"))
    params = SwapParams(
        input_mint=Pubkey.from_string(case["input_mint"]),
        amount=int(case["amount"]),
        other_amount_threshold=0 if case["exact_in"] else 1 << 62,
        user=TRADER.pubkey(),
        user_source_token=TRADER_SOURCE,
        user_destination_token=TRADER_DESTINATION,
        exact_in=case["exact_in"],
    )
    ix = pool.swap_instruction(params).instructions[0]
    missing = [m.pubkey for m in ix.accounts[14:] if m.pubkey not in known]
    assert len(missing) == 1, (case, missing)
    return "needs an array the fixture lacks"


def test_clmm_quotes_equal_the_program() -> None:
    doc = _doc("clmm")
    pool = _pool(ClmmPool, "clmm", doc)
    counts = _classify(pool, doc["cases"], _clmm_array_not_in_fixture)
    assert counts["executed"] > 200, counts
    assert counts["needs an array the fixture lacks"] > 10, counts
    assert doc["synthetic_accounts"] == [
        f"observation {pool.pool_state.observation_key}: empty, legacy layout"  # type: ignore[attr-defined]
    ]


def test_amm_v4_binary_predates_the_v2_swaps() -> None:
    """The only AMM V4 dump found (June 2025) has no SwapBaseInV2 / SwapBaseOutV2 (tags 16,
    17): every instruction the adapter builds fails as invalid data, so no amount could be
    checked on it. The test pins that fact; the SDK oracle still covers the math."""
    cases = _doc("amm_v4")["cases"]
    assert len(cases) > 200
    assert all(INVALID_INSTRUCTION_DATA in c.get("error_log", "") for c in cases)


@pytest.mark.parametrize(("name", "cls"), [("cpmm", CpmmPool), ("clmm", ClmmPool)])
def test_compute_units_are_the_measured_fit(name: str, cls: type[PoolAdapter]) -> None:
    table = load_json(ORACLE / f"compute_units_{name}.json")
    assert table["program"]["sha256"] == _doc(name)["program"]["sha256"]
    fit = fit_compute_units([(r["crossings"], r["max"]) for r in table["cases"]], source="")
    cu = cls.compute_units
    assert (cu.base, cu.per_crossing, cu.measured_max) == (
        fit.base,
        fit.per_crossing,
        fit.measured_max,
    )
    assert cu.source.startswith(_doc(name)["program"]["source"].split("@")[0])
