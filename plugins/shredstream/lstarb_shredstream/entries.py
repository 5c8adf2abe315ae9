"""The ``entries`` of a proxy message: bincode (fixed-width little-endian integers) of a
``Vec<solana_entry::Entry>``, each entry ``num_hashes u64, hash [32]u8, transactions
Vec<VersionedTransaction>`` with the transactions in wire format (see :mod:`.wire`).

A batch is walked whole before anything of it is used: a batch that does not parse is
dropped entire (its ends are unknowable past the fault), never half delivered. Counts are
checked against the bytes left before any loop, so a corrupt count of 2**64 costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lstarb_shredstream.errors import MalformedInput
from lstarb_shredstream.wire import MIN_TRANSACTION_BYTES, RawTransaction, walk_transaction

WHAT = "bincode entries"
ENTRY_HEAD = 8 + 32 + 8
"""num_hashes, hash, transaction count: the bytes of an entry with no transaction (a tick)."""


@dataclass(slots=True)
class Batch:
    """What one batch held: its transactions in ledger order, and its entries and ticks."""

    transactions: list[RawTransaction] = field(default_factory=list)
    entries: int = 0
    ticks: int = 0
    trailing: int = 0
    """Bytes after the last entry (bincode ignores them; counted, not an error)."""


def _u64(buf: bytes, pos: int, what: str) -> int:
    if pos + 8 > len(buf):
        raise MalformedInput(WHAT, pos, f"a u64 {what} ({len(buf) - pos} bytes left)")
    return int.from_bytes(buf[pos : pos + 8], "little")


def walk_entries(buf: bytes) -> Batch:
    """Every transaction of a batch, with counts; raises :class:`MalformedInput` naming
    the offset and what was expected when any part does not parse."""
    batch = Batch()
    count = _u64(buf, 0, "entry count")
    pos = 8
    if count * ENTRY_HEAD > len(buf) - pos:
        raise MalformedInput(
            WHAT,
            0,
            f"an entry count that fits: {count} entries need at least "
            f"{count * ENTRY_HEAD} bytes, {len(buf) - pos} left",
        )
    transactions = batch.transactions
    for _ in range(count):
        if pos + ENTRY_HEAD > len(buf):
            raise MalformedInput(
                WHAT,
                pos,
                f"an entry's num_hashes, hash and transaction count ({ENTRY_HEAD} "
                f"bytes, {len(buf) - pos} left)",
            )
        txs = _u64(buf, pos + 40, "transaction count")  # num_hashes, hash: nothing we use
        pos += ENTRY_HEAD
        if txs * MIN_TRANSACTION_BYTES > len(buf) - pos:
            raise MalformedInput(
                WHAT,
                pos - 8,
                f"a transaction count that fits: {txs} transactions need "
                f"at least {txs * MIN_TRANSACTION_BYTES} bytes, {len(buf) - pos} left",
            )
        if not txs:
            batch.ticks += 1
        for _ in range(txs):
            tx = walk_transaction(buf, pos)
            transactions.append(tx)
            pos = tx.end
        batch.entries += 1
    batch.trailing = len(buf) - pos
    return batch
