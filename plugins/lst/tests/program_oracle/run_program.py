"""Expected results from the SPL stake-pool and Marinade programs, run on solders.litesvm.

The binaries are mainnet dumps (``solana program dump``) kept as test fixtures by public
projects (igneous-labs' sanctum-router-sdk and inf-1.5; each JSON records repository,
commit, path, sha256 and the embedded security.txt); none is committed here. For each
oracle scenario whose accounts are complete (the pool, its reserve and fee account, and the
LST mint, which ``fixtures/support`` holds for bSOL, JitoSOL and mSOL), the script sends the
instructions the adapter builds (SPL ``DepositSolWithSlippage`` / ``WithdrawSolWithSlippage``,
Marinade ``deposit`` / ``liquid_unstake``) at every point of the SDK oracle, and records
what the trader sent and received (lamports, token balance) or the program's error, with
the compute units, into ``expected_program.json``.

Synthetic, recorded as such: the trader (a funded system account and its LST token
account), Marinade's reserve PDA (a system account holding the State's
``available_reserve_balance`` plus rent) and treasury mSOL account where the fixtures have
none.

Run (from the repository root):

    .venv/bin/python plugins/lst/tests/program_oracle/run_program.py \\
        --spl GIT_DIR=owner/name:REV:PATH --marinade GIT_DIR=owner/name:REV:PATH
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lst_testlib import clock, expected, fixture, variants  # noqa: E402

from lstarb_lst.marinade import MarinadePool  # noqa: E402
from lstarb_lst.plugin import adapter_for  # noqa: E402
from lstarb_lst.stake_pool import StakePoolAdapter  # noqa: E402
from lstarb_sdk.errors import QuoteError  # noqa: E402
from lstarb_sdk.pool import PoolAdapter  # noqa: E402
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, SYSVAR_CLOCK_ID, WSOL_MINT  # noqa: E402
from lstarb_sdk.testing.program_oracle import (  # noqa: E402
    TRADER_DESTINATION,
    ProgramBinary,
    ProgramHarness,
    compute_unit_table,
    dumps_cases,
    token_account,
    token_amount,
)
from lstarb_sdk.types import SwapParams  # noqa: E402

OUT = HERE / "expected_program.json"
CU_OUT = HERE / "compute_units.json"
USER = Keypair.from_seed(bytes(range(1, 33)))
"""The trader: SOL from its own lamports (the fee payer is the harness's)."""
USER_LAMPORTS = 1 << 62
SPL_PROGRAM_ID = Pubkey.from_string("SPoo1Ku8WFXoNDMHPsrGSTSG1Y47rzgn41SLUNakuHy")
MARINADE_PROGRAM_ID = Pubkey.from_string("MarBmsSgKXdrN1egZf5sqe1TMai9K1rChYNDJgjq7aD")
SYSTEM_RENT = 890_880  # rent-exempt minimum of a 0-byte account
MINTS = {
    "bSo13r4TkiE4KumL71LsHTPpL2euBYLFx6h9HP3piy1": "support/bsol-mint.json",
    "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn": "support/jitosol-mint.json",
    "mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So": "support/msol-mint.json",
}


def binary(spec: str, program_id: Pubkey) -> ProgramBinary:
    if Path(spec).is_file():
        return ProgramBinary.from_file(program_id, spec, None)
    git_dir, rev, path = spec.rsplit(":", 2)
    git_dir, _, repository = git_dir.partition("=")
    return ProgramBinary.from_git(program_id, git_dir, rev, path, repository or git_dir)


def _with_state(account: Account, scenario: dict[str, Any]) -> Account:
    if not scenario.get("state_base64"):
        return account
    data = base64.b64decode(scenario["state_base64"])
    return Account(account.lamports, data, account.owner, account.executable, account.rent_epoch)


def _spl_setup(scenario: dict[str, Any]) -> tuple[StakePoolAdapter, dict[Pubkey, Account], int]:
    address, account = fixture(scenario["pool"])
    account = _with_state(account, scenario)
    pool = adapter_for(account).from_account(address, account)
    assert isinstance(pool, StakePoolAdapter)
    state = pool.state
    _, reserve = fixture(scenario["reserve"])
    _, fee_account = fixture(scenario["manager_fee"])
    mint_key, mint = fixture(MINTS[str(state.pool_mint)])
    accounts = {
        address: account,
        state.reserve_stake: reserve,
        state.manager_fee_account: fee_account,
        mint_key: mint,
    }
    pool.update({**accounts, SYSVAR_CLOCK_ID: clock(scenario["epoch"])})
    return pool, accounts, scenario["epoch"]


def _marinade_setup(
    scenario: dict[str, Any], synthetic: list[str]
) -> tuple[MarinadePool, dict[Pubkey, Account], int]:
    address, account = fixture(scenario["state"])
    account = _with_state(account, scenario)
    pool = MarinadePool.from_account(address, account)
    sol_key, sol_leg = fixture(scenario["sol_leg"])
    msol_key, msol_leg = fixture(scenario["msol_leg"])
    pool.update({address: account, sol_key: sol_leg, msol_key: msol_leg})
    keys = pool.keys
    mint_key, mint = fixture(MINTS[str(keys.msol_mint)])
    accounts = {address: account, sol_key: sol_leg, msol_key: msol_leg, mint_key: mint}
    reserve = pool.state.available_reserve_balance + SYSTEM_RENT
    accounts[keys.reserve] = Account(reserve, b"", SYSTEM_PROGRAM_ID, False, 0)
    synthetic.append(f"reserve {keys.reserve}: {reserve} lamports (available + rent)")
    treasury = token_account(keys.msol_mint, keys.treasury_msol_account, 0)
    accounts[keys.treasury_msol_account] = treasury
    synthetic.append(f"treasury {keys.treasury_msol_account}: empty mSOL account")
    return pool, accounts, 600


def run_scenario(
    pool: PoolAdapter,
    accounts: dict[Pubkey, Account],
    epoch: int,
    program: ProgramBinary,
    cases: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    harness = ProgramHarness([program], accounts)
    harness.set_clock(1_700_000_000, epoch, slot=epoch * 432_000)
    user = USER.pubkey()
    harness.set_account(user, Account(USER_LAMPORTS, b"", SYSTEM_PROGRAM_ID, False, 0))
    lst = pool.mints[1]
    out = []
    for case in cases:
        deposit = case["dir"] == "deposit"
        exact_in = case["exact_in"]
        amount = int(case["amount"])
        lst_balance = 0 if deposit else (amount if exact_in else 1 << 62)
        harness.set_account(TRADER_DESTINATION, token_account(lst, user, lst_balance))
        params = SwapParams(
            input_mint=WSOL_MINT if deposit else lst,
            amount=amount,
            other_amount_threshold=0 if exact_in else 1 << 62,
            user=user,
            user_source_token=TRADER_DESTINATION,
            user_destination_token=TRADER_DESTINATION,
            exact_in=exact_in,
        )
        record = {"dir": case["dir"], "exact_in": exact_in, "amount": str(amount)}
        try:
            ixs = pool.swap_instruction(params).instructions
        except QuoteError as e:
            out.append(record | {"not_built": str(e)})
            continue
        run = harness.simulate(ixs, program_id=program.program_id, signers=[USER])
        if not run.ok:
            out.append(record | run.error)
            continue
        lamports = run.post[user].lamports if user in run.post else USER_LAMPORTS
        tokens = token_amount(run.post.get(TRADER_DESTINATION))
        sol_delta, lst_delta = lamports - USER_LAMPORTS, tokens - lst_balance
        sent, received = (-sol_delta, lst_delta) if deposit else (-lst_delta, sol_delta)
        out.append(
            record | {"in": str(sent), "out": str(received), "compute_units": run.compute_units}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spl", help="the SPL stake-pool binary: file or GIT_DIR=repo:REV:PATH")
    parser.add_argument("--marinade", help="the Marinade binary: file or GIT_DIR=repo:REV:PATH")
    args = parser.parse_args()
    started = time.monotonic()
    sdk = expected()
    doc: dict[str, Any] = {"generator": "plugins/lst/tests/program_oracle/run_program.py"}
    rows = []
    if args.spl:
        program = binary(args.spl, SPL_PROGRAM_ID)
        scenarios = []
        for name, scenario in sdk["stake_pools"].items():
            _, account = fixture(scenario["pool"])
            if account.owner != SPL_PROGRAM_ID or (
                str(StakePoolAdapter.from_account(_, account).state.pool_mint) not in MINTS
            ):
                continue  # another program (Sanctum's), or a pool whose mint we lack
            pool, accounts, epoch = _spl_setup(scenario)
            cases = run_scenario(pool, accounts, epoch, program, scenario["cases"])
            rows += [(name, 0, c["compute_units"]) for c in cases if "compute_units" in c]
            scenarios.append({"name": name, "epoch": epoch, "cases": cases})
        doc["spl"] = {"program": program.describe(), "scenarios": scenarios}
        CU_OUT.with_name("compute_units_spl.json").write_text(
            dumps_cases(compute_unit_table(rows, program=program, crossing="none"))
        )
    if args.marinade:
        program = binary(args.marinade, MARINADE_PROGRAM_ID)
        scenarios = []
        rows = []
        for name, scenario in sdk["marinade"].items():
            synthetic: list[str] = []
            pool, accounts, epoch = _marinade_setup(
                {**variants()[name], "state_base64": scenario.get("state_base64")}, synthetic
            )
            cases = run_scenario(pool, accounts, epoch, program, scenario["cases"])
            rows += [(name, 0, c["compute_units"]) for c in cases if "compute_units" in c]
            scenarios.append({"name": name, "synthetic_accounts": synthetic, "cases": cases})
        doc["marinade"] = {"program": program.describe(), "scenarios": scenarios}
        CU_OUT.with_name("compute_units_marinade.json").write_text(
            dumps_cases(compute_unit_table(rows, program=program, crossing="none"))
        )
    OUT.write_text(dumps_cases(doc))
    print(f"wrote {OUT} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
