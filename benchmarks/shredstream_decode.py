"""How fast the shredstream source turns proxy batches into PendingTransactions: the
plugin's hand-written walker against parsing every transaction with solders.

    python benchmarks/shredstream_decode.py [BATCHES]

Each batch is built like a mainnet one (bincode ``Vec<Entry>``, 8 entries of 8 transactions
and 2 ticks): about 70% votes, the rest legacy and v0 transactions of 4 to 20 keys, one in
ten of those writing a followed pool's vault. Both paths do the same work: walk every
transaction of the batch, drop votes, keep those naming a followed account and turn them
into :class:`~lstarb_sdk.PendingTransaction` values with keys, writable keys and programs.
The walker path is the plugin's own (``walk_entries`` + ``Selector.select``); the solders
path is the loop of the protocol notes (``VersionedTransaction.from_bytes``, advance by
``len(bytes(tx))``). Single thread, one core; the best of 5 runs.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_sdk import PendingTransaction
from lstarb_shredstream.entries import walk_entries
from lstarb_shredstream.health import Health
from lstarb_shredstream.selection import Selector

VOTE = Pubkey.from_string("Vote111111111111111111111111111111111111111")
FOLLOWED = [Pubkey.new_unique() for _ in range(40)]


def _tx(rng: random.Random, keypairs: list[Keypair]) -> VersionedTransaction:
    payer = rng.choice(keypairs)
    if rng.random() < 0.7:  # a vote: two accounts, one instruction
        metas = [
            AccountMeta(Pubkey.new_unique(), False, True),
            AccountMeta(payer.pubkey(), True, False),
        ]
        message = Message.new_with_blockhash(
            [Instruction(VOTE, rng.randbytes(100), metas)], payer.pubkey(), Hash.new_unique()
        )
        return VersionedTransaction(message, [payer])
    keys = [Pubkey.new_unique() for _ in range(rng.randint(3, 18))]
    if rng.random() < 0.1:
        keys.append(rng.choice(FOLLOWED))
    metas = [AccountMeta(k, False, rng.random() < 0.5) for k in keys]
    ix = [Instruction(Pubkey.new_unique(), rng.randbytes(rng.randint(8, 60)), metas)]
    if rng.random() < 0.5:
        v0 = MessageV0.try_compile(payer.pubkey(), ix, [], Hash.new_unique())
        return VersionedTransaction(v0, [payer])
    return VersionedTransaction(
        Message.new_with_blockhash(ix, payer.pubkey(), Hash.new_unique()), [payer]
    )


def batch(rng: random.Random, keypairs: list[Keypair]) -> bytes:
    entries: list[list[VersionedTransaction]] = [
        [_tx(rng, keypairs) for _ in range(8)] for _ in range(8)
    ]
    entries += [[], []]
    out = bytearray(len(entries).to_bytes(8, "little"))
    for txs in entries:
        out += (1).to_bytes(8, "little") + bytes(Hash.new_unique()) + len(txs).to_bytes(8, "little")
        for tx in txs:
            out += bytes(tx)
    return bytes(out)


def walker(batches: list[bytes]) -> int:
    selector = Selector(Health("bench"), 10**7)
    selector.follow(FOLLOWED)
    kept = 0
    for slot, buf in enumerate(batches):
        kept += len(selector.select(walk_entries(buf), slot, 0))
    return kept


def with_solders(batches: list[bytes]) -> int:
    followed = set(FOLLOWED)
    seen: set[object] = set()
    kept = 0
    for slot, buf in enumerate(batches):
        count, pos = int.from_bytes(buf[:8], "little"), 8
        for _ in range(count):
            txs = int.from_bytes(buf[pos + 40 : pos + 48], "little")
            pos += 48
            for _ in range(txs):
                tx = VersionedTransaction.from_bytes(buf[pos:])
                pos += len(bytes(tx))
                message = tx.message
                keys = message.account_keys
                programs = [keys[i.program_id_index] for i in message.instructions]
                if VOTE in programs or followed.isdisjoint(keys):
                    continue
                signature = tx.signatures[0]
                if signature in seen:
                    continue
                seen.add(signature)
                header = message.header
                signed = header.num_required_signatures
                writable = tuple(
                    k
                    for i, k in enumerate(keys)
                    if (i < signed - header.num_readonly_signed_accounts)
                    or (signed <= i < len(keys) - header.num_readonly_unsigned_accounts)
                )
                PendingTransaction(
                    slot, signature, tuple(keys), writable, tuple(dict.fromkeys(programs))
                )
                kept += 1
    return kept


def best(fn: Callable[[list[bytes]], int], batches: list[bytes]) -> tuple[float, int]:
    times, kept = [], 0
    for _ in range(5):
        t0 = time.perf_counter()
        kept = fn(batches)
        times.append(time.perf_counter() - t0)
    return min(times), kept


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = random.Random(42)
    keypairs = [Keypair() for _ in range(50)]
    batches = [batch(rng, keypairs) for _ in range(n)]
    txs = sum(len(walk_entries(b).transactions) for b in batches)
    size = sum(map(len, batches))
    print(f"{n} batches, {txs} transactions ({size / n / 1024:.1f} KiB a batch), 70% votes")
    print(f"{'path':<28}{'batches/s':>12}{'transactions/s':>16}{'kept/s':>10}{'kept':>7}")
    results = {}
    for name, fn in (("walker (lstarb_shredstream)", walker), ("solders from_bytes", with_solders)):
        seconds, kept = best(fn, batches)
        results[name] = seconds
        rates = f"{n / seconds:>12,.0f}{txs / seconds:>16,.0f}{kept / seconds:>10,.0f}"
        print(f"{name:<28}{rates}{kept:>7}")
    ratio = results["solders from_bytes"] / results["walker (lstarb_shredstream)"]
    print(f"walker is {ratio:.1f}x the solders path")


if __name__ == "__main__":
    main()
