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
import hashlib
import json
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.clock import Clock as SvmClock
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from meteora_testlib import expected, pool_feed  # noqa: E402

from lstarb_meteora.dlmm import DlmmPool  # noqa: E402
from lstarb_meteora.dlmm.constants import PROGRAM_ID  # noqa: E402
from lstarb_sdk.amounts import U64_MAX  # noqa: E402
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_ACCOUNT_LEN, WSOL_MINT  # noqa: E402
from lstarb_sdk.testing import clock_account  # noqa: E402
from lstarb_sdk.types import SwapParams  # noqa: E402

OUT = HERE / "expected_program.json"
REPOSITORY = "MeteoraAg/dlmm-sdk"
BINARY_PATH = "commons/tests/artifacts/lb_clmm_prod.so"
SLOT = 1
COMPUTE_UNITS = 1_400_000
# Anchor's event CPI: sha256("anchor:event")[:8], then the event's discriminator.
EVENT_IX_TAG = bytes.fromhex("e445a52e51cb9a1d")
SWAP_EVENT = bytes((81, 108, 227, 190, 205, 208, 10, 196))
# The trader: a fixed key, so the JSON does not change between runs.
USER = Keypair.from_seed(bytes(range(32)))
USER_IN = Pubkey.from_string("UserSource111111111111111111111111111111111")
USER_OUT = Pubkey.from_string("UserDest11111111111111111111111111111111111")
# Exact-out: the trader holds this much of the input and accepts any input up to it.
EXACT_OUT_BUDGET = 1 << 62
EXTRA_POINTS = 16
TRANSFER_FEE_AMOUNT = 2  # Token-2022 account extension type
ORACLE_DISCRIMINATOR = bytes((139, 194, 131, 179, 140, 179, 229, 244))
ORACLE_SAMPLES = 100
ORACLE_SAMPLE_LEN = 32
ORACLE_LAMPORTS = 23_385_600  # rent-exempt minimum for its 3 232 bytes
PROTOCOL_FEE_OFFSET = 216  # LbPair.protocol_fee.amount_x, amount_y


@dataclass(frozen=True)
class Program:
    elf: bytes
    sha256: str
    source: str


