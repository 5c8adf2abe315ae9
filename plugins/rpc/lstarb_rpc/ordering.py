"""Which account updates are news, and their (slot, write order).

RPC carries no write version, so the source numbers the updates it emits of one account
within one slot 1, 2, ... (the tape's message id relies on it). Updates reach the source
through several *lanes*: each websocket session's account and program subscriptions, and
snapshots fetched over HTTP. The rules:

- An update of an older slot than the one last emitted for the account is stale: dropped.
- A newer slot starts again at write order 1.
- Within the slot, the notifications are positions 1, 2, ... of the node's sequence; a
  lane's k-th one equal to the k-th first seen (from any lane) is a duplicate: another
  endpoint, or the other subscription kind, delivered it first, and the freshest wins. A
  state equal to the one emitted last is no news either. Anything else is emitted next.
- A fetched snapshot is dropped if any notification of the account's slot (or a newer
  one) arrived while the request was out: the subscription was open before the request,
  so that notification is at least as new as the snapshot. A snapshot equal to the state
  emitted last is no news whatever its slot (a read at a later slot is not a write).

At ``confirmed`` or ``finalized`` commitment a slot's state of an account is final, so this
is exact. At ``processed`` a node may push several states of one account in a slot, and
RPC gives no way to tell which of two endpoints' different states came later: the source
never emits a lower (slot, write order), but within a slot it trusts arrival order.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from lstarb_sdk.solana import SYSTEM_PROGRAM_ID

State = tuple[int, Pubkey, bool, bytes]
"""(lamports, owner, executable, data): what an update says about an account."""

CLOSED: State = (0, SYSTEM_PROGRAM_ID, False, b"")
"""How the chain notifies a closed account, and how a null snapshot of a known one is sent."""

KEPT_STATES = 32
"""Positions of one slot kept for duplicate checks: a peer that pushes thousands of states
of one account in one slot costs bounded memory (older positions count as duplicates)."""

STALE = -1
BACKWARDS = -2
"""The lane itself went back to an older slot: bad input from that peer (and stale)."""
DUPLICATE = 0

Mark = int | None
"""What was known of an account when a fetch was sent (None: nothing)."""


class _Seen:
    __slots__ = ("base", "count", "last", "seq", "slot", "touched")

    def __init__(self, slot: int, state: State, *, notified: bool) -> None:
        self.touched = 0
        """Notifications (of the current slot or newer) and fetches taken: a fetch sent
        before the last change of this number is void."""
        self.restart(slot, state, notified=notified)

    def restart(self, slot: int, state: State, *, notified: bool) -> int:
        self.slot = slot
        self.count = 1
        """Updates emitted in ``slot``: the last one's write order."""
        self.last = state
        self.seq = [state] if notified else []
        """The slot's notification positions as first seen (the last KEPT_STATES)."""
        self.base = 0
        """Positions dropped from the front of ``seq``."""
        self.touched += 1
        return 1

    def emit(self, state: State) -> int:
        if state == self.last:
            return DUPLICATE
        self.count += 1
        self.last = state
        return self.count


class Lane:
    """One stream of notifications (a websocket session's subscriptions of one kind)."""

    __slots__ = ("name", "positions")

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[Pubkey, list[int]] = {}
        """Per account: [slot, how many notifications of it this lane delivered in it]."""


class UpdateOrder:
    """Per account: the slot and write order last emitted, and that slot's positions."""

    def __init__(self) -> None:
        self._seen: dict[Pubkey, _Seen] = {}

    def admit(self, lane: Lane, key: Pubkey, slot: int, state: State) -> int:
        """The write order to emit this notification with, or STALE / BACKWARDS / DUPLICATE."""
        position = lane.positions.get(key)
        if position is None:
            lane.positions[key] = position = [slot, 1]
        elif position[0] == slot:
            position[1] += 1
        elif position[0] < slot:
            position[0] = slot
            position[1] = 1
        else:
            return BACKWARDS
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(slot, state, notified=True)
            return 1
        if slot < seen.slot:
            return STALE
        if slot > seen.slot:
            return seen.restart(slot, state, notified=True)
        seen.touched += 1
        k = position[1]
        seq = seen.seq
        if k <= seen.base + len(seq):
            if k <= seen.base or seq[k - 1 - seen.base] == state:
                return DUPLICATE
        else:
            seq.append(state)
            if len(seq) > KEPT_STATES:
                del seq[0]
                seen.base += 1
        return seen.emit(state)

    def mark(self, key: Pubkey) -> Mark:
        """What is known of ``key`` now (taken when a fetch is sent)."""
        seen = self._seen.get(key)
        return None if seen is None else seen.touched

    def admit_fetched(self, key: Pubkey, slot: int, state: State | None, mark: Mark) -> int:
        """The write order to emit a fetched state with (None: no such account), or
        STALE / DUPLICATE."""
        seen = self._seen.get(key)
        if seen is None:
            if state is None or mark is not None:
                return DUPLICATE  # never seen and not on chain: nothing to say
            self._seen[key] = _Seen(slot, state, notified=False)
            return 1
        if seen.touched != mark:
            return DUPLICATE  # a notification arrived while the request was out
        if state is None:
            state = CLOSED
        if slot < seen.slot:
            return STALE
        if state == seen.last:
            return DUPLICATE  # a read, not a write: the same state at a later slot is no news
        if slot > seen.slot:
            return seen.restart(slot, state, notified=False)
        seen.touched += 1
        return seen.emit(state)
