"""Measure the compute units of the instructions a plan's transaction carries, on LiteSVM.

Usage (the program binaries are fetched from the public repositories named below and never
committed; see docs/planner.md "Compute units")::

    python tests/planner/compute_units/measure.py --programs DIR [--out measured.json]

``DIR`` holds ``lb_clmm_prod.so`` (MeteoraAg/dlmm-sdk, commons/tests/artifacts) and
``whirlpool_immutable.so`` (orca-so/whirlpools, legacy-sdk/whirlpool/tests/external_program).
A program that is missing is skipped (its rows are left out of the output).

Every swap is the adapter's own ``swap_instruction`` on the bundled real accounts
(``lstarb_runtime/data/market``), run in a transaction of its own; the number recorded is the
transaction's ``compute_units_consumed``. The envelope's instructions (compute budget, token
accounts, wrapping SOL, the tip) are the executor's own builders, run on LiteSVM's built-in
SPL programs. The output names, for each number, the program binary (repository, path,
commit, sha256), the fixture and the amount, so ``tests/planner/test_compute_units.py`` can
hold the table in ``lstarb_runtime/planner/compute_units.py`` to it without the binaries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from lstarb_runtime.builtin.replay import bundled_market, clock_account, load_market
from lstarb_runtime.executor import instructions as envelope
from lstarb_runtime.executor.transaction import TOKEN_ACCOUNT_RENT
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter, SwapParams
from lstarb_sdk.solana import (
    SYSVAR_CLOCK_ID,
    TOKEN_PROGRAM_ID,
    WSOL_MINT,
    Clock,
    associated_token_address,
)

HERE = Path(__file__).parent
SOL = 10**9

PROGRAMS: dict[str, dict[str, str]] = {
    "lb_clmm_prod.so": {
        "program_id": "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
        "repository": "MeteoraAg/dlmm-sdk",
        "path": "commons/tests/artifacts/lb_clmm_prod.so",
        "commit": "fb02e51ae677bbd18e76543f702dae40632426db",
        "what": "Meteora's production lb_clmm build, shipped with its SDK's tests",
    },
    "whirlpool_immutable.so": {
        "program_id": "iwhrLHdsgrvmnwU8GF2FSmyabSMjfHwFGJAX2ufJ3ZN",
        "repository": "orca-so/whirlpools",
        "path": "legacy-sdk/whirlpool/tests/external_program/whirlpool_immutable.so",
        "commit": "630c0e01b74ad88eab69f8ed4cc2d3dc9a3d0bd5",
        "what": "the Whirlpool program built from the same source as the deployed one, for "
        "the immutable deployment's id (Orca's SDK tests load it there); the pools are "
        "relocated to that id (PDAs re-derived, bump and owners rewritten) to run on it",
    },
}

WHIRLPOOL = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")


def token_account(mint: Pubkey, owner: Pubkey, amount: int, program: Pubkey) -> Account:
    data = bytearray(165)
    data[0:32], data[32:64] = bytes(mint), bytes(owner)
    struct.pack_into("<Q", data, 64, amount)
    data[108] = 1  # initialized
    lamports = TOKEN_ACCOUNT_RENT
    if mint == WSOL_MINT:
        struct.pack_into("<IQ", data, 109, 1, TOKEN_ACCOUNT_RENT)
        lamports += amount
    return Account(lamports, bytes(data), program)


def run(svm: LiteSVM, payer: Keypair, ixs: Sequence[Instruction]) -> int:
    """Compute units the transaction consumed (it must succeed)."""
    message = Message.new_with_blockhash(list(ixs), payer.pubkey(), svm.latest_blockhash())
    tx = Transaction([payer], message, svm.latest_blockhash())
    result = svm.send_transaction(tx)
    meta = getattr(result, "meta", None)
    if meta is not None:  # FailedTransactionMetadata
        raise RuntimeError(f"transaction failed: {result.err()}; logs: {meta().logs()[-8:]}")
    svm.expire_blockhash()
    return int(result.compute_units_consumed())


def fresh_svm(clock: Clock | None = None) -> tuple[LiteSVM, Keypair]:
    svm = LiteSVM()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 1_000 * SOL)
    if clock is not None:
        svm.set_clock(
            svm.get_clock().__class__(
                clock.slot,
                clock.epoch_start_timestamp,
                clock.epoch,
                clock.leader_schedule_epoch,
                clock.unix_timestamp,
            )
        )
    return svm, payer


# -------------------------------------------------------------------------- the envelope


def measure_envelope(wallets: int = 24) -> list[dict[str, Any]]:
    """The executor's envelope instructions, each in a transaction of its own, for several
    random wallets: the ATA program searches each address's bump (1,500 units a try), so the
    units vary with the wallet; min and max are kept."""
    runs: dict[str, list[int]] = {}
    notes: dict[str, str] = {}
    mint = Pubkey.from_string("mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So")
    mint_data = bytearray(82)
    struct.pack_into("<QB?", mint_data, 36, 10**15, 9, True)
    for _ in range(wallets):
        svm, payer = fresh_svm()
        me = payer.pubkey()
        other = Keypair().pubkey()
        svm.airdrop(other, SOL)
        for key in (mint, WSOL_MINT):
            svm.set_account(key, Account(1_461_600, bytes(mint_data), TOKEN_PROGRAM_ID, False, 0))

        def row(name: str, ixs: list[Instruction], note: str) -> None:
            runs.setdefault(name, []).append(run(svm, payer, ixs))  # noqa: B023
            notes[name] = note

        row(
            "system transfer (the tip)",
            [envelope.transfer_lamports(me, other, 1)],
            "System transfer",
        )
        row(
            "compute budget (limit + price)",
            [envelope.set_compute_unit_limit(200_000), envelope.set_compute_unit_price(1)],
            "SetComputeUnitLimit + SetComputeUnitPrice",
        )
        ata = associated_token_address(me, mint, TOKEN_PROGRAM_ID)
        create = envelope.create_ata_idempotent(me, ata, me, mint, TOKEN_PROGRAM_ID)
        row("token account: create", [create], "ATA CreateIdempotent, the account is new")
        row("token account: exists", [create], "ATA CreateIdempotent, the account exists")
        wsol = associated_token_address(me, WSOL_MINT, TOKEN_PROGRAM_ID)
        row(
            "wSOL: open and wrap",
            [
                envelope.create_ata_idempotent(me, wsol, me, WSOL_MINT, TOKEN_PROGRAM_ID),
                envelope.transfer_lamports(me, wsol, SOL),
                envelope.sync_native(wsol, TOKEN_PROGRAM_ID),
            ],
            "CreateIdempotent (new) + transfer + SyncNative",
        )
        row(
            "wSOL: wrap",
            [
                envelope.transfer_lamports(me, wsol, SOL),
                envelope.sync_native(wsol, TOKEN_PROGRAM_ID),
            ],
            "transfer + SyncNative into the open wSOL account",
        )
        row(
            "wSOL: close (unwrap)",
            [envelope.close_account(wsol, me, me, TOKEN_PROGRAM_ID)],
            "CloseAccount of the wSOL account",
        )
    return [
        {
            "instruction": name,
            "min": min(units),
            "max": max(units),
            "runs": len(units),
            "how": notes[name] + " (LiteSVM's built-in SPL programs)",
        }
        for name, units in runs.items()
    ]


# -------------------------------------------------------------------------- swaps


def _pools(
    root: Path, adapters: list[type[PoolAdapter]], clock: Account
) -> tuple[PoolBook, dict[Pubkey, Account]]:
    accounts = load_market(root)
    accounts[SYSVAR_CLOCK_ID] = clock
    book = PoolBook(adapters, keep_unwanted=True)
    for key, account in accounts.items():
        book.apply(key, account)
    return book, accounts


def book_program(book: PoolBook) -> Pubkey:
    return next(iter(book.pools.values())).program_id


def measure_swaps(
    programs: Path,
    dex: str,
    binary: str,
    root: Path,
    adapters: list[type[PoolAdapter]],
    amounts: Callable[[PoolAdapter, Pubkey], list[int]],
    clock: Account,
) -> list[dict[str, Any]]:
    """Every pool of ``root`` swapped both ways at each amount, on the program ``binary``."""
    path = programs / binary
    if not path.exists():
        print(f"skipping {dex}: {path} not found", file=sys.stderr)
        return []
    meta = PROGRAMS[binary]
    program_id = Pubkey.from_string(meta["program_id"])
    so = path.read_bytes()
    book, accounts = _pools(root, adapters, clock)
    relocation = Relocation(program_id) if program_id != book_program(book) else None
    chain_accounts = relocation.relocate(accounts) if relocation else accounts
    rows = []
    for address, pool in book.pools.items():
        for input_mint in pool.mints:
            output_mint = pool.other_mint(input_mint)
            for amount in amounts(pool, input_mint):
                quote = book.quote(address, amount, input_mint)
                svm, payer = fresh_svm(Clock.decode(bytes(clock.data)))
                svm.add_program(program_id, so)
                for key, account in chain_accounts.items():
                    if key != SYSVAR_CLOCK_ID:
                        svm.set_account(key, account)
                user = payer.pubkey()
                tokens = {}
                for mint in (input_mint, output_mint):
                    program = accounts[mint].owner
                    token = associated_token_address(user, mint, program)
                    balance = amount if mint == input_mint else 0
                    svm.set_account(token, token_account(mint, user, balance, program))
                    tokens[mint] = token
                swap = pool.swap_instruction(
                    SwapParams(
                        input_mint,
                        amount,
                        quote.out_amount,
                        user,
                        tokens[input_mint],
                        tokens[output_mint],
                    )
                )
                ixs = list(swap.instructions)
                if relocation is not None:
                    ixs = [relocation.instruction(i) for i in ixs]
                units = run(svm, payer, ixs)
                rows.append(
                    {
                        "dex": dex,
                        "pool": str(address),
                        "fixture": str(root.relative_to(bundled_market().parent.parent)),
                        "input_mint": str(input_mint),
                        "amount": amount,
                        "out_amount": quote.out_amount,
                        "units": units,
                        "program": {**meta, "sha256": hashlib.sha256(so).hexdigest()},
                    }
                )
    return rows


class Relocation:
    """The Whirlpool accounts moved to the immutable build's program id.

    The program signs for its vaults with the pool's PDA seeds and checks tick arrays and the
    oracle by their PDAs, all under its own id: so the pool, its tick arrays and its oracle
    get the addresses their seeds give under the new id, the pool's bump and the arrays'
    pool field are rewritten, and the vaults (made here: the fixtures hold none) are owned by
    the relocated pool. Instructions built for the real id are mapped key by key.
    """

    def __init__(self, program: Pubkey) -> None:
        self.program = program
        self.keys: dict[Pubkey, Pubkey] = {WHIRLPOOL: program}

    def relocate(self, accounts: dict[Pubkey, Account]) -> dict[Pubkey, Account]:
        out: dict[Pubkey, Account] = {}
        pools = {}
        for key, account in accounts.items():
            data = bytes(account.data)
            if account.owner == WHIRLPOOL and len(data) == 653:  # a Whirlpool
                seeds = [b"whirlpool", data[8:40], data[101:133], data[181:213], data[43:45]]
                assert Pubkey.find_program_address(seeds, WHIRLPOOL)[0] == key
                new, bump = Pubkey.find_program_address(seeds, self.program)
                self.keys[key] = new
                pools[key] = new
                self.keys[Pubkey.find_program_address([b"oracle", bytes(key)], WHIRLPOOL)[0]] = (
                    Pubkey.find_program_address([b"oracle", bytes(new)], self.program)[0]
                )
                patched = data[:40] + bytes([bump]) + data[41:]
                out[new] = Account(account.lamports, patched, self.program, False, 0)
                for vault, mint in ((data[133:165], data[101:133]), (data[213:245], data[181:213])):
                    out[Pubkey.from_bytes(vault)] = token_account(
                        Pubkey.from_bytes(mint), new, 10**15, TOKEN_PROGRAM_ID
                    )
        for key, account in accounts.items():
            data = bytes(account.data)
            if account.owner != WHIRLPOOL or len(data) == 653:
                out.setdefault(key, account)
                continue
            if len(data) == 9988:  # a fixed tick array: start at 8, its pool at 9956
                pool = Pubkey.from_bytes(data[9956:9988])
                if pool not in pools:
                    continue
                start = int.from_bytes(data[8:12], "little", signed=True)
                new = Pubkey.find_program_address(
                    [b"tick_array", bytes(pools[pool]), str(start).encode()], self.program
                )[0]
                self.keys[key] = new
                patched = data[:9956] + bytes(pools[pool])
                out[new] = Account(account.lamports, patched, self.program, False, 0)
        return out

    def instruction(self, ix: Instruction) -> Instruction:
        metas = [
            AccountMeta(self.keys.get(m.pubkey, m.pubkey), m.is_signer, m.is_writable)
            for m in ix.accounts
        ]
        return Instruction(self.keys.get(ix.program_id, ix.program_id), ix.data, metas)


def _amounts(pool: PoolAdapter, mint: Pubkey) -> list[int]:
    """From a small swap to one that walks several bins (each one the pool quotes)."""
    out = []
    for amount in (10**3, 10**6, 10**8, 10**9, 10**10, 10**11):
        try:
            pool.quote(amount, mint)
        except Exception:
            continue
        out.append(amount)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=HERE / "measured.json")
    args = parser.parse_args(argv)
    from lstarb_meteora.plugin import lstarb_dex_adapters as meteora_adapters
    from lstarb_orca.plugin import lstarb_dex_adapters as orca_adapters

    clock = clock_account(410_400_000, 1_783_355_400)
    doc = {
        "how": "LiteSVM (solders 0.26) compute_units_consumed of one transaction per row; "
        "see tests/planner/compute_units/measure.py",
        "envelope": measure_envelope(),
        "swaps": measure_swaps(
            args.programs,
            "meteora-dlmm",
            "lb_clmm_prod.so",
            bundled_market() / "meteora_dlmm" / "sol-usdc-bs4",
            list(meteora_adapters()),
            _amounts,
            clock,
        )
        + [
            row
            for pool in ("bsol-sol-ts1", "jitosol-sol-ts1", "msol-sol-ts1")
            for row in measure_swaps(
                args.programs,
                "orca-whirlpool",
                "whirlpool_immutable.so",
                bundled_market() / "orca" / pool,
                list(orca_adapters()),
                _amounts,
                clock,
            )
        ],
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    for r in doc["envelope"]:
        print(f"{r['instruction']:<34} {r['min']:>7} {r['max']:>7}")
    for r in doc["swaps"]:
        print(f"{r['dex']:<14} {r['amount']:>14} {r['units']:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
