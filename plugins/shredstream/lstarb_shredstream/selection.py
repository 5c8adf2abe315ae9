"""Which transactions of a batch become :class:`~lstarb_sdk.PendingTransaction` values.

Kept: a non-vote transaction that writes a followed account through its static keys (one
that only reads it, as every swap reads the mints it trades, moves nothing), or (with
``lookup_table_transactions``, while anything is followed) one that names an address lookup
table, since a table may load a followed account that the static keys do not show. Each
signature is delivered once: the proxy can send a batch twice (shreds repaired or relayed
by two regions), and a reconnect may replay what was already seen. Memory is bounded: the
oldest signatures and slots are forgotten first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from solders.pubkey import Pubkey

from lstarb_sdk import PendingTransaction
from lstarb_shredstream.entries import Batch
from lstarb_shredstream.health import Health

SLOTS_REMEMBERED = 4096
"""Slots ticked, remembered so a slot ticks once even when its batches interleave with the
next slot's or come again after a reconnect (about half an hour of slots)."""


class Bounded:
    """A set that forgets its oldest members past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.members: set[object] = set()
        self._order: deque[object] = deque()

    def add(self, item: object) -> bool:
        """Add ``item``; False when it was already there."""
        if item in self.members:
            return False
        self.members.add(item)
        self._order.append(item)
        if len(self._order) > self.size:
            self.members.discard(self._order.popleft())
        return True


class Selector:
    def __init__(
        self, health: Health, max_seen: int, lookup_tables: bool = True, source: str = ""
    ) -> None:
        self.health = health
        self.lookup_tables = lookup_tables
        self.source = source
        self.followed: set[bytes] = set()
        self.signatures = Bounded(max_seen)
        self.slots = Bounded(SLOTS_REMEMBERED)

    def follow(self, accounts: Iterable[Pubkey]) -> None:
        self.followed.update(bytes(key) for key in accounts)

    def new_slot(self, slot: int) -> bool:
        """Whether this is the first batch of ``slot`` seen."""
        return self.slots.add(slot)

    def select(self, batch: Batch, slot: int, received_ns: int) -> list[PendingTransaction]:
        counts = self.health.counts
        followed = self.followed
        tables_too = self.lookup_tables and bool(followed)
        kept: list[PendingTransaction] = []
        for tx in batch.transactions:
            if tx.is_vote():
                counts["votes"] += 1
                continue
            keys = tx.key_bytes()
            if followed.isdisjoint([keys[i] for i in tx.writable_indexes()]):
                if not (tables_too and tx.tables_at):
                    counts["not_followed"] += 1
                    continue
                counts["lookup_table_only"] += 1
            if not self.signatures.add(tx.signature_bytes()):
                counts["duplicates"] += 1
                continue
            pubkeys = tuple(Pubkey.from_bytes(key) for key in keys)
            kept.append(
                PendingTransaction(
                    slot,
                    tx.signature(),
                    pubkeys,
                    tx.writable(pubkeys),
                    tx.program_ids(pubkeys),
                    tx.lookup_tables(),
                    self.source,
                    received_ns,
                )
            )
        counts["transactions"] += len(batch.transactions)
        counts["pending"] += len(kept)
        return kept
