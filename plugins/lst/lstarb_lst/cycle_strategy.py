"""What the two-hop and triangular strategies share: the cycle index, sizing, reporting.

On each pool update only the cycles through the changed pool are looked at.
Each is first quoted at a small probe size: a cycle that loses at the margin
loses at every larger size (its output is concave in its input), which ends
the work for most cycles after one quote per leg. A cycle that gains is sized
by :func:`~lstarb_lst.sizing.best_rung` (the best rung of a fixed ladder of
sizes, in a handful of exact quotes), and its opportunity is built from the
quotes taken there. Each cycle keeps where its last search ended (a
:class:`~lstarb_lst.sizing.Hint`): the next search starts there, which
changes how many sizes it quotes, never the size it finds.

The first leg of every cycle is quoted at the probe and at rungs of the
ladder, amounts that repeat: those quotes are kept across updates per pool,
input mint and amount, and a pool's are dropped when the scanner says it
changed (:meth:`on_pool_update`, called after every applied update that
changed a pool) or its adapter is not the one they were taken on. A quote is
a function of the pool's state and the amount, so a kept one is the quote
the adapter would give again: a cycle whose first pool did not change does
not quote it again. Later legs share quotes within one update only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst import opportunity
from lstarb_lst.config import LstConfig
from lstarb_lst.cycles import Cycle, CycleIndex
from lstarb_lst.pricing import FairValueTracker
from lstarb_lst.sizing import Hint, Sized, best_rung
from lstarb_sdk import Opportunity, PoolAdapter, Quote, Strategy
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.fair_value import FairValueBook

#: Quotes taken during one evaluation: (pool, input mint) -> amount -> quote (None: refused).
_Memo = dict[tuple[Pubkey, Pubkey], dict[int, Quote | None]]
_UNQUOTED: Any = object()
_KEPT_PER_LEG = 32  # amounts kept per pool and input mint at most (a bound on memory)


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
        self._gained: set[str] = set()  # cycles that gained when last sized (not their reverse)
        self._hints: dict[str, Hint] = {}  # cycle key -> where its last search ended
        self._kept: _Memo = {}  # quotes of pools unchanged since they were taken
        self._kept_on: dict[Pubkey, PoolAdapter] = {}  # the adapter each pool's were taken on
        self._oversized: list[tuple[Pubkey, Pubkey]] = []  # first legs kept at too many amounts
        self._scratch: _Memo = {}  # quotes of later legs in this update
        self.counts = SizingCounts()

    # -- the SDK interface ---------------------------------------------------------------------

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        address = changed.address
        if address not in self._known or len(self._known) != len(pools):
            self.sync(pools)
        self.tracker.book.absorb(changed)
        self._last_slot[address] = slot
        cycles = self._index.cycles_through(address)
        if not self.config.carry_over:
            return self.evaluate(cycles, pools, slot)
        self._forget(address, changed.mints)
        for key in self._oversized:
            self._kept.pop(key, None)
        self._oversized.clear()
        self._scratch = {}
        return self.evaluate(cycles, pools, slot, self._kept)

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
            self._hints.clear()  # cycles through it are gone (a hint never changes a result)
            self._kept.clear()
            self._kept_on.clear()
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

    def _forget(self, address: Pubkey, mints: Sequence[Pubkey]) -> None:
        """Drop the quotes kept of a pool (it changed)."""
        self._kept_on.pop(address, None)
        for mint in mints:
            self._kept.pop((address, mint), None)

    def evaluate(
        self,
        cycles: Sequence[Cycle],
        pools: Mapping[Pubkey, PoolAdapter],
        slot: int,
        memo: _Memo | None = None,
    ) -> list[Opportunity]:
        """Size each cycle and report those that clear ``min_profit``, best first.

        A cycle and its reverse cannot both gain at the probe size (each
        pool's round trip loses and quotes never fall as the input grows, so
        both gaining would make one pool's round trip gain), so once one
        gains the other is not quoted; the one that gained last goes first.
        ``memo``: quotes valid for these pools' states (default: none yet).
        """
        found = []
        gained: set[str] = set()
        last = self._gained
        self.counts.touched += len(cycles)
        if memo is None:
            memo = {}  # no pool changes during one evaluation: each quote taken once
        for cycle in sorted(cycles, key=lambda c: c.key not in last):
            if cycle.reverse in gained:
                continue
            sized = self.size(cycle, pools, memo)
            if sized is None:
                continue
            gained.add(cycle.key)
            if sized.profit < self._min_profit[cycle.base]:
                continue
            found.append(
                opportunity.build(
                    self.name, cycle, sized, pools, self.tracker.book, self._last_slot, slot
                )
            )
        found.sort(key=lambda o: (-o.expected_profit, o.id))
        return found

    def size(
        self, cycle: Cycle, pools: Mapping[Pubkey, PoolAdapter], memo: _Memo | None = None
    ) -> Sized | None:
        """The best size of ``cycle`` on the ladder, or None when it does not gain at the probe.

        ``memo`` keeps the quotes (None: refused) of each pool and input mint by amount while
        no pool changes, so cycles sharing a leg (the changed pool first, the probe and the
        ladder's rungs) quote it once; the quotes are the adapters' own, so nothing differs.
        """
        if memo is None:
            memo = {}
        kept = memo is self._kept  # first legs' quotes kept across updates, the rest this update's
        legs = []
        for h in cycle.hops:
            pool = pools.get(h.pool)
            if pool is None:
                return None  # a pool left the book (quarantined)
            key = (h.pool, h.input_mint)
            if not kept:
                taken = memo.setdefault(key, {})
            elif legs:  # after the first leg: amounts that repeat only while every leg before does
                taken = self._scratch.setdefault(key, {})
            else:
                if self._kept_on.get(h.pool) is not pool:
                    self._forget(h.pool, pool.mints)  # kept quotes of another adapter's state
                    self._kept_on[h.pool] = pool
                taken = memo.setdefault(key, {})
                if len(taken) > _KEPT_PER_LEG:  # dropped before the next update, not during it
                    self._oversized.append(key)
            legs.append((pool, h.input_mint, taken))

        def run(x: int) -> list[Quote] | None:
            quotes = []
            amount = x
            for pool, mint, taken in legs:
                q = taken.get(amount, _UNQUOTED)
                if q is _UNQUOTED:
                    try:
                        q = pool.quote(amount, mint)
                    except LstarbError:
                        q = None
                    taken[amount] = q
                if q is None:
                    return None
                amount = q.out_amount
                if amount <= 0:
                    return None
                quotes.append(q)
            return quotes

        base = cycle.base
        counts = self.counts
        counts.probed += 1
        key = cycle.key
        sized = best_rung(
            run,
            self._max_size[base],
            self.config.size_bits,
            self._probe[base],
            self._hints.get(key) if self.config.carry_over else None,
        )
        if sized is None:
            counts.quoted += 1
            return None
        if self.config.carry_over:
            self._hints[key] = sized.hint
        counts.sized += 1
        counts.quoted += sized.evaluations
        self._gained.add(key)
        self._gained.discard(cycle.reverse)
        return sized


@dataclass(slots=True)
class SizingCounts:
    """Running totals of the work done (for benchmarks and metrics)."""

    touched: int = 0  # cycles through a changed pool
    probed: int = 0  # of those, quoted at the probe size (the rest: their reverse gained)
    sized: int = 0  # gained at the probe and sized
    quoted: int = 0  # sizes quoted, probes included (each: every leg of the cycle)
