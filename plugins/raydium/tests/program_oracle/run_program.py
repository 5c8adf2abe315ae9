"""Expected swap results from Raydium's programs (AMM V4, CPMM, CLMM), run on solders.litesvm.

Raydium publishes no binaries; the ones used are other public projects' test fixtures,
mainnet dumps (each JSON records the repository, commit, path, sha256 and the embedded
security.txt; the plugin docs say how each compares with the deployed program). None is
committed here. For each program given, the script loads it with the plugin's fixture
accounts, sends the swap instructions the adapter builds (AMM V4 ``SwapBaseInV2`` /
``SwapBaseOutV2``, CPMM ``swap_base_input`` / ``swap_base_output``, CLMM ``swap_v2``) at
every point of the SDK oracle plus ``EXTRA_POINTS`` log-uniform amounts per direction and
kind, and records what the trader sent and received, or the program's error, with the
compute units, into ``expected_<program>.json``; ``compute_units_<program>.json`` sums the
units up by ticks crossed (CLMM) or per swap (the constant-product pools cross nothing).

Synthetic, recorded as such: the trader's token accounts, and CLMM's ObservationState
(the fixture has none; an empty one for the pool, which the swap writes and no quote reads).
A point where the adapter refuses to quote builds no instruction (``swap_instruction``
quotes first); it is recorded as ``not_built``.

Run (from the repository root), with any of:

    .venv/bin/python plugins/raydium/tests/program_oracle/run_program.py \\
        --amm-v4 GIT_DIR:REV:PATH --cpmm GIT_DIR:REV:PATH --clmm GIT_DIR:REV:PATH
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.solana import TOKEN_PROGRAMS
from lstarb_sdk.testing import load_dir
from lstarb_sdk.testing.program_oracle import (
    TRADER,
    TRADER_DESTINATION,
    TRADER_SOURCE,
    ProgramBinary,
    ProgramHarness,
    compute_unit_table,
    dumps_cases,
    token_account_like,
)
from lstarb_sdk.types import SwapParams

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
EXACT_OUT_BUDGET = 1 << 62
EXTRA_POINTS = 16
TIMESTAMP = 1_767_225_600  # the CLMM oracle's block timestamp; after every pool's open time
EPOCH = 900
OBSERVATION_DISCRIMINATOR = bytes((122, 174, 197, 53, 129, 9, 165, 132))
OBSERVATION_LAYOUTS = {
    # name: (length, offset of pool_id)
    "current": (8 + 1 + 8 + 2 + 32 + 100 * 44 + 32, 19),  # 100 tick observations
    "legacy": (8 + 1 + 32 + 1000 * 52 + 80, 9),  # 1 000 sqrt-price observations (to 2024)
}


@dataclass(frozen=True)
class Kind:
    """One Raydium program: its adapter, fixtures and SDK grid."""

    name: str
    adapter: type[PoolAdapter]
    fixtures: str
    oracle: str
    crossings: Callable[[PoolAdapter, Pubkey, int, bool], int | None]


def _no_crossings(pool: PoolAdapter, mint: Pubkey, amount: int, exact_in: bool) -> int | None:
    return 0


def _clmm_crossings(pool: PoolAdapter, mint: Pubkey, amount: int, exact_in: bool) -> int | None:
    assert isinstance(pool, ClmmPool)
    try:
        return pool.swap_amounts(amount, mint == pool.mints[0], exact_in)[4]
    except QuoteError:
        return None


KINDS = {
    "amm_v4": Kind("amm_v4", AmmV4Pool, "amm_v4", "expected_amm_v4.json", _no_crossings),
    "cpmm": Kind("cpmm", CpmmPool, "cpmm", "expected_cpmm.json", _no_crossings),
    "clmm": Kind("clmm", ClmmPool, "clmm", "expected_clmm.json", _clmm_crossings),
}


def empty_observation(pool: Pubkey, program_id: Pubkey, layout: str) -> Account:
    """An ObservationState with no observation yet, for ``pool``, in the binary's layout."""
    length, at = OBSERVATION_LAYOUTS[layout]
    data = bytearray(length)
    data[:8] = OBSERVATION_DISCRIMINATOR
    data[at : at + 32] = bytes(pool)
    return Account(10**9, bytes(data), program_id, False, 0)


def binary(kind: Kind, spec: str, program_id: Pubkey) -> ProgramBinary:
    """``GIT_DIR:REV:PATH`` (a snapshot of REPOSITORY given as GIT_DIR=owner/name) or a file."""
    if Path(spec).is_file():
        return ProgramBinary.from_file(program_id, spec, None)
    git_dir, rev, path = spec.rsplit(":", 2)
    git_dir, _, repository = git_dir.partition("=")
    return ProgramBinary.from_git(program_id, git_dir, rev, path, repository or git_dir)


