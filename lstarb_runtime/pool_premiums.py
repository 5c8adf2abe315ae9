"""Each LST/SOL pool's premium or discount to its LST's fair value, for MARKET_DATA.

Why here and not in a dashboard: an LST's fair value is what its own program pays for it
(SOL per LST, read from stake-pool state), which only the strategies and the stake-pool
adapters can compute; a dashboard sees prices only. So the scanner publishes, with the state
of every pool that pairs an LST with SOL, the LST's fair value (SOL per whole LST, its epoch,
whether it is stale) and how far the pool's price sits from it, in basis points. The same
number goes to Prometheus as ``lstarb_pool_premium_bps{pool,lst}``.

Where fair values come from: the strategies' books (``Strategy.fair_values()``, SDK 1.1) and
the pools that price an LST themselves (a stake pool, a ``FairValueSource``), the same sources
the planner judges deviation from fair value with. A fair value that moves (a stake pool
cranked for a new epoch) re-publishes the state of every pool of that LST, so a dashboard
never shows a premium against last epoch's rate while the pool itself is quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.pool_book import PoolBook, PoolState
from lstarb_sdk import Strategy
from lstarb_sdk.fair_value import FairValue, FairValueBook, FairValueSource
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.tokens import token_by_mint

log = logging.getLogger("lstarb.scanner")

BPS: Final = 10_000

MAX_PREMIUM_SERIES: Final = 256
"""Pools given a ``lstarb_pool_premium_bps`` series; later ones are published on MARKET_DATA
only (a scanner following thousands of pools must not flood Prometheus)."""


@dataclass(frozen=True, slots=True)
class PoolFairValue:
    """What a pool state carries about its LST: the PoolStateEvent fields of schema 4."""

    fair_value: float
    """SOL per whole LST, as its program pays (decimals applied)."""
    epoch: int
    """The epoch the fair value was computed for (0: unknown, or priced continuously)."""
    stale: bool
    """The program will not mint or redeem at this rate now."""
    premium_bps: float
    """The pool's SOL per LST against ``fair_value``, in basis points (negative: a discount);
    0 while the pool cannot quote its probe."""


def lst_side(state: PoolState) -> tuple[Pubkey, int, int] | None:
    """(LST mint, its decimals, SOL's decimals) of a pool pairing a non-SOL mint with SOL."""
    mint_a, mint_b = state.pool.mints
    if mint_b == WSOL_MINT and mint_a != WSOL_MINT:
        return mint_a, state.decimals_a, state.decimals_b
    if mint_a == WSOL_MINT and mint_b != WSOL_MINT:
        return mint_b, state.decimals_b, state.decimals_a
    return None


def pool_fair_value(state: PoolState, value: FairValue) -> PoolFairValue:
    """The fair value of ``state``'s LST side and the pool's premium to it.

    The pool's SOL per LST is its probe price (one whole token of mint_a in, fees included):
    the price itself when the LST is mint_a, its inverse when SOL is.
    """
    mint, decimals_lst, decimals_sol = lst_side(state) or (value.mint, 9, 9)
    lamports, tokens = value.rate
    fair = lamports / tokens * 10.0 ** (decimals_lst - decimals_sol)
    price = state.price_human
    if price <= 0 or fair <= 0:
        premium = 0.0
    else:
        sol_per_lst = price if state.pool.mints[0] == mint else 1.0 / price
        premium = (sol_per_lst / fair - 1.0) * BPS
    return PoolFairValue(fair, value.epoch or 0, value.stale, premium)


class PoolPremiums:
    """The scanner's view of fair values: which pool states to publish, and with what.

    One call per account the book took (:meth:`due`); it keeps the newest fair value of each
    LST and the one each LST's pools were last published with.
    """

    def __init__(self) -> None:
        self.book = FairValueBook()
        self._published: dict[Pubkey, FairValue] = {}
        """The fair value each LST's pools were last published with."""
        self._series: set[Pubkey] = set()
        self.faults = 0

    def due(
        self,
        book: PoolBook,
        states: Sequence[PoolState],
        strategies: Sequence[tuple[str, Strategy]],
    ) -> Iterator[tuple[PoolState, PoolFairValue | None]]:
        """The states to publish and each one's fair value (None: not an LST/SOL pool, or its
        LST not priced).

        ``states`` first (the pools this account changed), then the states of other pools of
        each LST whose fair value moved since its pools were last published.
        """
        self._refresh(states, strategies)
        moved = self._moved()
        done: set[Pubkey] = set()
        for state in states:
            done.add(state.pool.address)
            yield state, self._of(state)
        if not moved:
            return
        for address, pool in list(book.pools.items()):
            if address in done or not moved.intersection(pool.mints):
                continue
            again = book.state(address)
            if again is not None:
                yield again, self._of(again)

    def _refresh(
        self, states: Sequence[PoolState], strategies: Sequence[tuple[str, Strategy]]
    ) -> None:
        for state in states:
            if isinstance(state.pool, FairValueSource):
                self._absorb(state.pool.dex, state.pool)
        for plugin, strategy in strategies:
            try:
                values = strategy.fair_values()
            except Exception as exc:
                self._fault(f"strategy {strategy.name} (plugin {plugin})", exc)
                continue
            if values is None:
                continue
            for value in values:
                self.book.put(value)

    def _absorb(self, who: str, source: object) -> None:
        try:
            self.book.absorb(source)
        except Exception as exc:
            self._fault(who, exc)

    def _fault(self, who: str, exc: Exception) -> None:
        self.faults += 1
        if self.faults == 1:
            log.error("%s: fair_values raised; pool premiums go without it", who, exc_info=exc)

    def _moved(self) -> set[Pubkey]:
        """LSTs whose fair value is not the one their pools were last published with."""
        moved = set()
        for value in self.book:
            if value.mint != WSOL_MINT and self._published.get(value.mint) != value:
                self._published[value.mint] = value
                moved.add(value.mint)
        return moved

    def _of(self, state: PoolState) -> PoolFairValue | None:
        side = lst_side(state)
        if side is None:
            return None
        value = self.book.get(side[0])
        if value is None:
            return None
        fair = pool_fair_value(state, value)
        self._export(state.pool.address, side[0], fair.premium_bps)
        return fair

    def _export(self, pool: Pubkey, lst: Pubkey, premium_bps: float) -> None:
        if pool not in self._series:
            if len(self._series) >= MAX_PREMIUM_SERIES:
                return
            self._series.add(pool)
            if len(self._series) == MAX_PREMIUM_SERIES:
                log.info(
                    "lstarb_pool_premium_bps: %d pools exported; further ones are on "
                    "MARKET_DATA only",
                    MAX_PREMIUM_SERIES,
                )
        token = token_by_mint(lst)
        label = token.symbol if token is not None else str(lst)
        metrics.POOL_PREMIUM_BPS.labels(pool=str(pool), lst=label).set(premium_bps)
