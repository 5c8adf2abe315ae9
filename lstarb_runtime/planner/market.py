"""The planner's view of the market, built from the MARKET_DATA tape alone.

One method, :meth:`Market.apply`, takes each account event of the tape in order and keeps:

- the pool book (:class:`~lstarb_runtime.pool_book.PoolBook`: the scanner's book, by the
  same one-pass method, so every leg re-quotes on exactly what the scanner saw);
- fair values (:class:`~lstarb_sdk.fair_value.FairValueBook`): every pool that is a
  ``FairValueSource`` (the stake-pool adapters) is absorbed when it changes, and every
  strategy that prices LSTs (``Strategy.fair_values()``, the lst plugin's tracker) is handed
  the accounts it asked for (``accounts_wanted`` / ``on_accounts``, as the scanner hands
  them) and its values are copied. The scanner follows those accounts, so they are on the
  tape; the planner computes the same values the strategies did;
- funding providers' state (``FundingProvider.accounts_to_update`` / ``update``), for the
  accounts the tape carries;
- the newest slot on the tape, and a signal that wakes a plan waiting for the tape to reach
  its opportunity's state.

Nothing here reads a clock or the network: the same tape gives the same market, so a replay
plans the same bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Sequence

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import FundingProvider, Strategy
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import AccountEvent
from lstarb_sdk.fair_value import FairValueBook, FairValueSource

log = logging.getLogger("lstarb.planner")


class Market:
    """Book, fair values, funding state and the tape's newest slot (see the module)."""

    def __init__(
        self,
        book: PoolBook,
        strategies: Sequence[tuple[str, Strategy]] = (),
        providers: Sequence[FundingProvider] = (),
    ) -> None:
        self.book = book
        self.fair = FairValueBook()
        self.slot = 0
        """The newest slot of an account state on the tape."""
        self.applied = 0
        """Account events taken (read: :attr:`read`)."""
        self.read = 0
        self.faults: Counter[str] = Counter()
        """Plugin calls that raised, by plugin and call."""
        self.strategies = [(p, s) for p, s in strategies if _prices(s)]
        self.providers = list(providers)
        self._reads: dict[Pubkey, list[Pubkey]] = {}
        """Each pool's accounts (``accounts_to_update``), until the pool changes."""
        self._marginal: dict[tuple[Pubkey, Pubkey], tuple[int, int] | None] = {}
        """A small quote of each pool and input mint, until the pool changes."""
        self._wanted: dict[Pubkey, list[tuple[str, Strategy]]] = {}
        self._funding: dict[Pubkey, list[FundingProvider]] = {}
        self._sources: dict[type, bool] = {}
        """Whether each adapter class prices LSTs (a Protocol isinstance costs ~6 us: asked
        once per class, not for every pool of every tape event)."""
        self._moved = asyncio.Event() if _in_loop() else None
        self._ask_strategies()
        for provider in self.providers:
            try:
                keys = list(provider.accounts_to_update())
            except Exception as exc:
                self._fault(provider.name, "accounts_to_update", exc)
                continue
            for key in keys:
                self._funding.setdefault(key, []).append(provider)

    # ------------------------------------------------------------------ the tape
    def apply(self, event: AccountEvent) -> bool:
        """Take one tape event; True when the book took it (a new state)."""
        self.read += 1
        key = event.pubkey
        account = event.account()
        if event.slot > self.slot:
            self.slot = event.slot
        change = self.book.apply(key, account, (event.slot, event.write_version))
        if change is None:
            return False
        self.applied += 1
        pools = self.book.pools
        self._forget(change.changed)
        sources = self._sources
        for address in change.changed:
            pool = pools.get(address)
            if pool is None:
                continue
            kind = type(pool)
            source = sources.get(kind)
            if source is None:
                source = sources[kind] = isinstance(pool, FairValueSource)
            if source:
                try:
                    self.fair.absorb(pool)
                except Exception as exc:
                    self._fault(pool.dex, "fair_values", exc)
        readers = self._wanted.get(key)
        if readers:
            self._feed_strategies(readers, key, account, event.slot)
        for provider in self._funding.get(key, ()):
            try:
                provider.update({key: account})
            except Exception as exc:  # DecodeError included: the provider keeps refusing
                self._fault(provider.name, "update", exc)
        if self._moved is not None:
            self._moved.set()
        return True

    def apply_all(self, events: Iterable[AccountEvent]) -> None:
        for event in events:
            self.apply(event)

    async def moved(self, timeout: float) -> bool:
        """Wait until the tape brings a new state (True), or ``timeout`` seconds (False)."""
        if self._moved is None:
            self._moved = asyncio.Event()
        self._moved.clear()
        try:
            await asyncio.wait_for(self._moved.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ reading it
    def _forget(self, pools: Iterable[Pubkey]) -> None:
        for address in pools:
            self._reads.pop(address, None)
            for mint in self.book.pools[address].mints if address in self.book.pools else ():
                self._marginal.pop((address, mint), None)

    def reads(self, address: Pubkey) -> list[Pubkey]:
        """The accounts a pool reads, itself included (cached until it changes)."""
        keys = self._reads.get(address)
        if keys is None:
            pool = self.book.pools.get(address)
            keys = [address] if pool is None else [address, *pool.accounts_to_update()]
            self._reads[address] = keys
        return keys

    def marginal(self, address: Pubkey, mint: Pubkey) -> tuple[int, int] | None:
        """(in, out) of a small quote of ``mint`` into the pool: a thousandth of a whole token
        (or the whole token, when that gives nothing), cached until the pool changes; None
        when neither quotes."""
        key = (address, mint)
        if key in self._marginal:
            return self._marginal[key]
        found = None
        whole = self.book.whole_token(mint)
        for amount in (max(1, whole // 1_000), whole):
            try:
                q = self.book.quote(address, amount, mint)
            except LstarbError:
                break
            if q.out_amount > 0:
                found = (q.in_amount, q.out_amount)
                break
        self._marginal[key] = found
        return found

    def route_slot(self, pools: Iterable[Pubkey]) -> tuple[int, int]:
        """(newest, oldest) slot among the pools' own newest account states.

        A pool's slot is the newest of the versions of the accounts it reads (itself
        included): how recent the tape's word on it is.
        """
        newest, oldest = 0, -1
        versions = self.book.versions
        for address in pools:
            slot = 0
            for key in self.reads(address):
                held = versions.get(key)
                if held is not None and held[0] > slot:
                    slot = held[0]
            newest = max(newest, slot)
            oldest = slot if oldest < 0 else min(oldest, slot)
        return newest, max(oldest, 0)

    # ------------------------------------------------------------------ strategies
    def _ask_strategies(self) -> None:
        wanted: dict[Pubkey, list[tuple[str, Strategy]]] = {}
        for plugin, strategy in self.strategies:
            try:
                keys = list(strategy.accounts_wanted())
            except Exception as exc:
                self._fault(plugin, "accounts_wanted", exc)
                keys = [k for k, who in self._wanted.items() if (plugin, strategy) in who]
            for key in keys:
                wanted.setdefault(key, []).append((plugin, strategy))
        self._wanted = wanted

    def _feed_strategies(
        self,
        readers: list[tuple[str, Strategy]],
        key: Pubkey,
        account: Account | None,
        slot: int,
    ) -> None:
        for plugin, strategy in readers:
            try:
                strategy.on_accounts({key: account}, slot)  # its opportunities: the scanner's
                values = strategy.fair_values()
            except Exception as exc:
                self._fault(plugin, "on_accounts", exc)
                continue
            if values is not None:
                for value in values:
                    self.fair.put(value)
        self._ask_strategies()

    def _fault(self, who: str, call: str, exc: Exception) -> None:
        name = f"{who}.{call}"
        self.faults[name] += 1
        if self.faults[name] == 1:
            log.error("planner market: %s raised; skipped", name, exc_info=exc)


def _prices(strategy: Strategy) -> bool:
    """Whether a strategy keeps fair values (SDK 1.1: ``fair_values`` returns a book)."""
    try:
        return strategy.fair_values() is not None
    except Exception:
        return False


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
