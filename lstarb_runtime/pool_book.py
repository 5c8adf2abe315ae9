"""The scanner's view of the market: pools, the accounts they read, and who reads what.

One call per account (:meth:`PoolBook.apply`) does everything an update implies: cache it,
route it only to the pools that read it, follow the accounts those pools now ask for, and
report each pool that can quote with its summary and probe price. The scanner publishes that
report; a planner fed the same accounts in the same order (the MARKET_DATA tape) ends with
the same book, because both go through this one method (a reader of the tape skips the
report: :attr:`PoolBook.states`).

A pool whose update raises DecodeError keeps its previous state, and the error is counted
against it rather than stopping the scanner. Adapters are plugin code: one that raises
anything else (a bug, not bad bytes) is logged with its name and traceback, counted, and its
pool is quarantined: dropped from the book, because its state may be half updated and no
quote may come from it. The scanner carries on with the others.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk import PoolAdapter, PoolSummary, Quote
from lstarb_sdk.errors import DecodeError, LstarbError, QuoteError
from lstarb_sdk.solana import Mint
from lstarb_sdk.version import api_compatible

log = logging.getLogger("lstarb.scanner")

NONE_FOR_MISSING = "1.1"
"""The SDK API version from which ``PoolAdapter.update`` may be given None."""

Version = tuple[int, int]
"""(slot, write_version) of an account state: a state older than the cached one is ignored."""


def check_adapter(item: object) -> str | None:
    """None for a usable adapter class, else why it is not (``PluginHost.collect`` check)."""
    if not (isinstance(item, type) and issubclass(item, PoolAdapter)):
        return f"{item!r} is not a PoolAdapter subclass"
    if not hasattr(item, "program_id") or not hasattr(item, "dex"):
        return f"{item.__name__} does not set program_id and dex"
    return None


def _same(held: Account | None, new: Account | None) -> bool:
    """The same account state (rent epoch aside: sources disagree on it, adapters ignore it)."""
    if held is None or new is None:
        return held is new
    return (
        held.lamports == new.lamports
        and held.owner == new.owner
        and held.executable == new.executable
        and held.data == new.data
    )


@dataclass(frozen=True, slots=True)
class PoolState:
    """A pool that can quote, as the scanner publishes it on MARKET_DATA.

    ``price`` is the raw ratio of a probe quote, smallest units of mint_b per smallest unit of
    mint_a, for one whole token of mint_a (0.0 when the pool refuses that quote): a summary
    for dashboards, never an input to trading (strategies quote exactly, at their size).
    """

    pool: PoolAdapter
    summary: PoolSummary
    price: float
    decimals_a: int
    decimals_b: int

    @property
    def price_human(self) -> float:
        """Whole mint_b per whole mint_a: the raw ratio with the mints' decimals applied."""
        return self.price * 10.0 ** (self.decimals_a - self.decimals_b)


@dataclass(slots=True)
class BookChange:
    """What one account did to the book."""

    added: PoolAdapter | None = None
    """The pool this account built, if it was a new pool."""
    changed: list[Pubkey] = field(default_factory=list)
    """Pools updated successfully (including a new one), in the order they were updated."""
    states: list[PoolState] = field(default_factory=list)
    """Pools that can quote after this account: each changed one, and any whose last missing
    mint decimals this account supplied (empty when the book defers states or keeps none)."""
    ready: list[Pubkey] = field(default_factory=list)
    """The pools whose state :attr:`states` holds or, when the book defers states, would hold
    (ask :meth:`PoolBook.state` for each when it is time to publish); empty when the book
    keeps no states (:attr:`PoolBook.states`)."""
    wanted: list[Pubkey] = field(default_factory=list)
    """Accounts the book needs from now on and does not hold: subscribe and fetch them."""


