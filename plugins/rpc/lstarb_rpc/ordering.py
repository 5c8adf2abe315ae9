"""Which account updates are news, and their (slot, write order).

RPC carries no write version, so the source numbers the updates it emits of one account
within one slot 1, 2, ... (the tape's message id relies on it). Updates reach the source
through several *lanes*: each websocket session's account and program subscriptions, and
snapshots fetched over HTTP. The rules:

- An update of an older slot than the one last emitted for the account is stale: dropped.
- A newer slot starts again at write order 1.
- Within the slot, a lane's k-th update equal to the k-th state emitted is a duplicate
  (another endpoint, or the other subscription kind, delivered it first: the freshest
  wins); so is one equal to the state emitted last. Anything else is emitted next.
- A fetched snapshot is dropped if any update of the account was emitted while the
  request was out (the subscription was open before the request, so that update is at
  least as new as the snapshot).

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

STALE = -1
BACKWARDS = -2
"""The lane itself went back to an older slot: bad input from that peer (and stale)."""
DUPLICATE = 0

Mark = tuple[int, int] | None
"""(slot, updates emitted in it) of an account when a fetch was sent; None: never seen."""


class _Seen:
    __slots__ = ("slot", "states")

    def __init__(self, slot: int, state: State) -> None:
        self.slot = slot
        self.states = [state]


class Lane:
    """One stream of updates (a websocket session's subscriptions of one kind)."""

    __slots__ = ("name", "positions")

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[Pubkey, list[int]] = {}
        """Per account: [slot, how many updates of it this lane delivered in that slot]."""


class UpdateOrder:
    """The newest (slot, write order) emitted per account, and the states of that slot."""

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
            self._seen[key] = _Seen(slot, state)
            return 1
        if slot > seen.slot:
            seen.slot = slot
            seen.states = [state]
            return 1
        if slot < seen.slot:
            return STALE
        states = seen.states
        k = position[1]
        if (k <= len(states) and states[k - 1] == state) or states[-1] == state:
            return DUPLICATE
        states.append(state)
        return len(states)

    def mark(self, key: Pubkey) -> Mark:
        """What is known of ``key`` now (taken when a fetch is sent)."""
        seen = self._seen.get(key)
        return None if seen is None else (seen.slot, len(seen.states))

    def admit_fetched(self, key: Pubkey, slot: int, state: State | None, mark: Mark) -> int:
        """The write order to emit a fetched state with (None: no such account), or
        STALE / DUPLICATE."""
        seen = self._seen.get(key)
        if seen is None:
            if state is None:
                return DUPLICATE  # never seen and not on chain: nothing to say
            self._seen[key] = _Seen(slot, state)
            return 1
        if (seen.slot, len(seen.states)) != mark:
            return DUPLICATE  # an update arrived while the request was out: it is as new
        if state is None:
            state = CLOSED
        if slot < seen.slot:
            return STALE
        if slot > seen.slot:
            seen.slot = slot
            seen.states = [state]
            return 1
        if seen.states[-1] == state:
            return DUPLICATE
        seen.states.append(state)
        return len(seen.states)

    def last(self, key: Pubkey) -> tuple[int, int, State] | None:
        """(slot, write order, state) last emitted for ``key``."""
        seen = self._seen.get(key)
        return None if seen is None else (seen.slot, len(seen.states), seen.states[-1])
