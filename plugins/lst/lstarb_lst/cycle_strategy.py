"""What the two-hop and triangular strategies share: the cycle index, sizing, reporting.

On each pool update only the cycles through the changed pool are looked at.
Each is first quoted at a small probe size: a cycle that loses at the margin
loses at every larger size (its output is concave in its input), which ends
the work for most cycles after one quote per leg. A cycle that gains is sized
by :func:`~lstarb_lst.search.best_size` over exact quotes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst import opportunity
from lstarb_lst.config import LstConfig
from lstarb_lst.cycles import Cycle, CycleIndex
from lstarb_lst.pricing import FairValueTracker
from lstarb_lst.search import best_size
from lstarb_sdk import Opportunity, PoolAdapter, Strategy
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.fair_value import FairValueBook


class CycleStrategy(Strategy):
    """Cycles of ``length`` pools from each base mint back to it."""

    name: ClassVar[str]
    length: ClassVar[int]

    def __init__(self, config: LstConfig | None = None, tracker: FairValueTracker | None = None):
        self.config = config or LstConfig()
        cfg = self.config
        self._bases = [Pubkey.from_string(m) for m in cfg.base_mints]
        self._index = CycleIndex(self.length, self._bases)
        self._excluded_pools = {Pubkey.from_string(p) for p in cfg.exclude_pools}
        self._excluded_mints = {Pubkey.from_string(m) for m in cfg.exclude_mints}
        self._min_profit = {
            b: cfg.min_profit.get(str(b), cfg.default_min_profit) for b in self._bases
        }
        self._max_size = {b: cfg.max_size.get(str(b), cfg.default_max_size) for b in self._bases}
        self._probe = {b: cfg.probe_size.get(str(b), cfg.default_probe_size) for b in self._bases}
        self.tracker = tracker or FairValueTracker()
        self._last_slot: dict[Pubkey, int] = {}
        self._known: set[Pubkey] = set()

    # -- the SDK interface ---------------------------------------------------------------------

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        address = changed.address
        if address not in self._known or len(self._known) != len(pools):
            self.sync(pools)
        self.tracker.book.absorb(changed)
        self._last_slot[address] = slot
        return self.evaluate(self._index.cycles_through(address), pools, slot)

    def accounts_wanted(self) -> Sequence[Pubkey]:
        return self.tracker.accounts()

    def on_accounts(
        self, accounts: Mapping[Pubkey, Account | None], slot: int
    ) -> Sequence[Opportunity]:
        self.tracker.update(accounts)
        return ()

    def fair_values(self) -> FairValueBook:
        return self.tracker.book

    # -- the work -------------------------------------------------------------------------------

    def sync(self, pools: Mapping[Pubkey, PoolAdapter]) -> None:
        """Index pools not seen yet, forget those gone (only when the set of pools changed)."""
        for address in self._known - pools.keys():
            self._index.remove(address)
            self._known.discard(address)
        for address, pool in pools.items():
            if address in self._known:
                continue
            self._known.add(address)
            mints = pool.mints
            if address in self._excluded_pools or self._excluded_mints.intersection(mints):
                continue
            self._index.add(address, mints)
            self.tracker.book.absorb(pool)

    def cycles(self) -> list[Cycle]:
        return self._index.all_cycles()

    def evaluate(
        self, cycles: Sequence[Cycle], pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> list[Opportunity]:
        """Size each cycle and report those that clear ``min_profit``, best first."""
        found = []
        for cycle in cycles:
            sized = self.size(cycle, pools)
            if sized is None:
                continue
            size, profit = sized
            if profit < self._min_profit[cycle.base]:
                continue
            try:
                opp = opportunity.build(
                    self.name, cycle, size, pools, self.tracker.book, self._last_slot, slot
                )
            except LstarbError:
                continue
            found.append(opp)
        found.sort(key=lambda o: (-o.expected_profit, o.id))
        return found

    def size(self, cycle: Cycle, pools: Mapping[Pubkey, PoolAdapter]) -> tuple[int, int] | None:
        """(size, profit) at the best size of ``cycle``, or None when it never gains."""
        try:
            legs = [(pools[h.pool], h.input_mint) for h in cycle.hops]
        except KeyError:
            return None  # a pool left the book (quarantined)

        def profit(x: int) -> int | None:
            amount = x
            for pool, mint in legs:
                try:
                    amount = pool.quote(amount, mint).out_amount
                except LstarbError:
                    return None
                if amount <= 0:
                    return None
            return amount - x

        base = cycle.base
        return best_size(
            profit,
            1,
            self._max_size[base],
            self._probe[base],
            tolerance_ppm=self.config.size_tolerance_ppm,
        )
