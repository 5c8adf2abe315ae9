"""Run a DEX's real on-chain program on fixture accounts: the program oracle.

An SDK (TypeScript or Rust) is an oracle for the quote math, but only the
program decides what a swap pays. A plugin's program-oracle script loads the
program binary (a public mainnet dump, never committed: there is no licence
to redistribute it) into ``solders.litesvm`` together with the plugin's
fixture accounts, sends the swap instructions the adapter itself builds, and
records what the trader actually sent and received, or the program's error,
with the compute units the swap consumed. Tests then compare the adapter's
quotes with the recorded JSON; CI never runs a binary.

This module holds what every such script shares: loading and identifying a
binary (:class:`ProgramBinary`, sha256 and the ``security.txt`` it embeds),
token accounts for the trader (:func:`token_account`, :func:`token_account_like`),
one LiteSVM per fixture set (:class:`ProgramHarness`: every swap simulated on
the same state, balances read back, errors decoded), the per-instruction
compute units from the logs, the upper-bound fit the adapters publish
(:func:`fit_compute_units`) and a JSON writer with one case per line.

``solders.litesvm`` is imported when a harness is built, so importing this
module (for its constants and fits in tests) needs no LiteSVM.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from lstarb_sdk.solana import (
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_LEN,
    TOKEN_PROGRAM_ID,
    WSOL_MINT,
)
from lstarb_sdk.types import ComputeUnits

if TYPE_CHECKING:  # pragma: no cover
    from solders.litesvm import LiteSVM

SECURITY_TXT_BEGIN = b"=======BEGIN SECURITY.TXT V1=======\x00"
SECURITY_TXT_END = b"=======END SECURITY.TXT V1=======\x00"
TRADER = Keypair.from_seed(bytes(range(32)))
"""The trader every program oracle signs with: a fixed key keeps recorded JSON stable."""
TRADER_SOURCE = Pubkey.from_string("UserSource111111111111111111111111111111111")
TRADER_DESTINATION = Pubkey.from_string("UserDest11111111111111111111111111111111111")
COMPUTE_UNIT_LIMIT = 1_400_000
TOKEN_ACCOUNT_RENT = 2_039_280
"""Rent-exempt minimum of a 165-byte token account."""
ACCOUNT_STATE_INITIALIZED = 1
TOKEN_2022_ACCOUNT_TYPE = 2
TRANSFER_FEE_AMOUNT_EXTENSION = 2
_CONSUMED = re.compile(r"^Program (\w+) consumed (\d+) of \d+ compute units$")
_CUSTOM = re.compile(r"Custom\((\d+)\)")


@dataclass(frozen=True)
class ProgramBinary:
    """A program's ELF, the id it is deployed at and where the bytes came from."""

    program_id: Pubkey
    elf: bytes
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.elf).hexdigest()

    @classmethod
    def from_file(cls, program_id: Pubkey, path: str | Path, source: str | None) -> ProgramBinary:
        elf = Path(path).read_bytes()
        return cls(program_id, elf, source or f"{path} (source not stated)")

    @classmethod
    def from_git(
        cls, program_id: Pubkey, git_dir: str | Path, rev: str, path: str, repository: str
    ) -> ProgramBinary:
        """The binary at ``rev:path`` of a clone or bare git directory of ``repository``.

        Raises ValueError when the blob is empty: snapshots leave out large
        files and Git LFS content, and an empty ELF would load as nothing.
        """
        root = Path(git_dir)
        git = ["git", "--git-dir", str(root / ".git" if (root / ".git").exists() else root)]
        commit = subprocess.run(
            [*git, "rev-parse", f"{rev}^{{commit}}"], check=True, capture_output=True, text=True
        ).stdout.strip()
        elf = subprocess.run(
            [*git, "show", f"{commit}:{path}"], check=True, capture_output=True
        ).stdout
        if not elf.startswith(b"\x7fELF"):
            raise ValueError(f"{repository}@{commit}:{path} is not an ELF ({len(elf)} bytes)")
        return cls(program_id, elf, f"{repository}@{commit}:{path}")

    def security_txt(self) -> dict[str, str]:
        """The ``security.txt`` the program embeds (solana-security-txt), or {}.

        Names the project and its source repository: evidence of which
        program a dump is, recorded next to its sha256.
        """
        start = self.elf.find(SECURITY_TXT_BEGIN)
        end = self.elf.find(SECURITY_TXT_END, start + 1)
        if start < 0 or end < 0:
            return {}
        fields = self.elf[start + len(SECURITY_TXT_BEGIN) : end].split(b"\x00")
        pairs = zip(fields[0::2], fields[1::2], strict=False)
        return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs if k}

    def describe(self) -> dict[str, Any]:
        """What a recorded JSON says about the binary that made it."""
        out: dict[str, Any] = {
            "id": str(self.program_id),
            "sha256": self.sha256,
            "size": len(self.elf),
            "source": self.source,
        }
        security = self.security_txt()
        if security:
            out["security_txt"] = security
        return out


