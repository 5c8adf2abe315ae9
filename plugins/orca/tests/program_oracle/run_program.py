"""Expected swap results from Orca's deployed Whirlpool program, run on solders.litesvm.

The binary is one of the mainnet deployments Orca publishes in its own
``orca-so/whirlpool-tx-replayer`` (``replay-engine/src/programs/whirlpool/``, one file per
upgrade, named by date and slot): by default the newest there. It is never committed here.
The script loads it with each fixture set's accounts (pool, tick arrays, mints; the
adaptive variants' synthetic Oracle), sends the ``swap_v2`` instructions the adapter
builds, and records what the trader sent and received, or the program's error, with the
compute units, into ``expected_program.json``; ``compute_units.json`` sums the compute
units up by ticks crossed. The tests compare the adapter with both; CI never runs the
program.

Synthetic, and recorded as such in the JSON: the vaults of the sets whose dumps have none
(token accounts of the pool's mints owned by the pool, holding 2^62 units, so that no swap
fails for want of a payout; the set with real vaults uses them as dumped), and the trader's
token accounts.

Points: every point of the SDK oracle (``../oracle/expected_quotes.json``: the same sets,
variants, directions and amounts) except the transfer-fee variants (their Token-2022 fees are
hypothetical: the real mints are legacy SPL Token mints), then ``EXTRA_POINTS`` log-uniform
amounts per direction and kind.

Run (from the repository root):

    .venv/bin/python plugins/orca/tests/program_oracle/run_program.py \\
        --replayer /path/to/whirlpool-tx-replayer     # a clone or bare git directory
    # or: --program /path/to/whirlpool.so --source "<where it came from>"
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from orca_testlib import expected, pool_feed  # noqa: E402

from lstarb_orca.state import WHIRLPOOL_PROGRAM_ID  # noqa: E402
from lstarb_orca.whirlpool import WhirlpoolPool  # noqa: E402
from lstarb_sdk.errors import QuoteError  # noqa: E402
from lstarb_sdk.testing.program_oracle import (  # noqa: E402
    TRADER,
    TRADER_DESTINATION,
    TRADER_SOURCE,
    ProgramBinary,
    ProgramHarness,
    compute_unit_table,
    dumps_cases,
    token_account,
)
from lstarb_sdk.types import SwapParams  # noqa: E402

OUT = HERE / "expected_program.json"
CU_OUT = HERE / "compute_units.json"
REPOSITORY = "orca-so/whirlpool-tx-replayer"
BINARY_DIR = "replay-engine/src/programs/whirlpool"
BINARY_NAME = "whirlpool-20250911-366188902.so"
EXACT_OUT_BUDGET = 1 << 62
SYNTHETIC_VAULT_AMOUNT = 1 << 62
EXTRA_POINTS = 16
PLAIN_TIMESTAMP = 1_700_000_000  # after every fixture's reward update; no fee reads it
EPOCH = 500
SKIPPED = ("transfer_fee",)
"""Variants not run: their Token-2022 fees are hypothetical (the real mints are legacy SPL
Token mints). The adaptive variants ("adaptive@...") are not run either: they change the
pool's fee-tier seed, one of its PDA seeds, so the program cannot sign for its vaults."""


def program_from_args(args: argparse.Namespace) -> ProgramBinary:
    if args.program:
        return ProgramBinary.from_file(WHIRLPOOL_PROGRAM_ID, args.program, args.source)
    path = f"{BINARY_DIR}/{args.binary}"
    return ProgramBinary.from_git(WHIRLPOOL_PROGRAM_ID, args.replayer, args.rev, path, REPOSITORY)


def _variant_pool(label: str, variant: dict[str, Any]) -> tuple[WhirlpoolPool, dict, int]:
    name = variant["name"]
    if name == "plain" or name.startswith("moved@"):
        pool, feed = pool_feed(label, whirlpool_file=variant.get("whirlpool_file"))
        # The program refuses a Clock before the pool's reward update (6022).
        return pool, feed, max(PLAIN_TIMESTAMP, pool.state.reward_last_updated_timestamp)
    assert name.startswith("adaptive@"), name
    ts = int(variant["timestamp"])
    pool, feed = pool_feed(label, adaptive_seed=variant["fee_tier_index_seed"], timestamp=ts)
    return pool, feed, ts


