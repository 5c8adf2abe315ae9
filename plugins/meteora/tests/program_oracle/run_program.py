"""Expected swap results from Meteora's production lb_clmm program, run on solders.litesvm.

The TypeScript SDK is an oracle for the quote math, but only the program decides what a
swap pays. This script loads the production binary (``lb_clmm_prod.so``, shipped in the
public MeteoraAg/dlmm-sdk repository for its own tests; never committed here, there is no
licence to redistribute it) into ``solders.litesvm`` together with the fixture accounts,
sends the ``swap2`` / ``swap_exact_out2`` instructions the adapter builds, and records what
the program actually transferred, or the error it failed with, into
``expected_program.json`` with the binary's sha256 and source commit. The tests compare the
adapter against that file; CI never runs the program.

Points: every point of the SDK oracle (``../oracle/expected_quotes.json``: the same fixture
sets, clock scenarios, directions and amounts), so the two oracles can be reconciled point
by point.

Run (from the repository root, after the SDK oracle):

    .venv/bin/python plugins/meteora/tests/program_oracle/run_program.py \\
        --dlmm-sdk /path/to/dlmm-sdk            # a clone or bare git directory
    # or: --program /path/to/lb_clmm_prod.so --source "MeteoraAg/dlmm-sdk@<commit>"
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

from meteora_testlib import expected, pool_feed  # noqa: E402

from lstarb_meteora.dlmm import DlmmPool  # noqa: E402
from lstarb_meteora.dlmm.constants import PROGRAM_ID  # noqa: E402
from lstarb_sdk.solana import SYSVAR_CLOCK_ID  # noqa: E402
from lstarb_sdk.testing import clock_account  # noqa: E402
from lstarb_sdk.testing.program_oracle import (  # noqa: E402
    TRADER,
    TRADER_DESTINATION,
    TRADER_SOURCE,
    ProgramBinary,
    ProgramHarness,
    compute_unit_table,
    dumps_cases,
    token_account_like,
)
from lstarb_sdk.types import SwapParams  # noqa: E402

OUT = HERE / "expected_program.json"
CU_OUT = HERE / "compute_units.json"
REPOSITORY = "MeteoraAg/dlmm-sdk"
BINARY_PATH = "commons/tests/artifacts/lb_clmm_prod.so"
# Anchor's event CPI: sha256("anchor:event")[:8], then the event's discriminator.
EVENT_IX_TAG = bytes.fromhex("e445a52e51cb9a1d")
SWAP_EVENT = bytes((81, 108, 227, 190, 205, 208, 10, 196))
# Exact-out: the trader holds this much of the input and accepts any input up to it.
EXACT_OUT_BUDGET = 1 << 62
EXTRA_POINTS = 16
ORACLE_DISCRIMINATOR = bytes((139, 194, 131, 179, 140, 179, 229, 244))
ORACLE_SAMPLES = 100
ORACLE_SAMPLE_LEN = 32
ORACLE_LAMPORTS = 23_385_600  # rent-exempt minimum for its 3 232 bytes
PROTOCOL_FEE_OFFSET = 216  # LbPair.protocol_fee.amount_x, amount_y


def program_from_args(args: argparse.Namespace) -> ProgramBinary:
    if args.program:
        return ProgramBinary.from_file(PROGRAM_ID, args.program, args.source)
    return ProgramBinary.from_git(PROGRAM_ID, args.dlmm_sdk, args.rev, BINARY_PATH, REPOSITORY)


def _empty_oracle() -> Account:
    """An Oracle as the program creates it: no samples taken yet."""
    header = (0).to_bytes(8, "little") * 2 + ORACLE_SAMPLES.to_bytes(8, "little")
    data = ORACLE_DISCRIMINATOR + header + bytes(ORACLE_SAMPLE_LEN * ORACLE_SAMPLES)
    return Account(ORACLE_LAMPORTS, data, PROGRAM_ID, False, 0)


def _swap_event(inner: list[Any]) -> dict[str, Any] | None:
    for group in inner:
        for inner in group:
            data = bytes(inner.instruction().data)
            if data[:16] == EVENT_IX_TAG + SWAP_EVENT:
                body = data[16:]
                return {
                    "start_bin_id": int.from_bytes(body[64:68], "little", signed=True),
                    "end_bin_id": int.from_bytes(body[68:72], "little", signed=True),
                    "amount_in": int.from_bytes(body[72:80], "little"),
                    "amount_out": int.from_bytes(body[80:88], "little"),
                    "fee": int.from_bytes(body[89:97], "little"),
                    "protocol_fee": int.from_bytes(body[97:105], "little"),
                    "host_fee": int.from_bytes(body[121:129], "little"),
                }
    return None


class Harness:
    """One fixture set (or variant) in the shared LiteSVM harness with the program loaded."""

    def __init__(
        self, program: ProgramBinary, feed: dict[Pubkey, Account | None], pool: DlmmPool
    ) -> None:
        self.pool = pool
        self.feed = feed
        self.svm = ProgramHarness([program], feed)
        self.synthetic: list[str] = []
        if pool.pair.oracle not in feed:  # the swap writes the oracle; quotes never read it
            self.svm.set_account(pool.pair.oracle, _empty_oracle())
            self.synthetic.append(f"oracle {pool.pair.oracle}: empty, {ORACLE_SAMPLES} samples")
        pair = pool.pair
        self.reserves = {
            pair.token_x_mint: feed[pair.reserve_x],
            pair.token_y_mint: feed[pair.reserve_y],
        }

    def _protocol_fee_added(self, pair: Account) -> list[int]:
        before = bytes(self.feed[self.pool.address].data)  # type: ignore[union-attr]
        after = bytes(pair.data)
        at = PROTOCOL_FEE_OFFSET
        return [
            int.from_bytes(after[i : i + 8], "little") - int.from_bytes(before[i : i + 8], "little")
            for i in (at, at + 8)
        ]

    def set_clock(self, unix_timestamp: int, epoch: int) -> None:
        self.svm.set_clock(unix_timestamp, epoch)
        self.pool.update({SYSVAR_CLOCK_ID: clock_account(unix_timestamp, epoch, 1)})

    def run(self, swap_for_y: bool, exact_in: bool, amount: int) -> dict[str, Any]:
        pair = self.pool.pair
        mint_in, mint_out = (
            (pair.token_x_mint, pair.token_y_mint)
            if swap_for_y
            else (pair.token_y_mint, pair.token_x_mint)
        )
        balance = amount if exact_in else EXACT_OUT_BUDGET
        user = TRADER.pubkey()
        self.svm.set_account(
            TRADER_SOURCE, token_account_like(self.reserves[mint_in], user, balance)
        )
        self.svm.set_account(
            TRADER_DESTINATION, token_account_like(self.reserves[mint_out], user, 0)
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
        arrays = [str(m.pubkey) for m in swap[0].accounts[16:]]
        run, record = self.svm.swap(
            swap,
            program_id=PROGRAM_ID,
            source=TRADER_SOURCE,
            destination=TRADER_DESTINATION,
            source_balance=balance,
        )
        if not run.ok:
            return {**record, "bin_arrays_passed": arrays}
        return {
            "in": record["in"],
            "out": record["out"],
            "event": _swap_event(run.inner),
            "pair_protocol_fee_added": self._protocol_fee_added(run.post[self.pool.address]),
            "compute_units": record["compute_units"],
            "bin_arrays_passed": arrays,
        }


def _points(scen: dict[str, Any], seed: str) -> list[tuple[bool, bool, int, str]]:
    """The SDK oracle's points, then ``EXTRA_POINTS`` log-uniform amounts per direction and
    kind up to the largest the SDK quoted there (the SDK grid is round numbers; these land
    anywhere in a bin, e.g. part way into its limit orders)."""
    points = [(c["swap_for_y"], c["exact_in"], int(c["amount"]), "sdk") for c in scen["cases"]]
    rng = random.Random(seed)
    for swap_for_y in (True, False):
        for exact_in in (True, False):
            quoted = [
                a for sfy, ei, a, _ in points if (sfy, ei) == (swap_for_y, exact_in) and a > 1
            ]
            top = max(quoted, default=2).bit_length()
            for _ in range(EXTRA_POINTS):
                amount = int(2 ** rng.uniform(0, top))
                points.append((swap_for_y, exact_in, max(amount, 1), "extra"))
    return points


def run_set(
    program: ProgramBinary, doc: dict[str, Any], pair_file: str | None, absent: list[int]
) -> dict[str, Any]:
    label = doc["label"]
    pool, feed = pool_feed(label, pair_file, absent)
    pool.update(feed)
    harness = Harness(program, feed, pool)
    scenarios = []
    for scen in doc["scenarios"]:
        harness.set_clock(scen["unix_timestamp"], scen["epoch"])
        cases = []
        for swap_for_y, exact_in, amount, origin in _points(scen, f"{label}/{scen['name']}"):
            got = harness.run(swap_for_y, exact_in, amount)
            case = {"swap_for_y": swap_for_y, "exact_in": exact_in, "amount": str(amount)}
            cases.append(case | {"points": origin} | got)
        scenarios.append(
            {k: scen[k] for k in ("name", "unix_timestamp", "epoch")} | {"cases": cases}
        )
    out = {"label": label, "pair": str(pool.address), "scenarios": scenarios}
    return out | ({"synthetic_accounts": harness.synthetic} if harness.synthetic else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--dlmm-sdk", help="a clone (or bare git directory) of MeteoraAg/dlmm-sdk")
    where.add_argument("--program", help="a path to lb_clmm_prod.so")
    parser.add_argument("--rev", default="HEAD", help="dlmm-sdk revision to take the binary from")
    parser.add_argument("--source", help="with --program: where the binary came from")
    args = parser.parse_args()
    program = program_from_args(args)
    sdk = expected()
    started = time.monotonic()
    pools = [run_set(program, doc, None, []) for doc in sdk["pools"]]
    sparse = [
        run_set(program, doc, doc["pair_file"], doc["uninitialized_arrays"])
        | {"pair_file": doc["pair_file"], "uninitialized_arrays": doc["uninitialized_arrays"]}
        for doc in sdk["sparse"]
    ]
    out = {
        "generator": "plugins/meteora/tests/program_oracle/run_program.py",
        "program": program.describe(),
        "points": (
            "every point of ../oracle/expected_quotes.json (points: sdk), then "
            f"{EXTRA_POINTS} log-uniform amounts per direction and kind (points: extra)"
        ),
        "trader": {"exact_in": "holds the amount", "exact_out": f"holds {EXACT_OUT_BUDGET}"},
        "pools": pools,
        "sparse": sparse,
    }
    OUT.write_text(dumps_cases(out))
    rows = [
        (p["label"], abs(c["event"]["end_bin_id"] - c["event"]["start_bin_id"]), c["compute_units"])
        for p in pools
        for s in p["scenarios"]
        for c in s["cases"]
        if "event" in c and c["event"] is not None
    ]
    table = compute_unit_table(rows, program=program, crossing="bins moved (end - start bin)")
    CU_OUT.write_text(dumps_cases(table))
    n = sum(len(s["cases"]) for p in pools + sparse for s in p["scenarios"])
    print(f"wrote {OUT}: {n} swaps in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