def _points(cases: list[dict[str, Any]], seed: str) -> list[tuple[str, bool, int, str]]:
    points = [(c["input_mint"], c["exact_in"], int(c["amount"]), "sdk") for c in cases]
    rng = random.Random(seed)
    for mint in sorted({c["input_mint"] for c in cases}):
        for exact_in in (True, False):
            quoted = [
                int(c["amount"])
                for c in cases
                if (c["input_mint"], c["exact_in"]) == (mint, exact_in) and c.get("all_trade", True)
            ]
            top = max(quoted, default=2).bit_length()
            for _ in range(EXTRA_POINTS):
                amount = max(int(2 ** rng.uniform(0, top)), 1)
                points.append((mint, exact_in, amount, "extra"))
    return points


def _vault_of(pool: PoolAdapter, accounts: dict[Pubkey, Account], mint: Pubkey) -> Account:
    """The pool's vault of ``mint`` (a template for the trader's token accounts)."""
    for account in accounts.values():
        data = bytes(account.data)
        if account.owner in TOKEN_PROGRAMS and len(data) >= 165 and data[0:32] == bytes(mint):
            return account
    raise LookupError(f"no vault of {mint} among the fixtures")


def run_kind(kind: Kind, program: ProgramBinary, observation: str) -> dict[str, Any]:
    sdk = json.loads((TESTS / "oracle" / kind.oracle).read_text())
    accounts = load_dir(TESTS / "fixtures" / kind.fixtures)
    key = Pubkey.from_string(sdk["pool"])
    pool = kind.adapter.from_account(key, accounts[key])
    pool.update(accounts)
    feed: dict[Pubkey, Account | None] = dict(accounts)
    synthetic = []
    if isinstance(pool, ClmmPool):
        obs_key = pool.pool_state.observation_key
        if obs_key not in feed:
            feed[obs_key] = empty_observation(key, pool.program_id, observation)
            synthetic.append(f"observation {obs_key}: empty, {observation} layout")
    harness = ProgramHarness([program], feed)
    harness.set_clock(TIMESTAMP, EPOCH)
    templates = {m: _vault_of(pool, accounts, m) for m in pool.mints}
    user = TRADER.pubkey()
    cases = []
    rows = []
    for mint_s, exact_in, amount, origin in _points(sdk["cases"], kind.name):
        mint_in = Pubkey.from_string(mint_s)
        mint_out = pool.mints[1] if mint_in == pool.mints[0] else pool.mints[0]
        balance = amount if exact_in else EXACT_OUT_BUDGET
        harness.set_account(TRADER_SOURCE, token_account_like(templates[mint_in], user, balance))
        harness.set_account(TRADER_DESTINATION, token_account_like(templates[mint_out], user, 0))
        params = SwapParams(
            input_mint=mint_in,
            amount=amount,
            other_amount_threshold=0 if exact_in else EXACT_OUT_BUDGET,
            user=user,
            user_source_token=TRADER_SOURCE,
            user_destination_token=TRADER_DESTINATION,
            exact_in=exact_in,
        )
        case = {"input_mint": mint_s, "exact_in": exact_in, "amount": str(amount), "points": origin}
        try:
            ixs = pool.swap_instruction(params).instructions
        except QuoteError as e:
            cases.append(case | {"not_built": str(e)})
            continue
        _, record = harness.swap(
            ixs,
            program_id=pool.program_id,
            source=TRADER_SOURCE,
            destination=TRADER_DESTINATION,
            source_balance=balance,
        )
        cases.append(case | record)
        n = kind.crossings(pool, mint_in, amount, exact_in)
        if "compute_units" in record and n is not None:
            rows.append(("fixture", n, record["compute_units"]))
    doc = {
        "generator": "plugins/raydium/tests/program_oracle/run_program.py",
        "program": program.describe(),
        "pool": str(key),
        "unix_timestamp": TIMESTAMP,
        "epoch": EPOCH,
        "points": (
            f"every point of ../oracle/{kind.oracle} (points: sdk), then {EXTRA_POINTS} "
            "log-uniform amounts per direction and kind (points: extra)"
        ),
        "trader": {"exact_in": "holds the amount", "exact_out": f"holds {EXACT_OUT_BUDGET}"},
        "cases": cases,
    }
    if synthetic:
        doc["synthetic_accounts"] = synthetic
    crossing = "ticks crossed" if kind.name == "clmm" else "none (constant product)"
    if rows:
        table = compute_unit_table(
            [(kind.fixtures, n, cu) for _, n, cu in rows], program=program, crossing=crossing
        )
        (HERE / f"compute_units_{kind.name}.json").write_text(dumps_cases(table))
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in KINDS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            help="a binary file, or GIT_DIR=owner/name:REV:PATH of a repository snapshot",
        )
    parser.add_argument(
        "--clmm-observation",
        choices=sorted(OBSERVATION_LAYOUTS),
        default="current",
        help="ObservationState layout the CLMM binary reads (legacy: binaries before 2024's)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    for name, kind in KINDS.items():
        spec = getattr(args, name)
        if not spec:
            continue
        program = binary(kind, spec, kind.adapter.program_id)
        doc = run_kind(kind, program, args.clmm_observation)
        out = HERE / f"expected_{name}.json"
        out.write_text(dumps_cases(doc))
        print(f"wrote {out}: {len(doc['cases'])} points in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