class Harness:
    """One variant of a fixture set in the shared LiteSVM harness."""

    def __init__(
        self, program: ProgramBinary, pool: WhirlpoolPool, feed: dict[Pubkey, Account | None]
    ) -> None:
        self.pool = pool
        state = pool.state
        self.programs = {
            state.token_mint_a: feed[state.token_mint_a].owner,  # type: ignore[union-attr]
            state.token_mint_b: feed[state.token_mint_b].owner,  # type: ignore[union-attr]
        }
        self.synthetic: list[str] = []
        accounts = dict(feed)
        for vault, mint in (
            (state.token_vault_a, state.token_mint_a),
            (state.token_vault_b, state.token_mint_b),
        ):
            if accounts.get(vault) is None:
                accounts[vault] = token_account(
                    mint, pool.address, SYNTHETIC_VAULT_AMOUNT, token_program=self.programs[mint]
                )
                self.synthetic.append(f"vault {vault}: {SYNTHETIC_VAULT_AMOUNT} of {mint}")
        self.svm = ProgramHarness([program], accounts)
        # Window arrays the program is not given: to it they do not exist (it swaps through
        # them as uninitialized); the test tells the adapter so (None) before comparing.
        window = pool.tick_array_addresses(True) + pool.tick_array_addresses(False)
        self.absent = sorted({str(k) for k in window if accounts.get(k) is None})

    def run(self, a_to_b: bool, exact_in: bool, amount: int) -> dict[str, Any]:
        state = self.pool.state
        mint_in, mint_out = (
            (state.token_mint_a, state.token_mint_b)
            if a_to_b
            else (state.token_mint_b, state.token_mint_a)
        )
        balance = amount if exact_in else EXACT_OUT_BUDGET
        user = TRADER.pubkey()
        self.svm.set_account(
            TRADER_SOURCE,
            token_account(mint_in, user, balance, token_program=self.programs[mint_in]),
        )
        self.svm.set_account(
            TRADER_DESTINATION,
            token_account(mint_out, user, 0, token_program=self.programs[mint_out]),
        )
        params = SwapParams(
            input_mint=mint_in,
            amount=amount,
            other_amount_threshold=0 if exact_in else EXACT_OUT_BUDGET,
            user=user,
            user_source_token=TRADER_SOURCE,
            user_destination_token=TRADER_DESTINATION,
            exact_in=exact_in,
        )
        swap = self.pool.swap_instruction(params).instructions
        _, record = self.svm.swap(
            swap,
            program_id=WHIRLPOOL_PROGRAM_ID,
            source=TRADER_SOURCE,
            destination=TRADER_DESTINATION,
            source_balance=balance,
        )
        return record


def crossings(pool: WhirlpoolPool, a_to_b: bool, exact_in: bool, amount: int) -> int | None:
    """Ticks the adapter's walk crosses for this swap (None where it does not quote)."""
    try:
        return pool.swap(amount, a_to_b, exact_in).ticks_crossed
    except QuoteError:  # a refused quote crosses nothing we can count
        return None


def _points(cases: list[dict[str, Any]], seed: str) -> list[tuple[bool, bool, int, str]]:
    """The SDK oracle's points, then log-uniform amounts up to the largest it quoted."""
    points = [(c["a_to_b"], c["exact_in"], int(c["amount"]), "sdk") for c in cases]
    rng = random.Random(seed)
    for a_to_b in (True, False):
        for exact_in in (True, False):
            quoted = [
                int(c["amount"])
                for c in cases
                if (c["a_to_b"], c["exact_in"]) == (a_to_b, exact_in) and "error" not in c
            ]
            top = max(quoted, default=2).bit_length()
            for _ in range(EXTRA_POINTS):
                amount = max(int(2 ** rng.uniform(0, top)), 1)
                points.append((a_to_b, exact_in, amount, "extra"))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--replayer", help="a clone (or bare git directory) of " + REPOSITORY)
    where.add_argument("--program", help="a path to a whirlpool program binary")
    parser.add_argument("--rev", default="HEAD", help="revision to take the binary from")
    parser.add_argument("--binary", default=BINARY_NAME, help="file name under " + BINARY_DIR)
    parser.add_argument("--source", help="with --program: where the binary came from")
    args = parser.parse_args()
    program = program_from_args(args)
    started = time.monotonic()
    pools = []
    cu_rows: list[tuple[str, int, int]] = []
    for label, entry in expected()["pools"].items():
        variants = []
        for variant in entry["variants"]:
            if variant["name"] in SKIPPED or variant["name"].startswith("adaptive@"):
                continue
            pool, feed, ts = _variant_pool(label, variant)
            harness = Harness(program, pool, feed)
            pool.update({Pubkey.from_string(k): None for k in harness.absent})
            harness.svm.set_clock(ts, EPOCH)
            cases = []
            for a_to_b, exact_in, amount, origin in _points(
                variant["cases"], f"{label}/{variant['name']}"
            ):
                got = harness.run(a_to_b, exact_in, amount)
                case = {"a_to_b": a_to_b, "exact_in": exact_in, "amount": str(amount)}
                cases.append(case | {"points": origin} | got)
                ticks = crossings(pool, a_to_b, exact_in, amount)
                if "compute_units" in got and ticks is not None:
                    cu_rows.append((label, ticks, got["compute_units"]))
            out = {k: v for k, v in variant.items() if k != "cases"}
            out |= {"unix_timestamp": ts, "epoch": EPOCH}
            if harness.synthetic:
                out["synthetic_accounts"] = harness.synthetic
            out["tick_arrays_absent"] = harness.absent
            variants.append(out | {"cases": cases})
        pools.append({"label": label, "whirlpool": entry["whirlpool"], "variants": variants})
    doc = {
        "generator": "plugins/orca/tests/program_oracle/run_program.py",
        "program": program.describe(),
        "points": (
            "every point of ../oracle/expected_quotes.json but the transfer-fee variants "
            f"(points: sdk), then {EXTRA_POINTS} log-uniform amounts per direction and kind "
            "(points: extra)"
        ),
        "trader": {"exact_in": "holds the amount", "exact_out": f"holds {EXACT_OUT_BUDGET}"},
        "pools": pools,
    }
    OUT.write_text(dumps_cases(doc))
    CU_OUT.write_text(
        dumps_cases(compute_unit_table(cu_rows, program=program, crossing="ticks crossed"))
    )
    n = sum(len(v["cases"]) for p in pools for v in p["variants"])
    print(f"wrote {OUT}: {n} swaps in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