@dataclass
class PoolBook:
    """Pools by address, an account cache and a reverse dependency index.

    ``keep_unwanted``: cache accounts that no pool reads (yet). The scanner leaves it off and
    gives the book only accounts it follows; a reader of the tape turns it on, since every
    account on the tape was one the scanner used, even when the tape starts after the pool
    that reads it.
    """

    adapter_classes: Iterable[type[PoolAdapter]]
    keep_unwanted: bool = False
    without_none: frozenset[type[PoolAdapter]] = frozenset()
    """Adapter classes of plugins built for SDK API 1.0, which promised never to pass None:
    an account the chain does not have is left out of their updates (no news)."""
    pools: dict[Pubkey, PoolAdapter] = field(default_factory=dict)
    accounts: dict[Pubkey, Account | None] = field(default_factory=dict)
    """The last state of every account taken; None: the chain has no such account."""
    versions: dict[Pubkey, Version] = field(default_factory=dict)
    readers: defaultdict[Pubkey, set[Pubkey]] = field(default_factory=lambda: defaultdict(set))
    decode_errors: Counter[str] = field(default_factory=Counter)
    adapter_faults: Counter[str] = field(default_factory=Counter)
    """Unexpected exceptions raised by adapters, by adapter name (``dex``)."""
    quarantined: dict[Pubkey, str] = field(default_factory=dict)
    """Pools dropped after their adapter raised unexpectedly, with the reason."""
    defer_states: bool = False
    """``apply`` names the pools whose state may have moved (:attr:`BookChange.ready`) instead
    of summarising and probe-quoting each (:attr:`BookChange.states`). Why: the scanner puts
    the raw account on the tape first and publishes pool states once the slot's burst of
    updates is through, one per pool, rather than quoting every pool again for each of the
    slot's accounts."""
    states: bool = True
    """False: ``apply`` neither computes pool states nor names the pools whose state may have
    moved (:attr:`BookChange.states` and :attr:`BookChange.ready` stay empty: nothing is
    computed or kept for them). For the readers of the tape (:meth:`for_tape`), which quote,
    fingerprint and check pools on the book itself and never publish a state: a summary and
    a probe quote of every changed pool, on every account event, was most of what applying
    the event cost them. What they use is the same either way: the accounts and their
    versions, the adapters updated on the same bytes in the same order, a pool quarantined
    when its ``update`` raises. A pool whose ``summary`` or ``quote`` raises is quarantined
    when the reader itself calls :meth:`summary` or :meth:`quote`, the only way it uses
    them."""

    @classmethod
    def for_plugins(
        cls, host: PluginHost, *, keep_unwanted: bool = False, states: bool = True
    ) -> PoolBook:
        """A book with the DEX adapters of the host's active plugins (invalid ones dropped)."""
        adapters = host.collect("lstarb_dex_adapters", check_adapter)
        legacy = frozenset(
            adapter
            for plugin, adapter in adapters
            if not api_compatible(NONE_FOR_MISSING, host.records[plugin].sdk_api or "1.0")
        )
        return cls(
            [a for _, a in adapters],
            keep_unwanted=keep_unwanted,
            without_none=legacy,
            states=states,
        )

    @classmethod
    def for_tape(cls, host: PluginHost) -> PoolBook:
        """The book of a reader of the MARKET_DATA tape (planner, executor, a rebuild): every
        account the tape carries is kept (the scanner used it, even when the tape starts after
        the pool that reads it), and no pool states are computed (see :attr:`states`)."""
        return cls.for_plugins(host, keep_unwanted=True, states=False)

    def __post_init__(self) -> None:
        self.adapter_classes = tuple(self.adapter_classes)
        self._by_program: dict[Pubkey, list[type[PoolAdapter]]] = defaultdict(list)
        for cls in self.adapter_classes:
            self._by_program[cls.program_id].append(cls)
        self._reads: dict[Pubkey, frozenset[Pubkey]] = {}
        self._followed: set[Pubkey] = set()
        """Every account the book has asked for; updates of these are always taken."""
        self._probed: set[Pubkey] = set()
        """Followed accounts already tried as pools (an account is a pool or not for good)."""
        self._mint_pools: defaultdict[Pubkey, set[Pubkey]] = defaultdict(set)
        self._decimals: dict[Pubkey, int] = {}

    # ------------------------------------------------------------------ taking accounts
    def follows(self, key: Pubkey) -> bool:
        """Whether the book takes updates of ``key`` (a pool, an account a pool read, a mint)."""
        return key in self._followed

    def follow(self, keys: Iterable[Pubkey]) -> list[Pubkey]:
        """Take updates of these accounts too (a strategy reads them); returns those not held."""
        change = BookChange()
        self._ask(keys, change)
        return change.wanted

    def pools_moved_by(self, key: Pubkey) -> set[Pubkey]:
        """The pools whose state an update of ``key`` can move: those that read it (a pool
        reads its own account) and, for a mint, its pools (their decimals). A caller that
        holds a pool's state back (the scanner, until a burst's strategies ran) publishes it
        before the book takes such an update."""
        moved = set(self.readers.get(key, ()))
        pools = self._mint_pools.get(key)
        if pools:
            moved |= pools
        return moved

    def would_take(self, key: Pubkey, account: Account | None, version: Version) -> bool:
        """Whether :meth:`apply` would take this state of a followed account: not older than
        the one held, and not the state held (the scanner tapes it before the book takes it)."""
        held = self.versions.get(key)
        if held is None:
            return True
        if version < held:
            return False
        return key not in self.accounts or not _same(self.accounts[key], account)

    def apply(
        self, key: Pubkey, account: Account | None, version: Version = (0, 0)
    ) -> BookChange | None:
        """Take one account state; None when the book does not take it.

        Not taken: a state older than the one held, the state already held, or (unless
        ``keep_unwanted``) an account that is neither followed nor a pool of a loaded adapter.
        A followed account is cached and routed to the pools that read it; any other account
        is tried as a new pool.
        """
        held = self.versions.get(key)
        if held is not None:
            if version < held:
                return None
            if key in self.accounts and _same(self.accounts[key], account):
                self.versions[key] = version
                return None
        change = BookChange()
        if key in self._followed:
            self._store(key, account, version)
            touched = self.readers.get(key, ())
            for address in list(touched):
                if self._update(address, {key: account}, change):
                    change.changed.append(address)
            if self.states:
                ready = set(change.changed)
                first = key in self._mint_pools and key not in self._decimals
                if first and self.decimals_of(key) is not None:  # its pools may publish now
                    ready |= self._mint_pools[key]
                self._states(ready, change)
            if account is not None and key not in self.pools and key not in self._probed:
                # followed before it was seen (a stake pool a strategy reads): a pool too?
                self._probed.add(key)
                pool = self._try_add(key, account)
                if pool is not None:
                    self._added(pool, change)
            return change
        pool = self._try_add(key, account) if account is not None else None
        if pool is None:
            if not self.keep_unwanted:
                return None
            self._store(key, account, version)
            return change
        self._store(key, account, version)
        self._added(pool, change)
        return change

    def _added(self, pool: PoolAdapter, change: BookChange) -> None:
        change.added = pool
        self._follow(pool.address, change)
        if self._refresh(pool.address, change):
            change.changed.append(pool.address)
        if self.states:
            self._states({pool.address}, change)

    def _store(self, key: Pubkey, account: Account | None, version: Version) -> None:
        self.accounts[key] = account
        self.versions[key] = version

    def _try_add(self, address: Pubkey, account: Account) -> PoolAdapter | None:
        if address in self.quarantined:
            return None
        for cls in self._by_program.get(account.owner, ()):
            try:
                if not cls.matches(account):
                    continue
                pool = cls.from_account(address, account)
                reads = frozenset(pool.accounts_to_update())
                mints = pool.mints
            except DecodeError:
                continue  # an account of the program that is not a pool (tick array, config)
            except Exception as exc:
                self._fault(getattr(cls, "dex", cls.__name__), address, "from_account", exc)
                continue
            self.pools[address] = pool
            self._index(address, reads)
            for mint in mints:
                self._mint_pools[mint].add(address)
            return pool
        return None

    def _follow(self, address: Pubkey, change: BookChange) -> None:
        """Follow what a new pool reads and its mints (for their decimals)."""
        pool = self.pools[address]
        self._want(address, change)
        self._ask(pool.mints, change)

    def _want(self, address: Pubkey, change: BookChange) -> None:
        self._ask(self._reads.get(address, ()), change)

    def _ask(self, keys: Iterable[Pubkey], change: BookChange) -> None:
        for key in keys:
            if key not in self._followed:
                self._followed.add(key)
                if key not in self.accounts:
                    change.wanted.append(key)

    def _index(self, address: Pubkey, reads: frozenset[Pubkey]) -> frozenset[Pubkey]:
        """Record what a pool reads now; returns the accounts it did not read before."""
        before = self._reads.get(address, frozenset())
        if reads == before:
            return frozenset()
        for key in before - reads:
            self.readers[key].discard(address)
        new = reads - before
        for key in new:
            self.readers[key].add(address)
        self._reads[address] = reads
        return new

    def _refresh(self, address: Pubkey, change: BookChange) -> bool:
        """Feed a pool the cached accounts it reads (a new pool, or one that reads more now)."""
        updated = False
        fed = {address}  # built from its own account already
        while True:
            keys = self._reads.get(address, frozenset())
            have = {k: self.accounts[k] for k in keys - fed if k in self.accounts}
            if not have:
                return updated
            fed.update(have)
            if not self._update(address, have, change, refresh=False):
                return updated
            updated = True

    def _update(
        self,
        address: Pubkey,
        accounts: Mapping[Pubkey, Account | None],
        change: BookChange,
        *,
        refresh: bool = True,
    ) -> bool:
        pool = self.pools.get(address)
        if pool is None:
            return False
        if type(pool) in self.without_none:
            accounts = {k: a for k, a in accounts.items() if a is not None}
            if not accounts:
                return False
        try:
            if pool.update(accounts) is False:
                return False  # nothing a quote reads changed (the adapter says so)
            reads = frozenset(pool.accounts_to_update())
        except DecodeError as exc:
            self.decode_errors[str(address)] += 1
            log.warning("%s pool %s: update rejected: %s", pool.dex, address, exc)
            return False
        except Exception as exc:
            self._fault(pool.dex, address, "update", exc)
            return False
        if self._index(address, reads):
            self._want(address, change)
            if refresh:
                self._refresh(address, change)
        return True

    def _fault(self, dex: str, address: Pubkey, call: str, exc: Exception) -> None:
        self.adapter_faults[dex] += 1
        self.quarantined[address] = f"{dex}.{call} raised {exc!r}"
        log.error(
            "adapter %s raised in %s for pool %s; pool quarantined",
            dex,
            call,
            address,
            exc_info=exc,
        )
        self.pools.pop(address, None)
        for key in self._reads.pop(address, ()):
            self.readers[key].discard(address)
        for users in self._mint_pools.values():
            users.discard(address)

    # ------------------------------------------------------------------ reading the book
    def _states(self, addresses: Iterable[Pubkey], change: BookChange) -> None:
        if self.defer_states:
            change.ready.extend(addresses)
            return
        for address in addresses:
            change.ready.append(address)
            state = self.state(address)
            if state is not None:
                change.states.append(state)

    def state(self, address: Pubkey) -> PoolState | None:
        """The pool's summary and probe price; None until it can quote and its mints are known."""
        pool = self.pools.get(address)
        if pool is None:
            return None
        try:
            summary = self.summary(address)
        except QuoteError:  # an adapter fault: logged, counted, the pool quarantined
            return None
        if summary is None:
            return None
        mint_a, mint_b = pool.mints
        decimals_a, decimals_b = self.decimals_of(mint_a), self.decimals_of(mint_b)
        if decimals_a is None or decimals_b is None:
            return None
        try:
            quote = self.quote(address, 10**decimals_a, mint_a)
        except LstarbError:  # QuoteError (or an adapter fault, already logged and counted)
            if address not in self.pools:
                return None
            price = 0.0
        else:
            price = quote.out_amount / quote.in_amount if quote.in_amount else 0.0
        return PoolState(pool, summary, price, decimals_a, decimals_b)

    def summary(self, address: Pubkey) -> PoolSummary | None:
        """The pool's summary (None while it cannot quote); an adapter bug (it raises, or
        returns something else than a PoolSummary) quarantines the pool and reads as
        QuoteError, as in :meth:`quote`."""
        pool = self.pools.get(address)
        if pool is None:
            raise QuoteError(f"pool {address} is not in the book ({self.quarantined.get(address)})")
        try:
            summary = pool.summary()
        except Exception as exc:
            fault: Exception = exc
        else:
            if summary is None or isinstance(summary, PoolSummary):
                return summary
            fault = TypeError(f"returned {summary!r}")
        self._fault(pool.dex, address, "summary", fault)
        raise QuoteError(f"{pool.dex} pool {address}: adapter fault, quarantined") from fault

    def decimals_of(self, mint: Pubkey) -> int | None:
        """A mint's decimals, decoded once from its cached account (they never change).

        None while the book does not hold the mint account (or it is not a mint).
        """
        decimals = self._decimals.get(mint)
        if decimals is None:
            account = self.accounts.get(mint)
            if account is None:
                return None
            try:
                decimals = Mint.decode(bytes(account.data)).decimals
            except LstarbError as exc:
                log.warning("mint %s: cannot read its decimals: %s", mint, exc)
                return None
            self._decimals[mint] = decimals
        return decimals

    def whole_token(self, mint: Pubkey) -> int:
        """One whole token of ``mint`` in its smallest unit (6 decimals while it is not held)."""
        decimals = self.decimals_of(mint)
        return int(10 ** (6 if decimals is None else decimals))

    def quote(self, address: Pubkey, amount: int, mint: Pubkey, *, exact_in: bool = True) -> Quote:
        """The pool's quote; an adapter bug quarantines the pool and reads as QuoteError."""
        pool = self.pools.get(address)
        if pool is None:
            raise QuoteError(f"pool {address} is not in the book ({self.quarantined.get(address)})")
        try:
            return pool.quote(amount, mint, exact_in=exact_in)
        except LstarbError:
            raise
        except Exception as exc:
            self._fault(pool.dex, address, "quote", exc)
            raise QuoteError(f"{pool.dex} pool {address}: adapter fault, quarantined") from exc