def program_from_args(args: argparse.Namespace) -> Program:
    if args.program:
        elf = Path(args.program).read_bytes()
        source = args.source or f"{args.program} (source not stated)"
    else:
        git = ["git", "--git-dir", _git_dir(Path(args.dlmm_sdk))]
        commit = subprocess.run(
            [*git, "rev-parse", f"{args.rev}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        elf = subprocess.run(
            [*git, "show", f"{commit}:{BINARY_PATH}"], check=True, capture_output=True
        ).stdout
        source = f"{REPOSITORY}@{commit}:{BINARY_PATH}"
    return Program(elf, hashlib.sha256(elf).hexdigest(), source)


def _git_dir(path: Path) -> str:
    return str(path / ".git") if (path / ".git").exists() else str(path)


def _token_account(template: Account, owner: Pubkey, amount: int) -> Account:
    """A copy of a reserve (same mint, program and extensions) owned by the trader."""
    data = bytearray(template.data)
    data[32:64] = bytes(owner)
    data[64:72] = amount.to_bytes(8, "little")
    at = TOKEN_ACCOUNT_LEN + 1  # Token-2022 extensions (TLV): no fees withheld yet
    while at + 4 <= len(data):
        kind = int.from_bytes(data[at : at + 2], "little")
        length = int.from_bytes(data[at + 2 : at + 4], "little")
        if kind == TRANSFER_FEE_AMOUNT:
            data[at + 4 : at + 4 + length] = bytes(length)
        at += 4 + length
    lamports = template.lamports
    if bytes(data[0:32]) == bytes(WSOL_MINT):  # native: lamports back the amount
        rent = int.from_bytes(data[112:120], "little")
        lamports = min(rent + amount, U64_MAX)
    return Account(lamports, bytes(data), template.owner, False, 0)


def _empty_oracle() -> Account:
    """An Oracle as the program creates it: no samples taken yet."""
    header = (0).to_bytes(8, "little") * 2 + ORACLE_SAMPLES.to_bytes(8, "little")
    data = ORACLE_DISCRIMINATOR + header + bytes(ORACLE_SAMPLE_LEN * ORACLE_SAMPLES)
    return Account(ORACLE_LAMPORTS, data, PROGRAM_ID, False, 0)


def _amount(account: Account | None) -> int:
    return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")


def _swap_event(meta: Any) -> dict[str, Any] | None:
    for group in meta.inner_instructions():
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


def _error(failed: FailedTransactionMetadata) -> dict[str, Any]:
    logs = list(failed.meta().logs())
    text = str(failed.err())
    out: dict[str, Any] = {"error": text}
    for line in logs:
        if "Error Number:" in line or "AnchorError" in line:
            out["error_log"] = line.split(": ", 1)[-1] if line.startswith("Program log") else line
    custom = re.search(r"Custom\((\d+)\)", text)
    out["code"] = int(custom.group(1)) if custom else None
    return out


class Harness:
    """One fixture set (or variant) in a LiteSVM with the program loaded."""

    def __init__(
        self, program: Program, feed: dict[Pubkey, Account | None], pool: DlmmPool
    ) -> None:
        self.pool = pool
        self.feed = feed
        self.svm = LiteSVM()
        self.svm.with_sigverify(False)
        self.svm.add_program(PROGRAM_ID, program.elf)
        for key, account in feed.items():
            if account is not None and key != SYSVAR_CLOCK_ID:
                self.svm.set_account(key, account)
        self.synthetic: list[str] = []
        if pool.pair.oracle not in feed:  # the swap writes the oracle; quotes never read it
            self.svm.set_account(pool.pair.oracle, _empty_oracle())
            self.synthetic.append(f"oracle {pool.pair.oracle}: empty, {ORACLE_SAMPLES} samples")
        self.svm.airdrop(USER.pubkey(), 10**12)
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
        self.svm.set_clock(SvmClock(SLOT, unix_timestamp, epoch, epoch + 1, unix_timestamp))
        self.pool.update({SYSVAR_CLOCK_ID: clock_account(unix_timestamp, epoch, SLOT)})

    def run(self, swap_for_y: bool, exact_in: bool, amount: int) -> dict[str, Any]:
        pair = self.pool.pair
        mint_in, mint_out = (
            (pair.token_x_mint, pair.token_y_mint)
            if swap_for_y
            else (pair.token_y_mint, pair.token_x_mint)
        )
        balance = amount if exact_in else EXACT_OUT_BUDGET
        self.svm.set_account(
            USER_IN, _token_account(self.reserves[mint_in], USER.pubkey(), balance)
        )
        self.svm.set_account(USER_OUT, _token_account(self.reserves[mint_out], USER.pubkey(), 0))
        params = SwapParams(
            input_mint=mint_in,
            amount=amount,
            other_amount_threshold=0 if exact_in else EXACT_OUT_BUDGET,
            user=USER.pubkey(),
            user_source_token=USER_IN,
            user_destination_token=USER_OUT,
            exact_in=exact_in,
        )
        swap = self.pool.swap_instruction(params).instructions
        ixs = [set_compute_unit_limit(COMPUTE_UNITS), *swap]
        tx = Transaction([USER], Message(ixs, USER.pubkey()), self.svm.latest_blockhash())
        arrays = [str(m.pubkey) for m in swap[0].accounts[16:]]
        result = self.svm.simulate_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            return {**_error(result), "bin_arrays_passed": arrays}
        post = dict(result.post_accounts())
        sent = balance - _amount(post.get(USER_IN))
        received = _amount(post.get(USER_OUT))
        event = _swap_event(result.meta())
        return {
            "in": str(sent),
            "out": str(received),
            "event": event,
            "pair_protocol_fee_added": self._protocol_fee_added(post[self.pool.address]),
            "compute_units": result.meta().compute_units_consumed(),
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
    program: Program, doc: dict[str, Any], pair_file: str | None, absent: list[int]
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
        "program": {"id": str(PROGRAM_ID), "sha256": program.sha256, "source": program.source},
        "points": (
            "every point of ../oracle/expected_quotes.json (points: sdk), then "
            f"{EXTRA_POINTS} log-uniform amounts per direction and kind (points: extra)"
        ),
        "trader": {"exact_in": "holds the amount", "exact_out": f"holds {EXACT_OUT_BUDGET}"},
        "pools": pools,
        "sparse": sparse,
    }
    # One case per line: small diffs when the program or the grid changes.
    text = json.dumps(out, indent=1)
    text = re.sub(
        r'\{\n\s+"swap_for_y"[\s\S]*?\n\s+\}(?=,?\n\s+[\{\]])',
        lambda m: json.dumps(json.loads(m.group(0))),
        text,
    )
    OUT.write_text(text + "\n")
    n = sum(len(s["cases"]) for p in pools + sparse for s in p["scenarios"])
    print(f"wrote {OUT}: {n} swaps in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