def token_account(
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    *,
    token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Account:
    """An initialized token account (no delegate, no close authority).

    Token-2022 accounts carry the account-type byte and no extension; a
    wrapped-SOL account is native, its lamports backing the amount.
    """
    native = mint == WSOL_MINT
    data = bytearray(TOKEN_ACCOUNT_LEN)
    data[0:32] = bytes(mint)
    data[32:64] = bytes(owner)
    data[64:72] = amount.to_bytes(8, "little")
    data[108] = ACCOUNT_STATE_INITIALIZED
    lamports = TOKEN_ACCOUNT_RENT
    if native:
        data[109:113] = (1).to_bytes(4, "little")
        data[113:121] = TOKEN_ACCOUNT_RENT.to_bytes(8, "little")
        lamports = min(lamports + amount, 2**64 - 1)
    if token_program == TOKEN_2022_PROGRAM_ID:
        data += bytes((TOKEN_2022_ACCOUNT_TYPE,))
    return Account(lamports, bytes(data), token_program, False, 0)


def token_account_like(template: Account, owner: Pubkey, amount: int) -> Account:
    """A copy of a real token account (same mint, program and extensions) for ``owner``.

    Token-2022 fees withheld in the template are cleared: the trader's fresh
    account has none. A native (wrapped SOL) account gets the lamports that
    back ``amount``.
    """
    data = bytearray(template.data)
    data[32:64] = bytes(owner)
    data[64:72] = amount.to_bytes(8, "little")
    at = TOKEN_ACCOUNT_LEN + 1
    while at + 4 <= len(data):
        kind = int.from_bytes(data[at : at + 2], "little")
        length = int.from_bytes(data[at + 2 : at + 4], "little")
        if kind == TRANSFER_FEE_AMOUNT_EXTENSION:
            data[at + 4 : at + 4 + length] = bytes(length)
        at += 4 + length
    lamports = template.lamports
    if bytes(data[0:32]) == bytes(WSOL_MINT):
        rent = int.from_bytes(data[113:121], "little")
        lamports = min(rent + amount, 2**64 - 1)
    return Account(lamports, bytes(data), template.owner, False, 0)


def token_amount(account: Account | None) -> int:
    """A token account's amount; 0 for an account that does not exist (closed)."""
    return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")


def compute_units_of(logs: Iterable[str], program_id: Pubkey) -> int | None:
    """Compute units the top-level invocation of ``program_id`` consumed, from the logs.

    Inner invocations (CPIs, self-CPI events) log their own ``consumed``
    line first; the top-level one comes last and includes them.
    """
    target = str(program_id)
    found = None
    for line in logs:
        m = _CONSUMED.match(line)
        if m and m.group(1) == target:
            found = int(m.group(2))
    return found


def error_record(err: object, logs: Sequence[str]) -> dict[str, Any]:
    """A failed transaction as recorded: the error text, its custom code and the log line
    naming it (Anchor's ``AnchorError ...`` or the program's own message)."""
    text = str(err)
    out: dict[str, Any] = {"error": text}
    for line in logs:
        if "Error Number:" in line or "AnchorError" in line or "Error: " in line:
            out["error_log"] = line.split(": ", 1)[-1] if line.startswith("Program log") else line
    custom = _CUSTOM.search(text)
    out["code"] = int(custom.group(1)) if custom else None
    return out


@dataclass
class SwapRun:
    """One simulated transaction: balances of the watched accounts after it, or its error."""

    ok: bool
    balances: dict[Pubkey, int] = field(default_factory=dict)
    compute_units: int | None = None
    error: dict[str, Any] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    post: dict[Pubkey, Account] = field(default_factory=dict)
    inner: list[Any] = field(default_factory=list)


class ProgramHarness:
    """One LiteSVM holding the programs and one fixture set's accounts.

    Every :meth:`simulate` starts from the same state (simulation commits
    nothing), so a grid of swaps sees the fixture exactly as dumped. Accounts
    mapped to None are left out (the chain has none); the Clock comes from
    :meth:`set_clock`, never from a fixture.
    """

    def __init__(
        self,
        programs: Sequence[ProgramBinary],
        accounts: Mapping[Pubkey, Account | None],
        *,
        payer: Keypair = TRADER,
    ) -> None:
        from solders.litesvm import LiteSVM

        self.svm: LiteSVM = LiteSVM()
        self.svm.with_sigverify(False)
        for program in programs:
            self.svm.add_program(program.program_id, program.elf)
        for key, account in accounts.items():
            if account is not None and key != SYSVAR_CLOCK_ID:
                self.svm.set_account(key, account)
        self.payer = payer
        self.svm.airdrop(payer.pubkey(), 10**12)

    def set_account(self, key: Pubkey, account: Account) -> None:
        self.svm.set_account(key, account)

    def get_account(self, key: Pubkey) -> Account | None:
        return self.svm.get_account(key)

    def set_clock(self, unix_timestamp: int, epoch: int, slot: int = 1) -> None:
        from solders.clock import Clock

        self.svm.set_clock(Clock(slot, unix_timestamp, epoch, epoch + 1, unix_timestamp))

    def simulate(
        self,
        instructions: Sequence[Instruction],
        *,
        program_id: Pubkey,
        watch: Sequence[Pubkey] = (),
        signers: Sequence[Keypair] = (),
    ) -> SwapRun:
        """Simulate ``instructions`` (after a compute-unit limit) signed by the payer.

        ``compute_units`` is what ``program_id``'s top-level invocation
        consumed (the last one when it is invoked more than once).
        """
        from solders.compute_budget import set_compute_unit_limit
        from solders.message import Message
        from solders.transaction import Transaction
        from solders.transaction_metadata import FailedTransactionMetadata

        ixs = [set_compute_unit_limit(COMPUTE_UNIT_LIMIT), *instructions]
        tx = Transaction(
            [self.payer, *signers],
            Message(ixs, self.payer.pubkey()),
            self.svm.latest_blockhash(),
        )
        result = self.svm.simulate_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            logs = list(result.meta().logs())
            return SwapRun(False, error=error_record(result.err(), logs), logs=logs)
        meta = result.meta()
        logs = list(meta.logs())
        post = dict(result.post_accounts())
        return SwapRun(
            True,
            balances={k: token_amount(post.get(k, self.svm.get_account(k))) for k in watch},
            compute_units=compute_units_of(logs, program_id),
            logs=logs,
            post=post,
            inner=list(meta.inner_instructions()),
        )

    def swap(
        self,
        instructions: Sequence[Instruction],
        *,
        program_id: Pubkey,
        source: Pubkey,
        destination: Pubkey,
        source_balance: int,
        destination_balance: int = 0,
    ) -> tuple[SwapRun, dict[str, Any]]:
        """Simulate a swap between two trader token accounts and record it.

        The record holds what the trader sent (``in``) and received (``out``)
        as strings (u64 does not fit a JSON double) with the compute units,
        or the program's error.
        """
        run = self.simulate(instructions, program_id=program_id, watch=(source, destination))
        if not run.ok:
            return run, dict(run.error)
        sent = source_balance - run.balances[source]
        received = run.balances[destination] - destination_balance
        return run, {"in": str(sent), "out": str(received), "compute_units": run.compute_units}


def fit_compute_units(
    points: Iterable[tuple[int, int]], *, source: str, headroom: float = 0.0
) -> ComputeUnits:
    """The upper-bound line over measured (crossings, compute units) points.

    ``base`` is the most a swap crossing nothing took; ``per_crossing`` the
    smallest slope that keeps every other measurement under the line, so
    ``ComputeUnits.estimate(n)`` never undercounts a measured swap.
    ``headroom`` (a fraction) is added to both, rounded up.
    """
    pts = list(points)
    if not pts:
        raise ValueError("no measured swaps to fit")
    zero = [cu for n, cu in pts if n == 0]
    base = max(zero) if zero else min(cu for _, cu in pts)
    slope = max((-(-(cu - base) // n) for n, cu in pts if n > 0), default=0)
    slope = max(slope, 0)
    return ComputeUnits(
        base=-(-int(base * (1 + headroom) * 1000) // 1000),
        per_crossing=-(-int(slope * (1 + headroom) * 1000) // 1000),
        measured_max=max(cu for _, cu in pts),
        source=source,
    )


def compute_unit_table(
    rows: Iterable[tuple[str, int, int]], *, program: ProgramBinary, crossing: str
) -> dict[str, Any]:
    """The measured compute-unit table: per fixture and number of crossings, how many
    swaps and their least and most units, plus the upper-bound fit over all of them.

    ``rows`` are (fixture, crossings, compute units) of the swaps the program
    executed; ``crossing`` says what was counted (ticks, bins, arrays).
    """
    groups: dict[tuple[str, int], list[int]] = {}
    all_points = []
    for fixture, n, cu in rows:
        groups.setdefault((fixture, n), []).append(cu)
        all_points.append((n, cu))
    fit = fit_compute_units(all_points, source=f"{program.source} (sha256 {program.sha256[:16]})")
    return {
        "program": {"id": str(program.program_id), "sha256": program.sha256},
        "crossings": crossing,
        "fit": {
            "base": fit.base,
            "per_crossing": fit.per_crossing,
            "measured_max": fit.measured_max,
        },
        "cases": [
            {"fixture": f, "crossings": n, "swaps": len(cus), "min": min(cus), "max": max(cus)}
            for (f, n), cus in sorted(groups.items())
        ],
    }


def dumps_cases(doc: Any, *, inline: str = "cases", indent: int = 1) -> str:
    """JSON with one case per line: small diffs when the program or the grid changes.

    Like ``json.dumps(doc, indent=indent)``, except that the items of every
    list stored under the key ``inline`` are written on one line each.
    """

    def write(value: Any, depth: int, key: str | None) -> str:
        pad = " " * (indent * (depth + 1))
        end = " " * (indent * depth)
        if isinstance(value, dict) and value:
            items = [f"{pad}{json.dumps(k)}: {write(v, depth + 1, k)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + end + "}"
        if isinstance(value, list) and value:
            if key == inline:
                items = [pad + json.dumps(v) for v in value]
            else:
                items = [pad + write(v, depth + 1, None) for v in value]
            return "[\n" + ",\n".join(items) + "\n" + end + "]"
        return json.dumps(value)

    return write(doc, 0, None) + "\n"


def committed_binaries(root: str | Path) -> list[Path]:
    """Program binaries under ``root``: a program oracle's tests assert there are none."""
    return sorted(p for p in Path(root).rglob("*.so") if p.is_file())
