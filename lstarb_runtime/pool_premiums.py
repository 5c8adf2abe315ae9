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
from typing import Any, Final

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

    One call per account the book took (:meth:`due`); it reads the strategies' books where
    they are (no copy), keeps what pools priced themselves, and remembers the fair value each
    LST's pools were last published with. About 2.5 us a call, 12 us with an LST/SOL pool
    (the lst plugin's strategies on the bundled market, 2-core development machine).
    """

    def __init__(self) -> None:
        self.own = FairValueBook()
        """Fair values the pools in the book gave (stake pools pricing their own LST)."""
        self._books: list[FairValueBook] = [self.own]
        self._published: dict[Pubkey, FairValue] = {}
        """The fair value each LST's pools were last published with."""
        self._series: dict[Pubkey, Any] = {}
        """Each exported pool's ``lstarb_pool_premium_bps`` child, bound once."""
        self.faults = 0
        self._sources: dict[type, bool] = {}
        """Whether each adapter class prices LSTs (``fair_values``, a class method)."""

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

    def get(self, mint: Pubkey) -> FairValue | None:
        """The newest fair value of ``mint``: the strategies' books first, then the pools'."""
        for fair_book in self._books:
            value = fair_book.get(mint)
            if value is not None:
                return value
        return None

    def _refresh(
        self, states: Sequence[PoolState], strategies: Sequence[tuple[str, Strategy]]
    ) -> None:
        sources = self._sources
        for state in states:
            pool = state.pool
            kind = type(pool)
            source = sources.get(kind)
            if source is None:  # a Protocol isinstance costs ~6 us: once per adapter class
                source = sources[kind] = isinstance(pool, FairValueSource)
            if source:
                try:
                    self.own.absorb(pool)
                except Exception as exc:
                    self._fault(f"{pool.dex} pool {pool.address}", exc)
        books: list[FairValueBook] = []
        for plugin, strategy in strategies:
            try:
                fair_book = strategy.fair_values()
            except Exception as exc:
                self._fault(f"strategy {strategy.name} (plugin {plugin})", exc)
                continue
            if isinstance(fair_book, FairValueBook) and all(fair_book is not b for b in books):
                books.append(fair_book)
        books.append(self.own)
        self._books = books

    def _fault(self, who: str, exc: Exception) -> None:
        self.faults += 1
        if self.faults == 1:
            log.error("%s: fair_values raised; pool premiums go without it", who, exc_info=exc)

    def _moved(self) -> set[Pubkey]:
        """LSTs whose fair value is not the one their pools were last published with."""
        moved: set[Pubkey] = set()
        published = self._published
        for fair_book in self._books:
            for value in fair_book:
                mint = value.mint
                if mint in moved or mint == WSOL_MINT:
                    continue
                last = published.get(mint)
                if last is value:
                    continue
                current = self.get(mint)  # the value that wins for this mint
                if current is None or last is current or last == current:
                    if current is not None:
                        published[mint] = current
                    continue
                published[mint] = current
                moved.add(mint)
        return moved

    def _of(self, state: PoolState) -> PoolFairValue | None:
        side = lst_side(state)
        if side is None:
            return None
        value = self.get(side[0])
        if value is None:
            return None
        fair = pool_fair_value(state, value)
        gauge = self._series.get(state.pool.address)
        if gauge is None:
            gauge = self._bind(state.pool.address, side[0])
        if gauge is not False:
            gauge.set(fair.premium_bps)
        return fair

    @property
    def exported(self) -> int:
        """Pools given a ``lstarb_pool_premium_bps`` series (at most MAX_PREMIUM_SERIES)."""
        return sum(1 for gauge in self._series.values() if gauge is not False)

    def _bind(self, pool: Pubkey, lst: Pubkey) -> Any:
        """The pool's gauge child, or False beyond :data:`MAX_PREMIUM_SERIES` pools."""
        if self.exported >= MAX_PREMIUM_SERIES:
            if all(gauge is not False for gauge in self._series.values()):
                log.info(
                    "lstarb_pool_premium_bps: %d pools exported; further ones are on "
                    "MARKET_DATA only",
                    MAX_PREMIUM_SERIES,
                )
            self._series[pool] = False
            return False
        token = token_by_mint(lst)
        label = token.symbol if token is not None else str(lst)
        gauge = metrics.POOL_PREMIUM_BPS.labels(pool=str(pool), lst=label)
        self._series[pool] = gauge
        return gauge
