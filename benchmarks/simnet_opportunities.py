"""What arbitrage the driven market offers the lst strategies, over simulated time.

    python benchmarks/simnet_opportunities.py [SLOTS] [SEED]

A driven ``lstarb simnet`` (slots stepped by hand, as fast as they run) over the bundled
market; a pool book fed every account the peer writes, as the scanner's book is fed
through the rpc source; the lst plugin's two-hop and triangular strategies told of every
pool change, and every cycle evaluated at the end of each slot. An opportunity *opens*
when a cycle gains more than the costs of taking it at the end of a slot and did not at
the end of the one before, and *closes* when it no longer does. Costs: one signature's
base fee (5,000 lamports), a priority fee of 10,000 micro-lamports per compute unit for
300,000 units (3,000 lamports) and a 1,000-lamport tip: 9,000 lamports.

Default: 9,000 slots (one simulated hour at 400 ms), seed 7. Prints how often
opportunities open (per simulated minute), their profit in lamports (median, p90, max),
how long they stay open, route lengths and the pools involved. The same harness drives
``tests/simnet/test_opportunities.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lstarb_lst.config import LstConfig
from lstarb_lst.triangular import TriangularStrategy
from lstarb_lst.two_hop import TwoHopStrategy
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet import DriverConfig, Simnet, SimnetConfig
from lstarb_runtime.simnet.server import installed_adapters
from lstarb_runtime.simnet.store import Entry
from lstarb_sdk import Opportunity, Strategy

COSTS = 5_000 + 300_000 * 10_000 // 1_000_000 + 1_000
SLOTS_PER_MINUTE = 150


@dataclass
class Episode:
    """One opportunity from the slot it opened to the slot it closed."""

    cycle: tuple[str, ...]
    strategy: str
    opened: int
    profit: int
    """Profit after costs when it opened, lamports."""
    best: int
    closed: int | None = None


@dataclass
class MarketWatch:
    """A driven simnet watched by the lst strategies."""

    seed: int = 7
    driver: DriverConfig = field(default_factory=DriverConfig)
    net: Simnet = field(init=False)
    book: PoolBook = field(init=False)
    strategies: list[Strategy] = field(init=False)
    episodes: list[Episode] = field(default_factory=list)
    open: dict[tuple[str, ...], Episode] = field(default_factory=dict)
    detected: int = 0
    """Opportunities the strategies reported from pool updates (before costs)."""

    def __post_init__(self) -> None:
        config = SimnetConfig(
            port=0, slot_ms=0, drive=True, seed=self.seed, genesis_unix_time=1_760_000_000
        )
        config.driver = self.driver
        self.net = Simnet(config)
        self.book = PoolBook(installed_adapters())
        settings = LstConfig()
        self.strategies = [TwoHopStrategy(settings), TriangularStrategy(settings)]
        store = self.net.store
        for _ in range(3):  # pools first, then what they read, then what that reveals
            for entry in store.entries():
                self.book.apply(entry.pubkey, entry.account())
        self._wanted = {k for s in self.strategies for k in s.accounts_wanted()}
        self._feed_strategies([e for e in store.entries() if e.pubkey in self._wanted])
        store.listeners.append(self._on_account)

    @property
    def start(self) -> int:
        return self.net.chain.start_slot

    def _feed_strategies(self, entries: Iterable[Entry]) -> None:
        accounts = {e.pubkey: e.account() for e in entries}
        for strategy in self.strategies:
            strategy.on_accounts(accounts, self.net.chain.slot)

    def _on_account(self, entry: Entry, slot: int) -> None:
        if entry.pubkey in self._wanted:
            self._feed_strategies([entry])
        change = self.book.apply(entry.pubkey, entry.account(), (slot, self.net.store.writes))
        if change is None:
            return
        for address in change.changed:
            pool = self.book.pools[address]
            for strategy in self.strategies:
                self.detected += len(strategy.on_pool_update(pool, self.book.pools, slot))

    def _standing(self, slot: int) -> dict[tuple[str, ...], tuple[str, int]]:
        """Every cycle that gains more than the costs now: cycle -> (strategy, profit)."""
        found: dict[tuple[str, ...], tuple[str, int]] = {}
        for strategy in self.strategies:
            opportunities: list[Opportunity] = strategy.evaluate(  # type: ignore[attr-defined]
                strategy.cycles(),
                self.book.pools,
                slot,  # type: ignore[attr-defined]
            )
            for opp in opportunities:
                cycle = tuple(str(leg.pool) for leg in opp.legs)
                net = opp.expected_profit - COSTS
                if net > 0 and net > found.get(cycle, ("", 0))[1]:
                    found[cycle] = (strategy.name, net)
        return found

    def run(self, slots: int) -> None:
        for _ in range(slots):
            slot = self.net.step()
            standing = self._standing(slot)
            for cycle, episode in list(self.open.items()):
                if cycle not in standing:
                    episode.closed = slot
                    del self.open[cycle]
                else:
                    episode.best = max(episode.best, standing[cycle][1])
            for cycle, (name, profit) in standing.items():
                if cycle not in self.open:
                    episode = Episode(cycle, name, slot, profit, profit)
                    self.open[cycle] = episode
                    self.episodes.append(episode)

    # ------------------------------------------------------------ report
    def stats(self) -> dict[str, float]:
        slots = self.net.chain.slot - self.start
        profits = sorted(e.profit for e in self.episodes)
        lasting = [e.closed - e.opened for e in self.episodes if e.closed is not None]
        lengths = Counter(len(e.cycle) for e in self.episodes)
        minutes = Counter((e.opened - self.start - 1) // SLOTS_PER_MINUTE for e in self.episodes)
        per_minute = sorted(minutes.get(m, 0) for m in range(slots // SLOTS_PER_MINUTE))
        return {
            "slots": slots,
            "opened": len(self.episodes),
            "per_minute": len(self.episodes) / (slots / SLOTS_PER_MINUTE) if slots else 0.0,
            "fewest_in_a_minute": float(per_minute[0]) if per_minute else 0.0,
            "most_in_a_minute": float(per_minute[-1]) if per_minute else 0.0,
            "closed": len(lasting),
            "median_profit": float(statistics.median(profits)) if profits else 0.0,
            "p90_profit": float(profits[int(0.9 * (len(profits) - 1))]) if profits else 0.0,
            "max_profit": float(profits[-1]) if profits else 0.0,
            "median_slots_open": float(statistics.median(lasting)) if lasting else 0.0,
            "two_hop": float(lengths.get(2, 0)),
            "triangular": float(lengths.get(3, 0)),
        }

    def pools_involved(self) -> Counter[str]:
        names = {str(a): p.dex for a, p in self.book.pools.items()}
        return Counter("+".join(sorted(names[p] for p in e.cycle)) for e in self.episodes)


def driver_ms_per_slot(seed: int, slots: int = 2_000) -> float:
    """The driven peer alone: milliseconds one slot of the driver takes (trades, cranks)."""
    net = Simnet(
        SimnetConfig(port=0, slot_ms=0, drive=True, seed=seed, genesis_unix_time=1_760_000_000)
    )
    started = time.perf_counter()
    for _ in range(slots):
        net.step()
    return (time.perf_counter() - started) * 1000 / slots


def main() -> None:
    slots = int(sys.argv[1]) if len(sys.argv) > 1 else 9_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    watch = MarketWatch(seed=seed)
    started = time.perf_counter()
    watch.run(slots)
    watched_ms = (time.perf_counter() - started) * 1000 / slots
    stats = watch.stats()
    minutes = stats["slots"] / SLOTS_PER_MINUTE
    print(f"{int(stats['slots'])} slots ({minutes:.0f} simulated minutes), seed {seed}, ")
    print(f"costs {COSTS} lamports an opportunity\n")
    print(
        "| opened | per minute (fewest-most) | median profit | p90 profit | max profit "
        "| median slots open | 2 legs | 3 legs |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {int(stats['opened'])} | {stats['per_minute']:.1f} "
        f"({int(stats['fewest_in_a_minute'])}-{int(stats['most_in_a_minute'])}) "
        f"| {stats['median_profit']:,.0f} "
        f"| {stats['p90_profit']:,.0f} | {stats['max_profit']:,.0f} "
        f"| {stats['median_slots_open']:.0f} | {int(stats['two_hop'])} "
        f"| {int(stats['triangular'])} |"
    )
    print(
        f"\none slot: {driver_ms_per_slot(seed):.2f} ms of driver alone, {watched_ms:.2f} ms with "
        "the book, both strategies and every cycle evaluated (400 ms on mainnet)"
    )
    print("\npools of the cycles:")
    for pools, count in watch.pools_involved().most_common():
        print(f"  {count:5d}  {pools}")


if __name__ == "__main__":
    main()
