"""The scanner: data sources -> pool book -> MARKET_DATA, and strategies -> OPPORTUNITIES.

One pass per account update: the update becomes an ``Account`` once, enters the pool book
once (:meth:`PoolBook.apply` routes it, follows what the pools now read and reports each pool
that can quote), and what the book took goes on the tape with the pool states it produced.
Everything the book takes (streamed updates, fetched snapshots, pools found at start-up)
passes through :meth:`Scanner.take`, so the tape holds exactly what the book was given, in
the order it was given, and a reader of the tape rebuilds the same book
(:mod:`lstarb_runtime.tape`).

Which pools: those named in ``[scanner] pools``, those of the mints in ``[scanner] mints``
(found with each adapter's ``discovery_filters``, through ``DataSource.discover``, or over a
recording's own accounts), or, with neither set, every pool a recording holds.

Plugins are isolated: a data source that fails is named, counted and the others go on; a
strategy that raises is named, counted and skipped; an adapter bug quarantines its pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.bus import BusError
from lstarb_runtime.bus.eager import next_if_ready
from lstarb_runtime.bus.tracing import TraceContext
from lstarb_runtime.market_data import pool_state_event
from lstarb_runtime.pool_book import BookChange, PoolBook, PoolState, Version
from lstarb_runtime.pool_premiums import PoolFairValue, PoolPremiums
from lstarb_runtime.services.base import NothingToDo, Service, ServiceEnv
from lstarb_sdk import (
    AccountFilter,
    AccountUpdate,
    DataSource,
    FundingProvider,
    Opportunity,
    PendingTransaction,
    PoolAdapter,
    SlotUpdate,
    Strategy,
)
from lstarb_sdk.errors import DataSourceError, DecodeError, LstarbError
from lstarb_sdk.events import AccountEvent, OpportunityEvent
from lstarb_sdk.tokens import MINTS_OF_INTEREST

log = logging.getLogger("lstarb.scanner")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
"""Back-off of start-up reads (discovery, snapshot) while the data source's node is down."""
_T = TypeVar("_T")
BURST_MAX = 1024
"""Updates taped ahead of the book at most; past that (a source that always has more ready)
the burst is finished first. A burst also ends where the slot changes, so a recording
replayed as fast as it reads is still evaluated slot by slot, as it was received."""
MAX_SPINS = 64
"""Turns in a row the scanner gives a source that says more has arrived
(:meth:`~lstarb_sdk.DataSource.more_arrived`) before it takes the burst as complete anyway:
a message cut in two frames must not hold the burst's strategies until its second half."""
UNEXECUTED_SLOT_STATUSES = frozenset({"first_shred_received"})
"""Slot ticks of a block still being produced (ShredStream's): they do not move the slot the
scanner stamps snapshots with, since no account state was read at that slot yet; a snapshot
stamped ahead of the node's own updates would make the book refuse them as older."""
PENDING_LEAD = "pending transaction -> account update"
"""From a pending transaction that writes a followed pool's account (ShredStream) to the
first account update of that account after it: how much earlier the source saw the swap."""
PENDING_REMEMBERED = 4096
"""Accounts a pending transaction wrote, waiting for their update (the oldest forgotten:
a transaction that failed never brings one)."""
RECEIVED_TO_TAPE = "update received -> on the tape"
"""From a data source receiving a streamed account update to it and the pool states it
changed being on their way to MARKET_DATA (wall clock, the update's ``received_ns``)."""
RECEIVED_TO_OPPORTUNITY = "update received -> opportunity published"
"""The stage from a data source receiving an account update to an opportunity it set off
being on its way to OPPORTUNITIES (wall clock, the update's ``received_ns``)."""


_Stamp = tuple[int, int, str, int]
"""What a published state is stamped with: the (slot, write_version, source, received_ns) of
the account that moved it."""


@dataclass(slots=True)
class _Taped:
    """An update on the tape the book has not taken yet (:meth:`Scanner._tape_first`)."""

    update: AccountUpdate
    account: Account


@dataclass
class _Burst:
    """What the scanner still owes the updates it has put on the tape, in the order owed.

    Three kinds of work, highest priority first: updates that arrived go on the tape
    (:meth:`Scanner._tape_first`); taped updates enter the book, with their pool states;
    the strategies run, once per burst, on what the book then holds. The rest is done a
    piece at a time (:meth:`Scanner._burst_step`); an update that arrived while a piece
    waited is taped before the next piece.
    """

    taped: deque[_Taped] = field(default_factory=deque)
    """On the tape, not in the book yet (tape order)."""
    keys: set[Pubkey] = field(default_factory=set)
    """The accounts of ``taped`` (each at most once: a second update of one is taken by the
    book first)."""
    read: deque[tuple[Pubkey, Account, _Stamp]] = field(default_factory=deque)
    """Strategies' own accounts the book took, to hand over, with their stamps."""
    moved: dict[Pubkey, tuple[int, int]] = field(default_factory=dict)
    """Pools the book moved, the one moved last at the end: (slot, received_ns) of the
    account that moved it last."""
    wanted: list[Pubkey] = field(default_factory=list)
    """Accounts the book asked for meanwhile (subscribed and fetched once the burst is done)."""
    states: dict[Pubkey, _Stamp] = field(default_factory=dict)
    """``pool_states = "per_update"``: pools whose new state is held back until the burst's
    strategies ran (or another account is about to move them), each with the stamp of the
    account that moved it (see :meth:`Scanner._hold_states`)."""
    locked: bool = False
    """Holding the scanner's lock: from the first update taped to the last piece done."""
    slot: int = 0
    """The slot of the updates taped in this burst."""

    @property
    def busy(self) -> bool:
        return bool(self.taped or self.read or self.moved or self.states)


