"""Quotes and instructions against the SPL stake-pool and Marinade programs themselves.

tests/program_oracle/run_program.py ran mainnet dumps of both programs (SPL stake pool
``stake-pool-v1.0.0`` and Marinade ``v2.0``, per their security.txt; see the JSON) on
solders.litesvm with the fixtures and the adapters' own instructions at every SDK-oracle
point, and recorded what the trader sent and received: expected_program.json. Where the
program executed, the quote equals it; where it refused, the adapter refuses; every other
point is one of the explained differences below (the binaries' age, a fixture's defect).
CI never runs a program.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lst_testlib import FIXTURES, clock, expected, fixture, variants
from solders.pubkey import Pubkey

from lstarb_lst.marinade import MarinadePool
from lstarb_lst.plugin import adapter_for
from lstarb_lst.stake_pool import StakePoolAdapter
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT
from lstarb_sdk.testing import load_json
from lstarb_sdk.testing.program_oracle import committed_binaries, fit_compute_units

HERE = Path(__file__).parent
ORACLE = HERE / "program_oracle"
SPL_PROGRAM_ID = "SPoo1Ku8WFXoNDMHPsrGSTSG1Y47rzgn41SLUNakuHy"
MISSING_SIGNATURE = "MissingRequiredSignature"
INSUFFICIENT_FUNDS = 1  # the token or system transfer: the trader's u64 is not enough
MARINADE_NOT_ENOUGH_USER_FUNDS = 6040
TRADER_BUDGET = 1 << 62


def _doc() -> dict[str, Any]:
    return load_json(ORACLE / "expected_program.json")  # type: ignore[no-any-return]


def _state(account: Any, scenario: dict[str, Any]) -> Any:
    if not scenario.get("state_base64"):
        return account
    from lstarb_sdk.testing import with_data

    return with_data(account, base64.b64decode(scenario["state_base64"]))


def _spl(name: str) -> StakePoolAdapter:
    scenario = expected()["stake_pools"][name]
    address, account = fixture(scenario["pool"])
    account = _state(account, scenario)
    pool = adapter_for(account).from_account(address, account)
    assert isinstance(pool, StakePoolAdapter)
    _, reserve = fixture(scenario["reserve"])
    _, fee_account = fixture(scenario["manager_fee"])
    state = pool.state
    pool.update(
        {
            address: account,
            state.reserve_stake: reserve,
            state.manager_fee_account: fee_account,
            SYSVAR_CLOCK_ID: clock(scenario["epoch"]),
        }
    )
    return pool


def _marinade(name: str) -> MarinadePool:
    v = {**variants()[name], "state_base64": expected()["marinade"][name].get("state_base64")}
    address, account = fixture(v["state"])
    pool = MarinadePool.from_account(address, _state(account, v))
    sol_key, sol_leg = fixture(v["sol_leg"])
    msol_key, msol_leg = fixture(v["msol_leg"])
    pool.update({address: _state(account, v), sol_key: sol_leg, msol_key: msol_leg})
    return pool


def _v1_floor_fee_withdrawal(pool: StakePoolAdapter, tokens: int) -> int:
    """WithdrawSol of stake-pool v1.0.0: the SOL-withdrawal fee rounded down (v2.0, HAL-01,
    rounds every fee up, as the adapter does)."""
    s = pool.state
    fee = tokens * s.sol_withdrawal_fee.numerator // s.sol_withdrawal_fee.denominator
    numerator = (tokens - fee) * s.total_lamports
    return 0 if numerator < s.pool_token_supply else numerator // s.pool_token_supply


def _check(pool: PoolAdapter, cases: list[dict[str, Any]], explain: Any = None) -> Counter[str]:
    counts: Counter[str] = Counter()
    lst = pool.mints[1]
    for case in cases:
        mint = WSOL_MINT if case["dir"] == "deposit" else lst
        amount, exact_in = int(case["amount"]), case["exact_in"]
        where = (case["dir"], exact_in, amount)
        if "not_built" in case:
            try:
                q = pool.quote(amount, mint, exact_in=exact_in)
            except QuoteError:
                counts["refused"] += 1
                continue
            # quoted, but above what the trader holds (2^62): no instruction
            assert not exact_in and q.in_amount > TRADER_BUDGET, (where, case)
            counts["over the trader's budget"] += 1
            continue
        q = pool.quote(amount, mint, exact_in=exact_in)
        if "error" in case:
            assert explain is not None, (where, case)
            counts[explain(pool, case, q)] += 1
            continue
        got, want = (q.in_amount, q.out_amount), (int(case["in"]), int(case["out"]))
        if got != want and explain is not None:
            counts[explain(pool, case, q)] += 1
            continue
        assert got == want, where
        counts["executed"] += 1
    return counts


def _spl_explain(pool: StakePoolAdapter, case: dict[str, Any], q: Any) -> str:
    if "error" in case:
        if MISSING_SIGNATURE in case["error"]:
            # The JitoSOL reserve fixture holds bSOL's reserve data: its withdrawer is bSOL's
            # authority, so the stake program refuses JitoSOL's withdraw authority.
            assert str(pool.address) == "Jito4APyf642JPZPx3hGc6WWJ8zPKtRbRs4P815Awbb"
            assert case["dir"] == "withdraw"
            return "jitosol reserve fixture is bSOL's"
        assert case["code"] == INSUFFICIENT_FUNDS and int(case["amount"]) > 2**63, case
        return "trader cannot fund u64-sized deposits"
    assert case["dir"] == "withdraw", case
    assert int(case["out"]) == _v1_floor_fee_withdrawal(pool, int(case["in"])), case
    assert int(case["in"]) == q.in_amount, case
    return "v1.0.0 rounds the withdrawal fee down"


SPL = [s["name"] for s in _doc()["spl"]["scenarios"]]


@pytest.mark.parametrize("name", SPL)
def test_stake_pool_quotes_equal_the_program(name: str) -> None:
    scenario = next(s for s in _doc()["spl"]["scenarios"] if s["name"] == name)
    counts = _check(_spl(name), scenario["cases"], _spl_explain)
    if name.endswith("-stale"):
        assert counts == Counter(refused=180), counts  # StakeListAndPoolOutOfDate
    else:  # bsol-permissioned: withdrawals only
        assert counts["executed"] > (15 if name == "bsol-permissioned" else 50), counts


def _marinade_explain(pool: MarinadePool, case: dict[str, Any], q: Any) -> str:
    if "error" in case:
        assert case["code"] == MARINADE_NOT_ENOUGH_USER_FUNDS, case
        assert int(case["amount"]) > TRADER_BUDGET, case
        return "trader cannot fund u64-sized deposits"
    # The synthetic deposit fee: this v2.0 binary predates Marinade's deposit fee and mints
    # what the same deposit mints without one.
    assert case["dir"] == "deposit" and pool.state.deposit_sol_fee_bp_cents > 0, case
    no_fee = _marinade("marinade").quote(int(case["in"]), WSOL_MINT)
    assert no_fee.out_amount == int(case["out"]), case
    return "binary without the deposit fee"


MARINADE = [s["name"] for s in _doc()["marinade"]["scenarios"]]


@pytest.mark.parametrize("name", MARINADE)
def test_marinade_quotes_equal_the_program(name: str) -> None:
    scenario = next(s for s in _doc()["marinade"]["scenarios"] if s["name"] == name)
    counts = _check(_marinade(name), scenario["cases"], _marinade_explain)
    if name == "marinade-paused":
        assert counts == Counter(refused=180), counts
    else:
        assert counts["executed"] > 80, counts


def test_binaries_are_named_and_not_committed() -> None:
    doc = _doc()
    assert doc["spl"]["program"]["id"] == SPL_PROGRAM_ID
    assert doc["spl"]["program"]["security_txt"]["source_release"] == "stake-pool-v1.0.0"
    assert doc["marinade"]["program"]["security_txt"]["source_release"] == "v2.0"
    assert not committed_binaries(HERE.parent), "program binaries are not ours to commit"


def test_jitosol_reserve_fixture_is_bsols_reserve() -> None:
    """What the program oracle found: the JitoSOL reserve fixture's stake authorities are
    bSOL's withdraw authority, not JitoSOL's (quotes read only its lamports)."""
    _, reserve = fixture("support/jitosol-reserve.json")
    _, bsol_reserve = fixture("support/bsol-reserve.json")
    jito_authority = Pubkey.find_program_address(
        [bytes(Pubkey.from_string("Jito4APyf642JPZPx3hGc6WWJ8zPKtRbRs4P815Awbb")), b"withdraw"],
        Pubkey.from_string(SPL_PROGRAM_ID),
    )[0]
    withdrawer = Pubkey.from_bytes(bytes(reserve.data)[44:76])
    assert withdrawer != jito_authority
    assert withdrawer == Pubkey.from_bytes(bytes(bsol_reserve.data)[44:76])


@pytest.mark.parametrize(("kind", "cls"), [("spl", StakePoolAdapter), ("marinade", MarinadePool)])
def test_compute_units_are_the_measured_fit(kind: str, cls: type[PoolAdapter]) -> None:
    table = json.loads((ORACLE / f"compute_units_{kind}.json").read_text())
    assert table["program"]["sha256"] == _doc()[kind]["program"]["sha256"]
    fit = fit_compute_units([(r["crossings"], r["max"]) for r in table["cases"]], source="")
    cu = cls.compute_units
    assert (cu.base, cu.measured_max) == (fit.base, fit.measured_max)
    assert cu.source.startswith(_doc()[kind]["program"]["source"].split("@")[0])
    assert FIXTURES.exists()
