"""Slots, epochs, blockhashes, the Clock sysvar and the signature status cache.

A validator without a cluster: one fork, so ``processed``, ``confirmed`` and
``finalized`` name the same bank, except for signature statuses, whose confirmation
level follows the slots that passed since the transaction landed (confirmed after one
slot, finalized after 32, as a cluster confirms). Blockhashes are derived from the seed
and the slot, so two peers started with one seed hand out the same ones.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from solders.hash import Hash

from lstarb_sdk.solana import Clock

MAINNET_EPOCH_SLOTS = 432_000
DEFAULT_START_EPOCH = 950  # mainnet's epoch in late 2025: slot 410,400,000
MAX_PROCESSING_AGE = 150  # a blockhash stays valid for this many newer blocks
FINALIZED_DEPTH = 32  # slots after which a landed transaction counts as rooted
STATUS_CACHE_SLOTS = 300 + MAX_PROCESSING_AGE


@dataclass(frozen=True, slots=True)
class Status:
    """A landed transaction: its slot and its error (the RPC JSON form), None when it succeeded."""

    slot: int
    err: Any


class Chain:
    """The slot clock of the peer and what hangs off it."""

    def __init__(
        self,
        *,
        seed: int,
        epoch_slots: int,
        start_epoch: int,
        genesis_unix_time: int,
        slot_ms: int,
        priority_fee_median: int = 0,
        start_slot: int | None = None,
    ) -> None:
        """``start_slot``: the first slot, anywhere in an epoch (default: the first slot of
        ``start_epoch``); the epoch follows from it. A peer restarted after the last slot a
        consumer saw never looks older than what it served before."""
        if epoch_slots < 32:
            raise ValueError(f"epoch_slots must be at least 32, got {epoch_slots}")
        if start_slot is not None and start_slot < 0:
            raise ValueError(f"start_slot must be at least 0, got {start_slot}")
        self.seed = seed
        self.epoch_slots = epoch_slots
        self.start_slot = start_epoch * epoch_slots if start_slot is None else start_slot
        self.slot = self.start_slot
        self.genesis_unix_time = genesis_unix_time
        self.slot_ms = slot_ms
        self.priority_fee_median = priority_fee_median
        self.genesis_hash = _hash(seed, "genesis")
        self._blockhashes: deque[tuple[str, int]] = deque(maxlen=MAX_PROCESSING_AGE + 1)
        self._valid: dict[str, int] = {}
        self._push_blockhash()
        self.statuses: dict[str, Status] = {}
        self._landed: deque[tuple[int, str]] = deque()
        self.priority_fees: deque[tuple[int, int]] = deque(maxlen=150)
        self.transaction_count = 0

    # ------------------------------------------------------------ time
    @property
    def epoch(self) -> int:
        return self.slot // self.epoch_slots

    @property
    def slot_index(self) -> int:
        return self.slot % self.epoch_slots

    @property
    def block_height(self) -> int:
        """One block per slot: the peer skips no slot."""
        return self.slot

    @property
    def root(self) -> int:
        return max(self.start_slot, self.slot - FINALIZED_DEPTH)

    def unix_time(self, slot: int) -> int:
        return self.genesis_unix_time + (slot - self.start_slot) * self.slot_ms // 1000

    def clock(self) -> Clock:
        epoch_first = max(self.start_slot, self.epoch * self.epoch_slots)
        return Clock(
            slot=self.slot,
            epoch_start_timestamp=self.unix_time(epoch_first),
            epoch=self.epoch,
            leader_schedule_epoch=self.epoch + 1,
            unix_timestamp=self.unix_time(self.slot),
        )

    def advance(self) -> int:
        """The next slot: a new blockhash, the oldest one expires, old statuses age out."""
        self.slot += 1
        self._push_blockhash()
        horizon = self.slot - STATUS_CACHE_SLOTS
        while self._landed and self._landed[0][0] < horizon:
            _, signature = self._landed.popleft()
            self.statuses.pop(signature, None)
        return self.slot

    # ------------------------------------------------------------ blockhashes
    def _push_blockhash(self) -> None:
        if len(self._blockhashes) == self._blockhashes.maxlen:
            old, _ = self._blockhashes[0]
            self._valid.pop(old, None)
        blockhash = _hash(self.seed, f"slot:{self.slot}")
        self._blockhashes.append((blockhash, self.block_height))
        self._valid[blockhash] = self.block_height

    @property
    def latest_blockhash(self) -> str:
        return self._blockhashes[-1][0]

    @property
    def last_valid_block_height(self) -> int:
        return self.block_height + MAX_PROCESSING_AGE

    def blockhash_valid(self, blockhash: str) -> bool:
        return blockhash in self._valid

    # ------------------------------------------------------------ signatures
    def record(self, signature: str, err: Any, priority_fee_per_cu: int | None = None) -> Status:
        status = Status(self.slot, err)
        self.statuses[signature] = status
        self._landed.append((self.slot, signature))
        self.transaction_count += 1
        if priority_fee_per_cu is not None and err is None:
            if self.priority_fees and self.priority_fees[-1][0] == self.slot:
                low = min(self.priority_fees[-1][1], priority_fee_per_cu)
                self.priority_fees[-1] = (self.slot, low)
            else:
                self.priority_fees.append((self.slot, priority_fee_per_cu))
        return status

    def background_fee(self, slot: int) -> int:
        """The least fee the rest of the network paid in ``slot``: a deterministic spread from
        0 to twice ``priority_fee_median`` micro-lamports per CU, in quarters (seed and slot
        decide which), so a recent-fee reader sees a believable, repeatable market."""
        median = self.priority_fee_median
        if median <= 0:
            return 0
        step = hashlib.sha256(f"lstarb-simnet:{self.seed}:fee:{slot}".encode()).digest()[0] % 9
        return median * step // 4

    def prioritization_fees(self) -> list[tuple[int, int]]:
        """(slot, fee) of the last 150 slots, as getRecentPrioritizationFees reports them:
        the least fee a landed transaction paid, ours or the network's."""
        ours = dict(self.priority_fees)
        first = max(self.start_slot, self.slot - 149)
        out = []
        for slot in range(first, self.slot + 1):
            fee = self.background_fee(slot) if self.priority_fee_median > 0 else None
            own = ours.get(slot)
            if own is not None:
                fee = own if fee is None else min(fee, own)
            out.append((slot, fee or 0))
        return out

    def confirmation(self, status: Status) -> str:
        """The commitment a landed transaction has reached now."""
        depth = self.slot - status.slot
        if depth >= FINALIZED_DEPTH:
            return "finalized"
        return "confirmed" if depth >= 1 else "processed"

    def status_json(self, status: Status) -> dict[str, Any]:
        level = self.confirmation(status)
        return {
            "slot": status.slot,
            "confirmations": None if level == "finalized" else self.slot - status.slot,
            "err": status.err,
            "status": {"Ok": None} if status.err is None else {"Err": status.err},
            "confirmationStatus": level,
        }


COMMITMENT_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}


def _hash(seed: int, what: str) -> str:
    return str(Hash(hashlib.sha256(f"lstarb-simnet:{seed}:{what}".encode()).digest()))