def _check_source(item: object) -> str | None:
    return None if isinstance(item, DataSource) else f"{item!r} is not a DataSource"


def _check_provider(item: object) -> str | None:
    if not isinstance(item, FundingProvider):
        return f"{item!r} is not a FundingProvider"
    return None if getattr(item, "name", "") else f"{item!r} does not set name"


def _check_strategy(item: object) -> str | None:
    if not isinstance(item, Strategy):
        return f"{item!r} is not a Strategy"
    return None if getattr(item, "name", "") else f"{item!r} does not set name"


class Scanner(Service):
    """Follows the market and publishes it; runs the strategies on every applied update."""

    role: ClassVar[str] = "scanner"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self.book = PoolBook((), defer_states=True)
        self.sources: list[tuple[str, DataSource]] = []
        self.strategies: list[tuple[str, Strategy]] = []
        self.pools_by_dex: Counter[str] = Counter()
        self.strategy_faults: Counter[str] = Counter()
        self.by_strategy: Counter[str] = Counter()
        """Opportunities published, by strategy."""
        self.source_faults: Counter[str] = Counter()
        self.seq = 0
        """The tape's apply order: one more for every account the book took."""
        self.slot = 0
        """The newest slot any source reported; fetched snapshots are stamped with it."""
        self._watched: dict[int, frozenset[Pubkey]] = {}
        """Pools each strategy watches (by the strategy's id)."""
        self._changed_while_halted: dict[Pubkey, None] = {}
        """Pools that changed while halted, handed to the strategies with the first update after
        (a strategy is told of every change: its fair values and kept quotes follow them)."""
        self._account_readers: dict[Pubkey, list[tuple[str, Strategy]]] = {}
        """Accounts besides pools that strategies read (``accounts_wanted``), and who reads them."""
        self._strategy_wanted: list[Pubkey] = []
        self._published: dict[Pubkey, tuple[object, ...]] = {}
        """The last state published of each pool: an unchanged one is not sent again."""
        self._dirty: dict[Pubkey, _Stamp] = {}
        """Pools whose state may have moved since states were last published, with the (slot,
        write_version, source, received_ns) of the last account that moved each."""
        self._states_due: asyncio.Task[None] | None = None
        """Publishes the states of ``_dirty`` once the current burst of updates is through."""
        self._states_failed: Exception | None = None
        self._per_burst = env.settings.scanner.pool_states == "per_burst"
        self.premiums = PoolPremiums()
        self._pending_since: dict[Pubkey, int] = {}
        """Accounts of followed pools a pending transaction writes, with when it arrived."""
        """Fair values of LSTs, published with the state of each LST/SOL pool."""
        self._lock = asyncio.Lock()
        self._closed: set[int] = set()
        self._update_latency = metrics.stage("update")
        self._detect_latency = metrics.stage("detect")
        settings = env.settings.scanner
        self._pools = [Pubkey.from_string(p) for p in settings.pools]
        self._mints = [Pubkey.from_string(m) for m in settings.mints]
        self._wanted_pools: set[Pubkey] = set(self._pools)
        """Configured and discovered pool addresses (empty: any account may be a pool)."""

    # ------------------------------------------------------------------ start-up
    async def on_start(self) -> None:
        host, context = self.env.host, self.env.context
        self.book = PoolBook.for_plugins(host)
        # the book names the pools an account moved; the scanner computes their states when
        # it publishes them (per_update: _states_of and _hold_states; per_burst: _states_after)
        self.book.defer_states = True
        if not self.book.adapter_classes:
            raise NothingToDo("the selected plugins provide no DEX adapter: nothing to scan")
        sources = host.collect("lstarb_data_sources", _check_source, context=context)
        builtin = {name for name, record in host.records.items() if record.builtin}
        self.sources = [(p, s) for p, s in sources if p not in builtin] or list(sources)
        if not self.sources:
            failed = sorted(p for p in host.hook_errors if host.hook_errors[p])
            hint = f" (raised by plugin {', '.join(failed)}: see the log above)" if failed else ""
            raise NothingToDo(
                f"no data source{hint}: select a data-source plugin (rpc, shredstream, ...)"
            )
        self.strategies = host.collect("lstarb_strategies", _check_strategy, context=context)
        self.funding_accounts = self._funding_accounts()

    def _funding_accounts(self) -> list[Pubkey]:
        """What the funding providers read (Kamino's reserves and markets): the scanner puts
        them on the tape, so the planner prices a loan on exactly the state the tape holds."""
        keys: list[Pubkey] = []
        context = self.env.context
        for plugin, provider in self.env.host.collect(
            "lstarb_funding_providers", _check_provider, context=context
        ):
            try:
                keys.extend(provider.accounts_to_update())
            except Exception as exc:
                log.error(
                    "funding provider %s (plugin %s): accounts_to_update raised; not followed",
                    provider.name,
                    plugin,
                    exc_info=exc,
                )
        return list(dict.fromkeys(keys))

    # ------------------------------------------------------------------ the work
    async def on_run(self) -> None:
        self._strategy_wanted = self._ask_strategies() + self.book.follow(self.funding_accounts)
        retaping = asyncio.create_task(self._retape_every(self.env.settings.scanner.retape_seconds))
        try:
            await asyncio.gather(*(self._guarded(p, s) for p, s in self.sources))
        finally:
            retaping.cancel()
            self.env.market_stopped.set()  # no more updates from this process's sources
        if not self.book.pools and not self.stopping.is_set():
            raise NothingToDo(self._no_pools())
        self._probe_all()

    async def _retape_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.retape()

    async def retape(self) -> None:
        """Put every account the book holds on the tape again, pools first.

        Why: MARKET_DATA keeps an hour, and an account that has not changed for longer (a
        mint, a config, a quiet pool) would be gone from it; re-published well within the
        hour, the tape's last hour alone rebuilds the book. A reader that already has an
        account skips it (same state), so a re-publication changes no book.
        """
        async with self._lock:
            held = sorted(self.book.accounts, key=lambda k: k not in self.book.pools)
            for key in held:
                account = self.book.accounts[key]
                slot, write_version = self.book.versions.get(key, (self.slot, 0))
                self.seq += 1
                tape = AccountEvent.from_account(
                    key,
                    account,
                    slot=slot,
                    write_version=write_version,
                    seq=self.seq,
                    source="retape",
                    received_ns=time.time_ns(),
                )
                await self.emit(tape)
        self.count("retapes")

    def _probe_all(self) -> None:
        """Quote every pool both ways, one whole token in: the summary's proof it is live."""
        for address, pool in list(self.book.pools.items()):
            for mint in pool.mints:
                t0 = time.perf_counter_ns()
                try:
                    self.book.quote(address, self.book.whole_token(mint), mint)
                except LstarbError:  # QuoteError, or an adapter fault (logged and counted)
                    self.count("quotes refused")
                    continue
                self.observe(f"quote {pool.dex}", time.perf_counter_ns() - t0)
                self.count("quotes ok")

    def _no_pools(self) -> str:
        names = ", ".join(s.name for _, s in self.sources)
        dexes = ", ".join(sorted({cls.dex for cls in self.book.adapter_classes}))
        if self._pools or self._mints:
            asked = "the pools in [scanner] pools" if self._pools else "pools of [scanner] mints"
            return f"no pools found: {names} had none of {asked} decodable by {dexes}"
        return (
            f"no pools found in {names} ({self.stats.counters['accounts offered']} accounts, "
            f"none a pool of {dexes}); check the data source's settings or the selected plugins"
        )

    async def _guarded(self, plugin: str, source: DataSource) -> None:
        """One data source, isolated: if it fails it is named and counted, the others go on."""
        try:
            await self._scan(source)
        except BusError:
            raise  # the bus is shared: losing it ends the run
        except NothingToDo:
            raise
        except Exception as exc:
            if isinstance(exc, DataSourceError) and self.stopping.is_set():
                return  # stopped while waiting for the node at start-up: nothing failed
            self.source_faults[plugin] += 1
            metrics.SOURCE_ERRORS.labels(source=source.name).inc()
            log.error("data source %s (plugin %s) failed", source.name, plugin, exc_info=exc)
            self.env.echo(f"data source {source.name} (plugin {plugin}) stopped: {exc!r}")
            self.degrade(f"data source {source.name} failed: {exc!r}")
        finally:
            await self._close(plugin, source)

    async def _close(self, plugin: str, source: DataSource) -> None:
        if id(source) in self._closed:
            return
        self._closed.add(id(source))
        try:
            await source.close()
        except Exception as exc:
            log.warning("data source %s (plugin %s): close failed: %r", source.name, plugin, exc)

    async def _scan(self, source: DataSource) -> None:
        candidates = await self._candidates(source)
        before = len(self.book.pools)
        offered = await self._snapshot(source, candidates)
        self.env.echo(
            f"{source.name}: {offered} accounts, {len(self.book.pools) - before} pools; "
            "streaming updates"
        )
        await source.subscribe([*candidates, *self._strategy_wanted, *self.book.accounts])
        updates = 0
        meters = metrics.data_source(source.name, source)
        tape_first = self.env.settings.scanner.tape_first
        items = aiter(source.stream())
        more_arrived = source.more_arrived
        spins = 0
        burst = _Burst()
        waiting: asyncio.Task[AccountUpdate | SlotUpdate | PendingTransaction] | None = None
        try:
            while True:
                if waiting is None:
                    try:
                        ready, got = next_if_ready(items)
                    except StopAsyncIteration:
                        break
                    if not ready:  # nothing more has arrived: the burst's other work, piecewise
                        waiting = got  # type: ignore[assignment]
                        continue
                    item = got
                elif burst.busy and not waiting.done():
                    # piece by piece: an update that arrived while a piece waited (for room to
                    # publish) is taped before the next piece. No turn of the loop is given up
                    # for it otherwise: measured, yielding between pieces cost CPU (a turn
                    # each) and bought no tape latency on a slot's burst.
                    if more_arrived() and spins < MAX_SPINS:
                        # the source holds more of this burst, read from its transport but
                        # not parsed yet: its turn first, so the burst is whole before the
                        # strategies run
                        spins += 1
                        await asyncio.sleep(0)
                        continue
                    await self._burst_step(burst)
                    continue
                else:
                    try:
                        item = await waiting
                    except StopAsyncIteration:
                        break
                    finally:
                        waiting = None
                spins = 0
                if isinstance(item, SlotUpdate):
                    if item.status not in UNEXECUTED_SLOT_STATUSES:
                        self.slot = max(self.slot, item.slot)
                    continue
                if not isinstance(item, AccountUpdate):
                    if isinstance(item, PendingTransaction):
                        self._pending(item)
                    continue
                updates += 1
                meters.updated(item.slot)
                key = item.pubkey
                if self._pending_since and key in self._pending_since:
                    lead = item.received_ns - self._pending_since.pop(key)
                    if lead >= 0:  # the pending transaction came first
                        self.observe(PENDING_LEAD, lead)
                followed = self.book.follows(key)
                if not (followed or self._candidate(key)):
                    self.count("account updates not followed")
                    continue
                if tape_first and followed:
                    if burst.busy and (item.slot != burst.slot or len(burst.taped) >= BURST_MAX):
                        await self._finish_burst(burst)  # a burst is one slot's, and bounded
                    await self._tape_first(item, burst)
                    continue
                await self._finish_burst(burst)  # a possible new pool: what came before it first
                await self.take_update(item)
        finally:
            if waiting is not None:
                waiting.cancel()
            await self._finish_burst(burst)
        self.env.echo(f"{source.name}: stream ended after {updates} account updates")

    def _pending(self, transaction: PendingTransaction) -> None:
        """Count a transaction not executed yet; tell the observers which followed pools it
        is about to move. Never the book, the tape or a burst: only account updates change
        what the scanner holds (a pending transaction may fail, and carries no state)."""
        self.count("pending transactions")
        pools: dict[Pubkey, None] = {}
        since = self._pending_since
        for key in transaction.writable:
            moved = self.book.pools_moved_by(key)
            if moved:
                pools.update(dict.fromkeys(moved))
                if transaction.received_ns and key not in since:
                    since[key] = transaction.received_ns  # the first one's lead is timed
        if not pools:
            return
        while len(since) > PENDING_REMEMBERED:
            del since[next(iter(since))]
        self.count("pending transactions on followed pools")
        self.env.host.call_each(
            "lstarb_on_pending_transaction", transaction=transaction, pools=list(pools)
        )

    async def _snapshot(self, source: DataSource, candidates: list[Pubkey]) -> int:
        """Take the candidates' current states when the source can read them at once.

        Pools first, then the accounts they read, as the book asks for them; the snapshot is
        stamped with the source's ``newest_slot()``. Returns how many accounts it answered for.
        """
        if not candidates:
            return 0
        try:
            snapshot = await self._until_answered(source, lambda: source.fetch(candidates))
        except NotImplementedError:
            return 0  # a streaming-only source: the states arrive once subscribed
        self.slot = max(self.slot, source.newest_slot())  # the slot the snapshot was read at
        for key, account in snapshot.items():
            if account is not None and not self.book.follows(key):
                await self.take(key, account, source=source.name)
        for key, account in snapshot.items():
            if self.book.follows(key):
                await self.take(key, account, source=source.name)
        return len(snapshot)

    def _candidate(self, key: Pubkey) -> bool:
        """Whether an account nobody follows may be a pool to add."""
        return not (self._pools or self._mints) or key in self._wanted_pools

    async def _candidates(self, source: DataSource) -> list[Pubkey]:
        """The accounts that may be pools: configured, discovered, or a recording's own.

        With nothing configured, a source that holds accounts (a recording) offers them all;
        one that holds none (a live node) is searched for the pools between two of the SDK's
        mints of interest (SOL, USDC, USDT, the LSTs).
        """
        mints = self._mints
        known = list(source.known_accounts())
        if not (self._pools or mints) and known:
            self.count("accounts offered", len(known))
            return known
        if not known and type(source).discover is DataSource.discover:
            # it can neither search nor offer accounts (a pending-transaction feed beside an
            # rpc source): it follows the pools the others find, as they find them
            log.info(
                "%s neither searches nor holds accounts: it follows the pools other sources find",
                source.name,
            )
            if self._pools:
                await self._check_named(source)
            return sorted(self._wanted_pools, key=str)
        if not (self._pools or mints):
            mints = list(MINTS_OF_INTEREST)
            self.env.echo(
                f"{source.name}: no pools or mints configured: discovering the pools between "
                f"two of {len(mints)} mints of interest (SOL, USDC, USDT, LSTs)"
            )
        if self._pools:
            await self._check_named(source)
        for cls in self.book.adapter_classes if mints else ():
            filters = cls.discovery_filters(mints)
            if filters:
                self._wanted_pools.update(await self._discover(source, cls, filters, mints))
        return sorted(self._wanted_pools, key=str)

    async def _check_named(self, source: DataSource) -> None:
        """Say which of the pools named in ``[scanner] pools`` the chain does not have."""
        try:
            snapshot = await self._until_answered(source, lambda: source.fetch(self._pools))
        except NotImplementedError:
            return  # a streaming-only source: the pools arrive as updates once subscribed
        for key in self._pools:
            if snapshot.get(key) is None:
                self.env.echo(f"{source.name}: pool {key} (from [scanner] pools): no such account")

    async def _until_answered(self, source: DataSource, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call`` again, with back-off, while the source cannot reach its node.

        Why: a scanner may start before its RPC node does (a Procfile, a reboot); it waits
        for it, as the source's own subscriptions do, instead of exiting. Said once.
        """
        delay = RETRY_FIRST_S
        told = False
        while True:
            try:
                return await call()
            except DataSourceError as exc:
                if self.stopping.is_set():
                    raise
                if not told:
                    told = True
                    self.env.echo(f"{source.name}: {exc}; retrying until it answers")
                self.count("start-up reads retried")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def _discover(
        self,
        source: DataSource,
        cls: type[PoolAdapter],
        filters: Sequence[AccountFilter],
        mints: Sequence[Pubkey],
    ) -> list[Pubkey]:
        """Pools of ``cls`` between two of the mints of interest.

        Through ``DataSource.discover`` (getProgramAccounts), or for a recording that cannot
        search, by running the same filters over the accounts it holds.
        """
        try:
            found = dict(
                await self._until_answered(source, lambda: source.discover(cls.program_id, filters))
            )
        except NotImplementedError:
            known = list(source.known_accounts())
            if not known:
                log.warning("%s cannot discover %s pools by mint", source.name, cls.dex)
                return []
            snapshot = await source.fetch(known)
            found = {
                k: a
                for k, a in snapshot.items()
                if a is not None
                and a.owner == cls.program_id
                and any(f.matches(bytes(a.data)) for f in filters)
            }
        wanted = set(mints)
        kept = []
        for key, account in found.items():
            try:
                if (
                    not cls.matches(account)
                    or not set(cls.from_account(key, account).mints) <= wanted
                ):
                    continue
            except DecodeError:
                continue  # not a pool after all
            except Exception:
                pass  # an adapter bug: the book quarantines the pool, names and counts it
            kept.append(key)
        self.count(f"discovered {cls.dex}", len(kept))
        return kept

    # ------------------------------------------------------------------ one pass per update
    async def take_update(self, update: AccountUpdate) -> None:
        """A streamed update: converted to an ``Account`` once, then :meth:`take`."""
        account = Account(update.lamports, update.data, update.owner, update.executable, 0)
        self.slot = max(self.slot, update.slot)
        await self.take(
            update.pubkey,
            account,
            version=(update.slot, update.write_version),
            source=update.source,
            received_ns=update.received_ns,
            update=update,
        )

    async def take(
        self,
        key: Pubkey,
        account: Account | None,
        *,
        version: Version | None = None,
        source: str = "",
        received_ns: int = 0,
        update: AccountUpdate | None = None,
    ) -> BookChange | None:
        """Give the book one account and publish what it took; follow what it now wants.

        A snapshot (no ``update``) is stamped with the newest slot seen. Returns the book's
        change (None when the book did not take the account: unchanged, older, unwanted).
        """
        self._raise_states_failure()
        slot, write_version = version if version is not None else (self.slot, 0)
        received_ns = received_ns or time.time_ns()
        async with self._lock:  # the tape's order is the book's order, across sources
            t0 = time.perf_counter_ns()
            change = self.book.apply(key, account, (slot, write_version))
            if change is None:
                self.count("account updates unchanged or not followed")
                return None
            self.seq += 1
            t1 = time.perf_counter_ns()
            self.observe("apply update", t1 - t0)
            self._update_latency.observe((t1 - t0) / 1e9)
            if update is not None:
                tape = AccountEvent.from_update(update, seq=self.seq)
            else:
                tape = AccountEvent.from_account(
                    key, account, slot=slot, seq=self.seq, source=source, received_ns=received_ns
                )
            await self._emit_tape(tape)
            stamp = (slot, write_version, source, received_ns)
            await self._states_of(change, stamp)
            self.observe("publish market data", time.perf_counter_ns() - t1)
            if update is not None:
                self.observe(RECEIVED_TO_TAPE, time.time_ns() - received_ns)
            self._note_added(change)
            if change.changed:
                await self._run_strategies(change.changed, slot, received_ns)
            if key in self._account_readers:
                await self._hand_over(key, account, stamp, change.wanted)
        if change.wanted:
            await self._follow(change.wanted)
        return change

    async def _emit_tape(self, event: AccountEvent) -> None:
        """An account on the tape, written to the server now: not left in the bus client's
        buffer until the pool states and strategies that follow it in this turn are done."""
        await self.emit(event)
        self.bus.push()

    async def _states_of(self, change: BookChange, stamp: _Stamp) -> None:
        """The pool states ``change`` moved: now (per_update), or after the burst
        (per_burst); each change's own state, stamped with the account that made it."""
        if self._per_burst:
            self._states_after(change, stamp)
        else:
            await self._publish_held({address: stamp for address in change.ready})

    def _hold_states(self, change: BookChange, stamp: _Stamp, held: dict[Pubkey, _Stamp]) -> None:
        """per_update, in a burst: the pools ``change`` moved, held back with its stamp.

        Why: a pool state is a summary and a probe quote of the pool (about 0.3 ms for an AMM
        V4 pool, with its publish), read by dashboards and ``lstarb explain``; the strategies,
        and in one process the opportunity's plan and signature behind them, waited for it.
        Held until the burst's strategies ran, each change still gets its own state, stamped
        with its own account: a held pool's state is published before the book takes another
        account that can move it (:meth:`_publish_held`, :meth:`PoolBook.pools_moved_by`).
        """
        for address in change.ready:
            held[address] = stamp

    async def _publish_held(
        self, held: dict[Pubkey, _Stamp], only: Collection[Pubkey] | None = None
    ) -> None:
        """The held states (of the pools in ``only``, or all), each with its own stamp."""
        if only is None:
            due = list(held.items())
            held.clear()
        else:
            due = [(address, held.pop(address)) for address in list(held) if address in only]
        for stamp, states in self._states_by_stamp(due).items():
            await self._publish_states(
                self.premiums.due(self.book, states, self.strategies), *stamp
            )

    def _states_by_stamp(
        self, marked: Iterable[tuple[Pubkey, _Stamp]]
    ) -> dict[_Stamp, list[PoolState]]:
        """The book's state of each marked pool, grouped by stamp in the order marked."""
        by_stamp: dict[_Stamp, list[PoolState]] = {}
        for address, stamp in marked:
            state = self.book.state(address)
            if state is not None:
                by_stamp.setdefault(stamp, []).append(state)
        return by_stamp

    def _note_added(self, change: BookChange) -> None:
        """A new pool: counted, and the strategies asked again which pools they watch."""
        if change.added is not None:
            self.pools_by_dex[change.added.dex] += 1
            self._watch_pools()

    async def _hand_over(
        self,
        key: Pubkey,
        account: Account | None,
        stamp: _Stamp,
        wanted: list[Pubkey],
        held: dict[Pubkey, _Stamp] | None = None,
    ) -> None:
        """A strategy's own account to the strategies that read it (what they now want
        added to ``wanted``); the pools of a fair value that moved published again, those
        with a state ``held`` back first with their own stamp."""
        slot, _, _, received_ns = stamp
        wanted.extend(await self._strategy_accounts(key, account, slot, received_ns))
        repriced = list(self.premiums.due(self.book, (), self.strategies))
        if held and repriced:
            await self._publish_held(held, {state.pool.address for state, _ in repriced})
        await self._publish_states(repriced, *stamp)

    # ------------------------------------------------------------------ tape first
    async def _tape_first(self, update: AccountUpdate, burst: _Burst) -> None:
        """Put a followed account's update on the tape now; the book, the pool states and
        the strategies take it afterwards (:meth:`_burst_step`), in tape order.

        Why: a slot's notifications arrive together (the Clock sysvar first, then vaults and
        pools). Taken one by one, the last of them waited for the pool states and the
        strategies of every one before it; now each goes on the tape as it is read. The tape
        still holds exactly what the book is given, in the order given: an update the book
        would not take (older, or the state it holds) is not taped, and an account already
        on the tape but not in the book yet is taken first, so each is judged against the
        book as it will be.
        """
        key = update.pubkey
        if key in burst.keys:
            while burst.taped:
                await self._apply_taped(burst)
        if not burst.locked:
            self._raise_states_failure()
            await self._lock.acquire()  # the tape's order is the book's, across sources
            burst.locked = True
        account = Account(update.lamports, update.data, update.owner, update.executable, 0)
        self.slot = max(self.slot, update.slot)
        version = (update.slot, update.write_version)
        if not self.book.would_take(key, account, version):
            self.book.apply(key, account, version)  # a newer version of the same state
            self.count("account updates unchanged or not followed")
            if not burst.busy:
                await self._end_burst(burst)
            return
        self.seq += 1
        burst.slot = update.slot
        burst.taped.append(_Taped(update, account))
        burst.keys.add(key)
        await self._emit_tape(AccountEvent.from_update(update, seq=self.seq))
        self.observe(RECEIVED_TO_TAPE, time.time_ns() - update.received_ns)

    async def _burst_step(self, burst: _Burst) -> None:
        """One piece of the burst's work: the next taped update into the book (with its pool
        states); once all are in, the strategies' accounts handed over (tape order, so fair
        values are current), then the strategies of one moved pool, the one moved last first.

        Why the strategies run once per burst, on its end state: the tape's readers (the
        planner's and executor's books) are already past the whole burst, so an opportunity
        found on an intermediate state (after the slot's Clock, before its vaults) was stale
        before it was found, and the planner had to evaluate it again; and a pool the burst
        moved twice was searched twice. The pool moved last goes first: the newest news is
        acted on first. An update that arrived while a piece waited is taped, and taken by
        the book, before the strategies that are left run.
        """
        try:
            if burst.taped:
                await self._apply_taped(burst)
            elif burst.read:
                key, account, stamp = burst.read.popleft()
                await self._hand_over(key, account, stamp, burst.wanted, burst.states)
            elif burst.moved:
                address, (slot, received_ns) = burst.moved.popitem()
                await self._run_strategies([address], slot, received_ns)
            else:  # per_update: the states held for the strategies
                await self._publish_held(burst.states)
        except BaseException:
            burst.taped.clear()
            burst.keys.clear()
            burst.read.clear()
            burst.moved.clear()
            burst.states.clear()
            await self._end_burst(burst)
            raise
        if not burst.busy:
            await self._end_burst(burst)

    async def _apply_taped(self, burst: _Burst) -> None:
        taped = burst.taped.popleft()
        update = taped.update
        key, slot, write_version = update.pubkey, update.slot, update.write_version
        burst.keys.discard(key)
        if burst.states:  # a held state this account can move: published first
            await self._publish_held(burst.states, self.book.pools_moved_by(key))
        t0 = time.perf_counter_ns()
        change = self.book.apply(key, taped.account, (slot, write_version))
        if change is None:  # judged takeable when taped; cannot happen
            log.error("account %s was taped but not taken by the book", key)
            return
        t1 = time.perf_counter_ns()
        self.observe("apply update", t1 - t0)
        self._update_latency.observe((t1 - t0) / 1e9)
        stamp = (slot, write_version, update.source, update.received_ns)
        if self._per_burst:
            self._states_after(change, stamp)
        else:
            self._hold_states(change, stamp, burst.states)
        self._note_added(change)
        moved = burst.moved
        for address in change.changed:
            moved.pop(address, None)
            moved[address] = (slot, update.received_ns)
        if key in self._account_readers:
            burst.read.append((key, taped.account, stamp))
        burst.wanted.extend(change.wanted)

    async def _finish_burst(self, burst: _Burst) -> None:
        """Everything the burst still owes, now (before an update that may be a new pool,
        and when the stream ends)."""
        while burst.busy:
            await self._burst_step(burst)

    async def _end_burst(self, burst: _Burst) -> None:
        if burst.locked:
            burst.locked = False
            self._lock.release()
        wanted, burst.wanted = burst.wanted, []
        if wanted:
            await self._follow(list(dict.fromkeys(wanted)))

    def _states_after(self, change: BookChange, stamp: _Stamp) -> None:
        """Mark the pools ``change`` may have moved; their states go out after this burst
        (``[scanner] pool_states = "per_burst"``; the default publishes each change's own
        state as the book takes the account, stamped with it, as issue 12 asks).

        Why not now: a slot's notifications arrive together (the Clock sysvar first, which
        every Clock-reading pool re-summarises on, then vaults and pools), and each one used to
        summarise, probe-quote and publish the pools it touched before the next account could
        go on the tape: the last account of a slot waited for every pool state of the slot.
        Now the tape goes first, account after account, and each pool's state is published
        once the scanner waits for input again (the task runs at the loop's next turn), with
        the stamp of the last account that moved it. A pool state summarises the book for
        dashboards; strategies still run on every update, on the book itself.
        """
        dirty = self._dirty
        for address in change.ready:
            dirty.pop(address, None)  # re-inserted: the order is the order of the last change
            dirty[address] = stamp
        if change.states:  # a book that does not defer: publish with the next burst all the same
            for state in change.states:
                dirty.pop(state.pool.address, None)
                dirty[state.pool.address] = stamp
        if self._states_due is None:
            self._states_due = asyncio.create_task(self._publish_due(), name="pool states")

    async def _publish_due(self) -> None:
        """The states of the pools marked since the last time, one per pool, in the order of
        their last change (see :meth:`_states_after`)."""
        async with self._lock:
            dirty, self._dirty = self._dirty, {}
            self._states_due = None
            by_stamp = self._states_by_stamp(dirty.items())
            if not by_stamp:  # fair values may have moved all the same: their LSTs' pools
                by_stamp[(self.slot, 0, "", time.time_ns())] = []
            try:
                for (slot, write_version, source, received_ns), states in by_stamp.items():
                    await self._publish_states(
                        self.premiums.due(self.book, states, self.strategies),
                        slot,
                        write_version,
                        source,
                        received_ns,
                    )
            except Exception as exc:  # raised by the next take(): a BusError ends the run
                self._states_failed = exc

    async def publish_pending_states(self) -> None:
        """Publish the pool states still due now (at stop, and for callers that take accounts
        one by one and read the stream straight after)."""
        if self._states_due is not None:
            await self._states_due
        self._raise_states_failure()

    def _raise_states_failure(self) -> None:
        """What publishing the last states raised, raised here (as publishing them inline did)."""
        failed, self._states_failed = self._states_failed, None
        if failed is not None:
            raise failed

    async def _publish_states(
        self,
        states: Iterable[tuple[PoolState, PoolFairValue | None]],
        slot: int,
        write_version: int,
        source: str,
        received_ns: int,
    ) -> None:
        """Each pool state that differs from the one last published, on MARKET_DATA."""
        for state, fair in states:
            seen = (state.summary, state.price, state.decimals_a, state.decimals_b, fair)
            if self._published.get(state.pool.address) == seen:
                continue  # an account the summary does not reflect (a far tick array)
            self._published[state.pool.address] = seen
            try:
                event = pool_state_event(
                    state,
                    slot=slot,
                    write_version=write_version,
                    source=source,
                    received_ns=received_ns,
                    fair=fair,
                )
            except ValueError as exc:
                self.count(f"pool states refused: {state.pool.dex}")
                log.error("%s pool %s: bad summary: %s", state.pool.dex, state.pool.address, exc)
                continue
            self.count("pool states")
            await self.emit(event)

    async def _follow(self, wanted: list[Pubkey]) -> None:
        """Subscribe every source to newly wanted accounts; fetch them from one that can."""
        for plugin, source in self.sources:
            try:
                await source.subscribe(wanted)
            except Exception as exc:
                self.source_faults[plugin] += 1
                log.error("data source %s: subscribe failed: %r", source.name, exc)
        for _, source in self.sources:
            try:
                snapshot = await source.fetch(wanted)
            except NotImplementedError:
                continue
            self.slot = max(self.slot, source.newest_slot())
            for key in wanted:
                if key in snapshot:
                    await self.take(key, snapshot[key], source=source.name)
            return

    # ------------------------------------------------------------------ strategies
    def _watch_pools(self) -> None:
        """Ask each strategy which pools it watches (again whenever a pool is added)."""
        for plugin, strategy in self.strategies:
            try:
                self._watched[id(strategy)] = frozenset(strategy.pools_wanted(self.book.pools))
            except Exception as exc:
                self._strategy_fault(plugin, strategy, "pools_wanted", exc)

    def _ask_strategies(self) -> list[Pubkey]:
        """The accounts besides pools strategies read (SDK API 1.1): the book follows them.

        Returns those the book does not hold yet (to subscribe).
        """
        readers: dict[Pubkey, list[tuple[str, Strategy]]] = {}
        for plugin, strategy in self.strategies:
            try:
                keys = list(strategy.accounts_wanted())
            except Exception as exc:
                self._strategy_fault(plugin, strategy, "accounts_wanted", exc)
                keys = [k for k, who in self._account_readers.items() if (plugin, strategy) in who]
            for key in keys:
                readers.setdefault(key, []).append((plugin, strategy))
        self._account_readers = readers
        return self.book.follow(readers)

    async def _strategy_accounts(
        self, key: Pubkey, account: Account | None, slot: int, received_ns: int
    ) -> list[Pubkey]:
        """Hand a new state of a strategy's account to it; returns accounts newly wanted."""
        if self.halted:
            return []
        found = []
        for plugin, strategy in self._account_readers[key]:
            try:
                found.append((plugin, strategy, list(strategy.on_accounts({key: account}, slot))))
            except Exception as exc:
                self._strategy_fault(plugin, strategy, "on_accounts", exc)
        await self._publish_opportunities(found, received_ns)
        return self._ask_strategies()

    async def _run_strategies(self, changed: list[Pubkey], slot: int, received_ns: int) -> None:
        """Every strategy watching a changed pool, once per changed pool."""
        if not self.strategies:
            return
        if self.halted:
            self.count("updates while halted (strategies not run)")
            self._changed_while_halted.update(dict.fromkeys(changed))
            return
        if self._changed_while_halted:
            missed = self._changed_while_halted
            missed.update(dict.fromkeys(changed))
            changed, self._changed_while_halted = list(missed), {}
        t0 = time.perf_counter_ns()
        found = []
        for address in changed:
            pool = self.book.pools.get(address)
            if pool is None:  # quarantined within this pass
                continue
            for plugin, strategy in self.strategies:
                if address not in self._watched.get(id(strategy), ()):
                    continue
                try:
                    opportunities = list(strategy.on_pool_update(pool, self.book.pools, slot))
                except Exception as exc:
                    self._strategy_fault(plugin, strategy, "on_pool_update", exc)
                    continue
                found.append((plugin, strategy, opportunities))
        spent = time.perf_counter_ns() - t0
        self.observe("strategies", spent)
        self._detect_latency.observe(spent / 1e9)
        await self._publish_opportunities(found, received_ns)

    async def _publish_opportunities(
        self, found: list[tuple[str, Strategy, list[Opportunity]]], received_ns: int
    ) -> None:
        """On OPPORTUNITIES (message id: the opportunity's id), written to the server in one
        go, then to the observers.

        Each starts a trace stamped with when the update that set it off was received
        (:meth:`TraceContext.starting_at`): the planner and the executor measure their stage
        of the path from that moment, in any process.
        """
        published: list[tuple[Strategy, Opportunity]] = []
        for plugin, strategy, opportunities in found:
            for opportunity in opportunities:
                try:
                    event = OpportunityEvent.from_opportunity(opportunity)
                except (ValueError, TypeError, AttributeError) as exc:
                    self._strategy_fault(plugin, strategy, "an invalid opportunity", exc)
                    continue
                await self.emit(event, TraceContext.starting_at(received_ns))
                self.observe(RECEIVED_TO_OPPORTUNITY, time.time_ns() - received_ns)
                published.append((strategy, opportunity))
        if not published:
            return
        self.bus.push()  # to the planners now (one write), not after the burst's other pools
        for strategy, opportunity in published:
            self.count("opportunities")
            self.by_strategy[strategy.name] += 1
            metrics.OPPORTUNITIES_DETECTED.labels(strategy=strategy.name).inc()
            self.env.host.call_each("lstarb_on_opportunity", opportunity=opportunity)

    def _strategy_fault(self, plugin: str, strategy: Strategy, call: str, exc: Exception) -> None:
        name = f"{strategy.name} (plugin {plugin})"
        self.strategy_faults[name] += 1
        if self.strategy_faults[name] == 1:
            log.error("strategy %s raised in %s; skipped", name, call, exc_info=exc)
        else:
            log.debug("strategy %s raised in %s again: %r", name, call, exc)

    # ------------------------------------------------------------------ shutdown and report
    async def on_stop(self) -> None:
        await self.publish_pending_states()
        for plugin, source in self.sources:
            await self._close(plugin, source)

    def summary(self) -> list[tuple[str, str]]:
        book = self.book
        pools = ", ".join(f"{d} {n}" for d, n in sorted(self.pools_by_dex.items())) or "none"
        c = self.stats.counters
        skipped = c["account updates unchanged or not followed"]
        rows = [
            ("pools decoded", f"{sum(self.pools_by_dex.values())} ({pools})"),
            ("account updates", f"{self.seq} applied, {skipped} unchanged or not followed"),
            ("pool states", f"{c['pool states']} published (pools that can quote)"),
            ("quotes", f"{c['quotes ok']} ok, {c['quotes refused']} refused (each pool both ways)"),
            ("opportunities", f"{c['opportunities']} from {len(self.strategies)} strategies"),
        ]
        if c["pending transactions"]:  # a source of the block in the making (shredstream)
            rows.append(
                (
                    "pending transactions",
                    f"{c['pending transactions']} seen, "
                    f"{c['pending transactions on followed pools']} writing a followed pool",
                )
            )
        faults = [
            ("strategy faults", self.strategy_faults),
            ("data source faults", self.source_faults),
            ("adapter faults", book.adapter_faults),
        ]
        for label, counter in faults:
            if counter:
                rows.append((label, ", ".join(f"{k} {n}" for k, n in sorted(counter.items()))))
        if book.quarantined:
            rows.append(("pools quarantined", str(len(book.quarantined))))
        return rows
