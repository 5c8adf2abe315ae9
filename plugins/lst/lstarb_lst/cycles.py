"""The graph of pools by mint, and the arbitrage cycles through each pool.

A cycle starts and ends in a base mint: two legs (buy on one pool, sell on
another pool of the same pair) or three (base -> X -> Y -> base). The index
is built incrementally: adding a pool enumerates only the cycles through it,
from the pools already known on its mints, so the work per update depends on
the cycles touched, never on the size of the market.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey


@dataclass(frozen=True, slots=True)
class Hop:
    pool: Pubkey
    input_mint: Pubkey
    output_mint: Pubkey


@dataclass(frozen=True, slots=True)
class Cycle:
    """Legs from ``base`` back to ``base``; ``key`` names it stably (pools and directions).

    ``reverse`` is the key of the same pools the other way round.
    """

    base: Pubkey
    hops: tuple[Hop, ...]
    key: str
    reverse: str

    @classmethod
    def of(cls, base: Pubkey, hops: Iterable[Hop]) -> Cycle:
        hops = tuple(hops)
        key = ">".join(f"{h.pool}:{h.input_mint}" for h in hops)
        reverse = ">".join(f"{h.pool}:{h.output_mint}" for h in reversed(hops))
        return cls(base, hops, key, reverse)

    @property
    def pools(self) -> tuple[Pubkey, ...]:
        return tuple(h.pool for h in self.hops)


class CycleIndex:
    """Cycles of one length (2 or 3) through every known pool, for a set of base mints."""

    def __init__(self, length: int, bases: Iterable[Pubkey]) -> None:
        if length not in (2, 3):
            raise ValueError(f"cycle length must be 2 or 3, not {length}")
        self.length = length
        self.bases = frozenset(bases)
        self._mints: dict[Pubkey, tuple[Pubkey, Pubkey]] = {}
        self._by_pair: defaultdict[frozenset[Pubkey], set[Pubkey]] = defaultdict(set)
        self._by_mint: defaultdict[Pubkey, set[Pubkey]] = defaultdict(set)
        self._through: defaultdict[Pubkey, list[Cycle]] = defaultdict(list)

    def __contains__(self, pool: object) -> bool:
        return pool in self._mints

    def __len__(self) -> int:
        return len(self._mints)

    def cycles_through(self, pool: Pubkey) -> list[Cycle]:
        return self._through.get(pool, [])

    def all_cycles(self) -> list[Cycle]:
        seen: dict[str, Cycle] = {}
        for cycles in self._through.values():
            for c in cycles:
                seen.setdefault(c.key, c)
        return list(seen.values())

    def add(self, pool: Pubkey, mints: tuple[Pubkey, Pubkey]) -> list[Cycle]:
        """Register a pool; returns the new cycles through it (indexed by each of their pools)."""
        if pool in self._mints:
            return []
        a, b = mints
        if a == b:
            return []
        new = self._two(pool, a, b) if self.length == 2 else self._three(pool, a, b)
        self._mints[pool] = (a, b)
        self._by_pair[frozenset((a, b))].add(pool)
        self._by_mint[a].add(pool)
        self._by_mint[b].add(pool)
        for cycle in new:
            for p in set(cycle.pools):
                self._through[p].append(cycle)
        return new

    def remove(self, pool: Pubkey) -> None:
        """Forget a pool and every cycle through it."""
        mints = self._mints.pop(pool, None)
        if mints is None:
            return
        self._by_pair[frozenset(mints)].discard(pool)
        for m in mints:
            self._by_mint[m].discard(pool)
        for cycle in self._through.pop(pool, []):
            for p in set(cycle.pools):
                if p != pool and p in self._through:
                    self._through[p] = [c for c in self._through[p] if c.key != cycle.key]

    def _other(self, pool: Pubkey, mint: Pubkey) -> Pubkey:
        a, b = self._mints[pool]
        return b if mint == a else a

    def _two(self, p: Pubkey, a: Pubkey, b: Pubkey) -> list[Cycle]:
        out = []
        for base, other in ((a, b), (b, a)):
            if base not in self.bases:
                continue
            for q in sorted(self._by_pair.get(frozenset((a, b)), ()), key=bytes):
                out.append(Cycle.of(base, (Hop(p, base, other), Hop(q, other, base))))
                out.append(Cycle.of(base, (Hop(q, base, other), Hop(p, other, base))))
        return out

    def _three(self, p: Pubkey, a: Pubkey, b: Pubkey) -> list[Cycle]:
        out: list[Cycle] = []
        for base in sorted(self.bases, key=bytes):
            if base in (a, b):
                x = b if a == base else a
                # p is the first leg (base -> x) or the last (x -> base)
                for q in sorted(self._by_mint.get(x, ()), key=bytes):
                    y = self._other(q, x)
                    if y in (base, x):
                        continue
                    for r in sorted(self._by_pair.get(frozenset((y, base)), ()), key=bytes):
                        out.append(Cycle.of(base, (Hop(p, base, x), Hop(q, x, y), Hop(r, y, base))))
                        out.append(Cycle.of(base, (Hop(r, base, y), Hop(q, y, x), Hop(p, x, base))))
            else:
                # p is the middle leg between a and b
                for r1 in sorted(self._by_pair.get(frozenset((base, a)), ()), key=bytes):
                    for r3 in sorted(self._by_pair.get(frozenset((b, base)), ()), key=bytes):
                        out.append(
                            Cycle.of(base, (Hop(r1, base, a), Hop(p, a, b), Hop(r3, b, base)))
                        )
                        out.append(
                            Cycle.of(base, (Hop(r3, base, b), Hop(p, b, a), Hop(r1, a, base)))
                        )
        return out
