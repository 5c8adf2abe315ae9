"""The scanner over the bundled real market: the tape, the pool states, strategies and faults.

Real plugin host, real replay source, real adapters; the bus is the in-memory one here (the
JetStream path is covered end to end in tests/e2e and by the tape test on both buses).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.cpmm.pool import CpmmPool
from lstarb_runtime.builtin.replay import ReplaySource, bundled_market, load_market
from lstarb_runtime.bus import EmbeddedNats, MemoryBus, PublishAck
from lstarb_runtime.bus.streams import subject_of
from lstarb_runtime.config import Settings, load_config
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import ServiceState
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.scanner import Scanner
from lstarb_sdk import (
    AccountFilter,
    AccountUpdate,
    DataSource,
    Opportunity,
    PoolAdapter,
    SlotUpdate,
    Strategy,
)
from lstarb_sdk.events import AccountEvent, EventModel, OpportunityEvent, PoolStateEvent
from lstarb_sdk.solana import Mint

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from ..bus.raw_nats import start_subscriber
from .scanning import (
    EveryChange,
    NeverReadyWhirlpool,
    Plugin,
    Raises,
    SummarisedWhirlpool,
    env_for,
    host_with,
    read_stream,
    scan,
)

MARKET = load_market(bundled_market())
WHIRLPOOLS = [k for k, a in MARKET.items() if SummarisedWhirlpool.matches(a)]


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus()
    await bus.ensure_streams()
    yield bus
    await bus.close()


async def test_tape_holds_every_account_the_book_took_in_order(bus: MemoryBus) -> None:
    host = host_with([SummarisedWhirlpool, CpmmPool, NeverReadyWhirlpool])
    scanner = await scan(env_for(bus, host, []))
    assert scanner.state is ServiceState.STOPPED
    events = [d.event for d in await read_stream(bus, "MARKET_DATA", "check")]
    tape = [e for e in events if isinstance(e, AccountEvent)]
    assert [e.seq for e in tape] == list(range(1, scanner.seq + 1))
    assert {e.pubkey for e in tape} == set(scanner.book.accounts)
    last = {e.pubkey: e for e in tape}  # the last state of each account is the book's
    for key, event in last.items():
        held = scanner.book.accounts[key]
        assert held is not None and event.exists
        assert (event.lamports, event.owner, event.data) == (held.lamports, held.owner, held.data)
    assert len(scanner.book.pools) == len(WHIRLPOOLS) + 1  # and the CPMM pool
    assert scanner.stats.published["MARKET_DATA"] == len(events)
    assert bus.stats["MARKET_DATA"].acked == len(events) and bus.stats["MARKET_DATA"].pending == 0


class NotReadyCpmm(CpmmPool):
    """A real CPMM pool whose summary says it cannot quote yet: it must not be published."""

    def summary(self) -> None:
        return None


async def test_pool_states_are_true_and_only_for_pools_that_can_quote(bus: MemoryBus) -> None:
    host = host_with([SummarisedWhirlpool, NotReadyCpmm])
    scanner = await scan(env_for(bus, host, []))
    events = [d.event for d in await read_stream(bus, "MARKET_DATA", "check")]
    states = [e for e in events if isinstance(e, PoolStateEvent)]
    whirlpools = {a for a, p in scanner.book.pools.items() if isinstance(p, SummarisedWhirlpool)}
    assert len(whirlpools) == len(WHIRLPOOLS) and len(scanner.book.pools) == len(WHIRLPOOLS) + 1
    assert {e.pool for e in states} == whirlpools
    for event in states:
        pool = scanner.book.pools[event.pool]
        summary = pool.summary()
        assert summary is not None
        decimals = [Mint.decode(bytes(MARKET[m].data)).decimals for m in pool.mints]
        assert (event.decimals_a, event.decimals_b) == tuple(decimals)
        assert event.liquidity == float(summary.liquidity) and event.fee_ppm == summary.fee_ppm
        quote = pool.quote(10 ** decimals[0], pool.mints[0])
        assert event.price == quote.out_amount / quote.in_amount
        assert event.price_human == pytest.approx(event.price * 10 ** (decimals[0] - decimals[1]))
        assert event.mint_a == pool.mints[0] and event.slot > 0
    # a JitoSOL or mSOL pool against SOL: about 1.1 to 1.4 SOL per LST, in whole tokens
    assert all(0.5 < e.price_human < 2 or 0.5 < 1 / e.price_human < 2 for e in states)


def _bursts(mode: str) -> Settings:
    return Settings.model_validate({"scanner": {"pool_states": mode}})


async def test_a_burst_goes_on_the_tape_first_and_each_pool_state_once(bus: MemoryBus) -> None:
    """per_burst: updates taken back to back (a slot's notifications): every account on the
    tape in turn, then the state of each pool they moved, once, stamped with the last account
    that moved it."""
    scanner = await scan(env_for(bus, host_with([CpmmPool]), [], _bursts("per_burst")))
    [(address, pool)] = scanner.book.pools.items()
    seen = len(await read_stream(bus, "MARKET_DATA", "before"))
    vaults = [k for k in pool.accounts_to_update() if len(scanner.book.accounts[k].data) == 165]  # type: ignore[union-attr]
    assert len(vaults) == 2
    slot = scanner.slot + 1
    for n, key in enumerate(vaults, 1):  # both reserves grow: two changes of one pool
        held = scanner.book.accounts[key]
        assert held is not None
        data = bytearray(held.data)
        data[64:72] = (int.from_bytes(data[64:72], "little") + 1000 * n).to_bytes(8, "little")
        bumped = Account(held.lamports, bytes(data), held.owner, held.executable, 0)
        assert await scanner.take(key, bumped, version=(slot, n), source="test") is not None
    await scanner.publish_pending_states()
    new = [d.event for d in await read_stream(bus, "MARKET_DATA", "after")][seen:]
    assert [type(e) for e in new] == [AccountEvent, AccountEvent, PoolStateEvent]
    assert [e.pubkey for e in new[:2]] == vaults  # type: ignore[union-attr]
    state = new[2]
    assert isinstance(state, PoolStateEvent) and state.pool == address
    assert (state.slot, state.write_version, state.source) == (slot, 2, "test")
    summary = pool.summary()
    assert summary is not None and (state.reserve_a, state.reserve_b) == (
        summary.reserve_a,
        summary.reserve_b,
    )


class BurstSource(ReplaySource):
    """Replays the market, then, in one burst (back to back, nothing waited for between
    them), both vaults of the CPMM pool grow: the way a slot's notifications arrive."""

    name = "burst"

    def __init__(self, slots: int = 1) -> None:
        super().__init__(MARKET)
        self.burst: list[Pubkey] = []
        self.slots = slots
        """1: both changes in one slot; 2: one change a slot, still read back to back."""

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        async for update in super().stream():
            yield update
        await asyncio.sleep(0)  # the replay's burst ends here
        for update in self.burst_updates():
            yield update
        await asyncio.sleep(0)

    def burst_updates(self) -> list[AccountUpdate]:
        pool = next(k for k, a in MARKET.items() if CpmmPool.matches(a))
        adapter = CpmmPool.from_account(pool, MARKET[pool])
        reads = adapter.accounts_to_update()
        self.burst = [k for k in reads if k in MARKET and len(MARKET[k].data) == 165]
        updates = []
        for n, key in enumerate(self.burst, 1):
            data = bytearray(MARKET[key].data)
            data[64:72] = (int.from_bytes(data[64:72], "little") + 10**9 * n).to_bytes(8, "little")
            bumped = Account(MARKET[key].lamports, bytes(data), MARKET[key].owner, False, 0)
            slot = self.slot + (1 if self.slots == 1 else n)
            updates.append(self._update(key, bumped, slot, n))
        return updates


class TrickleSource(BurstSource):
    """The same burst, handed over a message at a time with a turn of the loop between
    (the rpc source's way: each notification on the tape before the next is parsed).
    ``says``: whether :meth:`more_arrived` tells the scanner the rest has arrived."""

    name = "trickle"

    def __init__(self, says: bool) -> None:
        super().__init__()
        self.says = says
        self.holding = False

    def more_arrived(self) -> bool:
        return self.says and self.holding

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        async for update in ReplaySource.stream(self):
            yield update
        await asyncio.sleep(0)  # the replay's burst ends here
        updates = self.burst_updates()
        for n, update in enumerate(updates, 1):
            self.holding = n < len(updates)
            yield update
            await asyncio.sleep(0)  # reading the next one (or nothing more has come)
        await self.after_burst()

    async def after_burst(self) -> None:
        await asyncio.sleep(0)


class Reserves(Strategy):
    """Writes down, for each pool it is told of in the burst's slot, the reserves it sees."""

    name = "reserves"

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        summary = changed.summary()
        if summary is not None and slot > MARKET_SLOT:
            self.seen.append((summary.reserve_a, summary.reserve_b))
        return ()


MARKET_SLOT = ReplaySource(MARKET).slot


def _cpmm_with(source: DataSource, strategy: Strategy) -> PluginHost:
    """The CPMM adapter, ``source`` the only data source and ``strategy`` the only strategy."""
    host = PluginHost()
    host.register_object(
        "plugins",
        Plugin(
            lstarb_dex_adapters=lambda: [CpmmPool],
            lstarb_data_sources=lambda context: [source],
            lstarb_strategies=lambda context: [strategy],
        ),
    )
    return host


@pytest.mark.parametrize("tape_first", [True, False])
async def test_a_burst_is_taped_first_and_the_strategies_see_its_end_state_once(
    bus: MemoryBus, tape_first: bool
) -> None:
    """tape_first (the default): the burst's accounts go on the tape back to back, then each
    one's pool state, then the strategies, once, on the book after the whole burst. Off: each
    account is taped, its state published and the strategies run before the next."""
    source, told = BurstSource(), Reserves()
    host = _cpmm_with(source, told)
    settings = Settings.model_validate({"scanner": {"tape_first": tape_first}})
    scanner = await scan(env_for(bus, host, [], settings))
    events = [d.event for d in await read_stream(bus, "MARKET_DATA", "all")]
    burst = [
        e
        for e in events
        if getattr(e, "slot", 0) == MARKET_SLOT + 1 and isinstance(e, AccountEvent | PoolStateEvent)
    ]
    kinds = [type(e) for e in burst]
    if tape_first:
        assert kinds == [AccountEvent, AccountEvent, PoolStateEvent, PoolStateEvent]
    else:
        assert kinds == [AccountEvent, PoolStateEvent, AccountEvent, PoolStateEvent]
    taped = [e for e in burst if isinstance(e, AccountEvent)]
    assert [e.pubkey for e in taped] == source.burst
    states = [e for e in burst if isinstance(e, PoolStateEvent)]
    assert [s.write_version for s in states] == [1, 2]  # each change has its own state
    final = scanner.book.state(states[-1].pool)
    assert final is not None
    end = (final.summary.reserve_a, final.summary.reserve_b)
    assert (states[-1].reserve_a, states[-1].reserve_b) == end
    if tape_first:
        assert told.seen == [end]  # once, on the end state
    else:
        assert len(told.seen) == 2 and told.seen[-1] == end and told.seen[0] != end


class PublishLog(MemoryBus):
    """Writes down the kind of every event published, in order (strategies add their calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def publish(self, event: EventModel, **kwargs: Any) -> PublishAck:
        self.log.append(type(event).__name__)
        return await super().publish(event, **kwargs)


class Logged(Reserves):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        if slot > MARKET_SLOT:
            self.log.append("strategies")
        return super().on_pool_update(changed, pools, slot)


async def test_per_update_states_of_a_burst_wait_for_its_strategies_but_keep_their_own_stamp() -> (
    None
):
    """per_update (the default), in a burst: a pool's state is computed and published only
    once another account of the burst is about to move that pool again, or once the burst's
    strategies have run. The strategies (and the opportunity, plan and signature behind them,
    in one process) do not wait for summaries and probe quotes that only dashboards read; each
    change still has its own state, stamped with its own account."""
    bus = PublishLog()
    await bus.ensure_streams()
    source = BurstSource()
    told = Logged(bus.log)
    scanner = await scan(env_for(bus, _cpmm_with(source, told), []))
    start = bus.log.index("AccountEvent", len(bus.log) - 6)
    # the two vaults of one pool: its first change's state before the second is applied,
    # the second's after the strategies
    assert bus.log[start:] == [
        "AccountEvent",
        "AccountEvent",
        "PoolStateEvent",
        "strategies",
        "PoolStateEvent",
    ]
    events = [d.event for d in await read_stream(bus, "MARKET_DATA", "all")]
    states = [e for e in events if isinstance(e, PoolStateEvent) and e.slot == MARKET_SLOT + 1]
    assert [s.write_version for s in states] == [1, 2]
    [address] = scanner.book.pools
    first, final = states[0], scanner.book.state(address)
    assert final is not None
    assert (states[1].reserve_a, states[1].reserve_b) == (
        final.summary.reserve_a,
        final.summary.reserve_b,
    )
    # the first state is the pool after the first vault alone: one reserve moved
    held = {s.reserve_a for s in states} | {s.reserve_b for s in states}
    assert (first.reserve_a, first.reserve_b) != (states[1].reserve_a, states[1].reserve_b)
    assert first.reserve_a in held and first.reserve_b in held
    assert told.seen == [(final.summary.reserve_a, final.summary.reserve_b)]


async def test_a_burst_is_one_slot_so_a_fast_replay_is_evaluated_slot_by_slot(
    bus: MemoryBus,
) -> None:
    """Read back to back but of two slots (a recording replayed as fast as it reads), the
    two changes are two bursts: the strategies see the state after each slot."""
    source, told = BurstSource(slots=2), Reserves()
    host = _cpmm_with(source, told)
    scanner = await scan(env_for(bus, host, []))
    [pool] = scanner.book.pools
    final = scanner.book.state(pool)
    assert final is not None
    assert len(told.seen) == 2 and told.seen[0] != told.seen[1]
    assert told.seen[1] == (final.summary.reserve_a, final.summary.reserve_b)


@pytest.mark.parametrize("says", [True, False])
async def test_a_source_that_says_more_has_arrived_keeps_its_burst_whole(
    bus: MemoryBus, says: bool
) -> None:
    """A burst handed over a message at a time: while the source says more has arrived, the
    scanner gives it turns and the strategies see the burst's end state once. A source that
    does not say so (the control) looks finished after its first message: the strategies
    run on the half-moved pool, then again."""
    source, told = TrickleSource(says), Reserves()
    scanner = await scan(env_for(bus, _cpmm_with(source, told), []))
    [pool] = scanner.book.pools
    final = scanner.book.state(pool)
    assert final is not None
    end = (final.summary.reserve_a, final.summary.reserve_b)
    if says:
        assert told.seen == [end]
    else:
        assert len(told.seen) == 2 and told.seen[0] != end and told.seen[1] == end


class ClaimsMoreForever(TrickleSource):
    """Says more has arrived, always; after its burst sends nothing until released (a
    message whose second frame never comes)."""

    def __init__(self) -> None:
        super().__init__(says=True)
        self.release = asyncio.Event()

    def more_arrived(self) -> bool:
        return True

    async def after_burst(self) -> None:
        await self.release.wait()


class Releases(Reserves):
    def __init__(self, source: ClaimsMoreForever) -> None:
        super().__init__()
        self.source = source

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        found = super().on_pool_update(changed, pools, slot)
        if self.seen:
            self.source.release.set()
        return found


async def test_a_source_that_always_says_more_does_not_hold_the_strategies(
    bus: MemoryBus,
) -> None:
    """The turns given to a source that says more has arrived are bounded: the strategies
    run on the burst (and release the source) though the source still claims more."""
    source = ClaimsMoreForever()
    told = Releases(source)
    scanner = await asyncio.wait_for(scan(env_for(bus, _cpmm_with(source, told), [])), 10)
    [pool] = scanner.book.pools
    final = scanner.book.state(pool)
    assert final is not None
    assert told.seen == [(final.summary.reserve_a, final.summary.reserve_b)]


class MovingVault(ReplaySource):
    """Replays the market, then moves one CPMM vault slot after slot, a few updates a slot
    read back to back, giving the loop a turn between slots (another source's turn)."""

    def __init__(self, name: str, which: int) -> None:
        super().__init__(MARKET)
        self.name = name
        self.which = which

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        async for update in super().stream():
            yield update
        pool = next(k for k, a in MARKET.items() if CpmmPool.matches(a))
        reads = CpmmPool.from_account(pool, MARKET[pool]).accounts_to_update()
        key = [k for k in reads if k in MARKET and len(MARKET[k].data) == 165][self.which]
        data = bytearray(MARKET[key].data)
        for slot in range(self.slot + 1, self.slot + 6):
            await asyncio.sleep(0)
            for n in range(1, 4):
                amount = int.from_bytes(data[64:72], "little") + 10**6 * (self.which + 1)
                data[64:72] = amount.to_bytes(8, "little")
                moved = Account(MARKET[key].lamports, bytes(data), MARKET[key].owner, False, 0)
                yield self._update(key, moved, slot, n)


async def test_two_sources_bursts_keep_the_tape_in_the_books_order(bus: MemoryBus) -> None:
    """Two sources' bursts interleave; the tape is still exactly what the book took, in the
    order it took it: numbered without a gap, each account's versions rising, and a book
    rebuilt from the tape alone equal to the scanner's."""
    sources: list[DataSource] = [MovingVault("a", 0), MovingVault("b", 1)]
    host = host_with([CpmmPool], ("sources", Plugin(lstarb_data_sources=lambda context: sources)))
    scanner = await scan(env_for(bus, host, []))
    tape = [
        e
        for e in (d.event for d in await read_stream(bus, "MARKET_DATA", "all"))
        if isinstance(e, AccountEvent)
    ]
    assert [e.seq for e in tape] == list(range(1, scanner.seq + 1))
    moved = [e for e in tape if e.slot > MARKET_SLOT]
    assert {e.source for e in moved} == {"a", "b"} and len(moved) == 2 * 5 * 3
    switches = sum(x.source != y.source for x, y in itertools.pairwise(moved))
    assert switches >= 3  # the two sources' bursts did interleave
    seen: dict[Pubkey, tuple[int, int]] = {}
    for e in moved:
        version = (e.slot, e.write_version)
        assert version > seen.get(e.pubkey, (0, 0))
        seen[e.pubkey] = version
    rebuilt = PoolBook([CpmmPool], keep_unwanted=True, states=False)
    for e in sorted(tape, key=lambda e: e.seq):
        rebuilt.apply(e.pubkey, e.account(), (e.slot, e.write_version))

    def held(book: PoolBook) -> dict[Pubkey, tuple[int, Pubkey, bytes] | None]:
        return {
            k: None if a is None else (a.lamports, a.owner, bytes(a.data))
            for k, a in book.accounts.items()
        }

    assert held(rebuilt) == held(scanner.book)
    for key, version in seen.items():  # (a same state seen again moves no version on the tape)
        assert rebuilt.versions[key] == scanner.book.versions[key] == version
    [(address, pool)] = scanner.book.pools.items()
    assert pool.quote(10**9, pool.mints[0]) == rebuilt.pools[address].quote(10**9, pool.mints[0])


async def test_by_default_each_change_has_its_state_before_the_next_account(
    bus: MemoryBus,
) -> None:
    """per_update (the default), update by update (``take``): within one notification, the
    pool's state follows the account that moved it, stamped with that account, before the
    next account goes on."""
    scanner = await scan(env_for(bus, host_with([CpmmPool]), []))
    [(address, pool)] = scanner.book.pools.items()
    seen = len(await read_stream(bus, "MARKET_DATA", "before"))
    vaults = [k for k in pool.accounts_to_update() if len(scanner.book.accounts[k].data) == 165]  # type: ignore[union-attr]
    slot = scanner.slot + 1
    for n, key in enumerate(vaults, 1):
        held = scanner.book.accounts[key]
        assert held is not None
        data = bytearray(held.data)
        data[64:72] = (int.from_bytes(data[64:72], "little") + 1000 * n).to_bytes(8, "little")
        bumped = Account(held.lamports, bytes(data), held.owner, held.executable, 0)
        assert await scanner.take(key, bumped, version=(slot, n), source="test") is not None
    new = [d.event for d in await read_stream(bus, "MARKET_DATA", "after")][seen:]
    assert [type(e) for e in new] == [AccountEvent, PoolStateEvent] * 2
    for n, (account, state) in enumerate(zip(new[::2], new[1::2], strict=True), 1):
        assert isinstance(account, AccountEvent) and isinstance(state, PoolStateEvent)
        assert account.pubkey == vaults[n - 1] and state.pool == address
        assert (state.slot, state.write_version) == (slot, n)


async def test_strategies_publish_opportunities_and_observers_see_them(bus: MemoryBus) -> None:
    seen: list[Opportunity] = []
    EveryChange.calls = 0
    host = host_with(
        [SummarisedWhirlpool],
        ("strategic", Plugin(lstarb_strategies=lambda context: [EveryChange(), Raises()])),
        ("watcher", Plugin(lstarb_on_opportunity=lambda opportunity: seen.append(opportunity))),
    )
    scanner = await scan(env_for(bus, host, []))
    deliveries = await read_stream(bus, "OPPORTUNITIES", "check")
    published = [d.event for d in deliveries]
    assert published and all(isinstance(e, OpportunityEvent) for e in published)
    assert all(o.slot > 0 for o in seen)
    unique = list(dict.fromkeys(o.id for o in seen))  # the same state twice: stored once
    assert [e.id for e in published] == unique  # type: ignore[union-attr]
    assert [d.msg_id for d in deliveries] == [f"OPPORTUNITIES:{i}" for i in unique]
    assert scanner.stats.counters["opportunities"] == len(seen)
    calls = EveryChange.calls
    assert calls >= len(seen)  # once per changed pool; some could not quote yet
    assert scanner.strategy_faults == {"raises (plugin strategic)": calls}
    rows = dict(scanner.summary())
    assert rows["strategy faults"] == f"raises (plugin strategic) {calls}"

    # a second scanner over the same market: the same opportunities, stored once
    acked, duplicates = bus.stats["OPPORTUNITIES"].acked, bus.stats["OPPORTUNITIES"].duplicates
    again = await scan(env_for(bus, host, []))
    sent = again.stats.published["OPPORTUNITIES"]
    assert sent == len(seen) // 2
    counts = bus.stats["OPPORTUNITIES"]
    assert counts.acked - acked == counts.duplicates - duplicates == sent


async def test_halted_scanner_keeps_the_tape_but_runs_no_strategy(bus: MemoryBus) -> None:
    host = host_with(
        [SummarisedWhirlpool],
        ("strategic", Plugin(lstarb_strategies=lambda context: [EveryChange()])),
    )
    env = env_for(bus, host, [])
    env.halt.set(True, "test")
    scanner = await scan(env)
    assert scanner.stats.published["MARKET_DATA"] > 0
    assert "OPPORTUNITIES" not in scanner.stats.published
    assert scanner.stats.counters["updates while halted (strategies not run)"] > 0


class Told(Strategy):
    """Writes down each pool it is told changed (and reports nothing)."""

    name = "told"

    def __init__(self) -> None:
        self.told: set[Pubkey] = set()

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        self.told.add(changed.address)
        return ()


class ResumingSource(ReplaySource):
    """Replays the market (the scanner takes it as its first snapshot); then the kill switch is
    lifted and one pool account changes (a byte of its tail)."""

    name = "resuming"

    def __init__(self, halt: HaltSwitch) -> None:
        super().__init__(MARKET)
        self.halt = halt

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        async for update in super().stream():
            yield update
        self.halt.set(False, "test: resumed")
        key = WHIRLPOOLS[0]
        data = bytes(MARKET[key].data)
        changed = Account(
            MARKET[key].lamports, data[:-1] + bytes([data[-1] ^ 1]), MARKET[key].owner, False, 0
        )
        yield self._update(key, changed, self.slot + 1, 1)


async def test_strategies_are_told_after_a_halt_of_the_pools_that_changed_during_it(
    bus: MemoryBus,
) -> None:
    """A strategy keeps state that follows each pool's changes (fair values, kept quotes):
    the changes it missed while halted reach it with the first update after."""

    async def run(halted: bool) -> tuple[Told, Scanner]:
        told = Told()
        host = PluginHost()  # the resuming replay the only source
        host.register_object("dex", Plugin(lstarb_dex_adapters=lambda: [SummarisedWhirlpool]))
        env = env_for(bus, host, [])
        source = ResumingSource(env.halt)
        host.register_object(
            "plugins",
            Plugin(
                lstarb_strategies=lambda context: [told],
                lstarb_data_sources=lambda context: [source],
            ),
        )
        env.halt.set(halted, "test")
        return told, await scan(env)

    everything, _ = await run(False)
    assert len(everything.told) == len(WHIRLPOOLS)
    told, scanner = await run(True)  # the snapshot taken while halted; one change after
    assert scanner.stats.counters["updates while halted (strategies not run)"] > 0
    assert told.told == everything.told


class BrokenSource(ReplaySource):
    """Replays a few real updates, then fails the way a dropped websocket does."""

    name = "broken"

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        n = 0
        async for update in super().stream():
            yield update
            n += 1
            if n == 3:
                raise ConnectionResetError("peer went away")


async def test_failing_source_is_named_and_counted_and_the_other_finishes(bus: MemoryBus) -> None:
    sources: list[DataSource] = [BrokenSource(MARKET), ReplaySource(MARKET)]
    host = host_with(
        [SummarisedWhirlpool], ("sources", Plugin(lstarb_data_sources=lambda context: sources))
    )
    lines: list[str] = []
    scanner = await scan(env_for(bus, host, lines))
    assert scanner.source_faults == {"sources": 1}
    assert any(
        "data source broken (plugin sources) stopped" in x and "peer went away" in x for x in lines
    )
    assert any(x.startswith("replay: stream ended after") for x in lines), lines
    assert len(scanner.book.pools) == len(WHIRLPOOLS)
    assert scanner.state is ServiceState.STOPPED
    assert scanner.degradations and "broken" in scanner.degradations[0]


async def test_named_pools_only(bus: MemoryBus) -> None:
    host = host_with([SummarisedWhirlpool, CpmmPool])
    whirlpool = next(k for k, a in MARKET.items() if SummarisedWhirlpool.matches(a))
    settings = Settings.model_validate({"scanner": {"pools": [str(whirlpool)]}})
    scanner = await scan(env_for(bus, host, [], settings))
    assert list(scanner.book.pools) == [whirlpool]


class DiscoverableWhirlpool(SummarisedWhirlpool):
    """Whirlpools found by their mints: token_mint_a at byte 101, token_mint_b at 181."""

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        return [AccountFilter(653, ((offset, bytes(m)),)) for m in mints for offset in (101, 181)]


JITOSOL = "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"
SOL = "So11111111111111111111111111111111111111112"


async def test_pools_of_the_mints_of_interest_are_discovered(bus: MemoryBus) -> None:
    host = host_with([DiscoverableWhirlpool, CpmmPool])
    settings = Settings.model_validate({"scanner": {"mints": [SOL, JITOSOL]}})
    scanner = await scan(env_for(bus, host, [], settings))
    [pool] = scanner.book.pools.values()  # the JitoSOL/SOL pool, not the mSOL one
    assert {str(m) for m in pool.mints} == {SOL, JITOSOL}
    assert scanner.stats.counters["discovered summarised-whirlpool"] == 1


def test_example_config_is_valid_and_names_real_pools() -> None:
    path = Path(__file__).parents[2] / "examples" / "configs" / "follow-lst-pools.toml"
    settings = load_config(path).settings
    assert settings.scanner.pools and settings.scanner.mints
    assert all(Pubkey.from_string(p) in MARKET for p in settings.scanner.pools)


async def test_no_pools_in_the_data_is_nothing_to_do(bus: MemoryBus, tmp_path: Path) -> None:
    host = host_with(
        [SummarisedWhirlpool],
        ("sources", Plugin(lstarb_data_sources=lambda context: [ReplaySource({})])),
    )
    scanner = await scan(env_for(bus, host, []))
    assert scanner.state is ServiceState.FAULTED
    assert "no pools found in replay" in scanner.reason


async def test_stop_while_a_source_waits_ends_the_run_quietly(bus: MemoryBus) -> None:
    class Idle(ReplaySource):
        """Plays the market, then waits for news that never comes, like a quiet websocket."""

        async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
            async for update in super().stream():
                if isinstance(update, AccountUpdate):
                    yield update
            await self.closed.wait()

        async def close(self) -> None:
            self.closed.set()

    idle = Idle(MARKET)
    idle.closed = asyncio.Event()  # type: ignore[attr-defined]
    host = host_with(
        [SummarisedWhirlpool], ("idle", Plugin(lstarb_data_sources=lambda context: [idle]))
    )
    from lstarb_runtime.services.scanner import Scanner

    scanner = Scanner(env_for(bus, host, []))
    await scanner.start()
    running = asyncio.create_task(scanner.run())
    while scanner.stats.published.get("MARKET_DATA") is None:
        await asyncio.sleep(0.01)
    assert not scanner.env.market_stopped.is_set()  # the source is still open
    await scanner.stop(grace=2)
    await asyncio.wait_for(running, 2)
    assert scanner.state is ServiceState.STOPPED and len(scanner.book.pools) == len(WHIRLPOOLS)
    # the executor beside it decides its waiting paper trades now (no later slot will come)
    assert scanner.env.market_stopped.is_set()


class ReadsAnAccount(EveryChange):
    """Reads an account no pool of the test market reads (a mint), as an LST pricer reads a
    stake pool's state: the scanner follows it, tapes it and hands it over."""

    name = "reads-an-account"

    def __init__(self, key: Pubkey) -> None:
        self.key = key
        self.given: list[tuple[Pubkey, object]] = []

    def accounts_wanted(self) -> Sequence[Pubkey]:
        return [self.key]

    def on_accounts(
        self, accounts: Mapping[Pubkey, Account | None], slot: int
    ) -> Sequence[Opportunity]:
        self.given.extend(accounts.items())
        return []


async def test_accounts_a_strategy_reads_are_followed_taped_and_handed_over(
    bus: MemoryBus,
) -> None:
    jitosol = Pubkey.from_string(JITOSOL)  # in the recording; no CPMM pool reads it
    strategy = ReadsAnAccount(jitosol)
    host = host_with(
        [CpmmPool], ("strategic", Plugin(lstarb_strategies=lambda context: [strategy]))
    )
    scanner = await scan(env_for(bus, host, []))
    assert [k for k, _ in strategy.given] == [jitosol]
    assert strategy.given[0][1] is not None
    tape = [d.event for d in await read_stream(bus, "MARKET_DATA", "check")]
    assert jitosol in {e.pubkey for e in tape if isinstance(e, AccountEvent)}
    assert scanner.book.follows(jitosol)


async def test_the_scanner_records_its_metrics(bus: MemoryBus) -> None:
    from lstarb_runtime import metrics

    def sample(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    published = {"stream": "MARKET_DATA", "type": "AccountEvent"}
    before = sample("events_published_total", **published)
    updates_before = sample("lstarb_data_source_updates_total", source="replay")
    applied_before = sample("lstarb_stage_latency_seconds_count", stage="update")
    scanner = await scan(env_for(bus, host_with([SummarisedWhirlpool]), []))
    tape = scanner.seq
    assert sample("events_published_total", **published) - before == tape
    assert sample("lstarb_stage_latency_seconds_count", stage="update") - applied_before == tape
    assert sample("lstarb_data_source_updates_total", source="replay") > updates_before
    assert sample("lstarb_service_state", service="scanner", lstarb_service_state="stopped") == 1


async def test_the_tape_and_an_opportunity_are_written_before_the_rest_of_the_burst(
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    """On JetStream, a burst's account events are on the server before its strategies run,
    and each opportunity before the scanner goes on. The strategy, then an observer of the
    opportunity, block the event loop and look from outside it (plain-socket subscribers in
    threads): the NATS client's own flusher cannot have run since the burst began, so only
    what the scanner pushed is there."""
    bus = await fresh_jetstream_bus(nats_server.url)
    source = BurstSource()
    vaults = [
        await asyncio.to_thread(
            start_subscriber, nats_server.url, subject_of(AccountEvent.from_update(u, seq=1))
        )
        for u in BurstSource().burst_updates()
    ]
    found = await asyncio.to_thread(start_subscriber, nats_server.url, "opp.>")
    taped: list[list[int]] = []  # when the strategies run on the burst
    unwritten: list[int] = []  # when the burst's first opportunity is observed
    observed = 0

    class Looks(EveryChange):
        def on_pool_update(
            self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
        ) -> Sequence[Opportunity]:
            if slot > MARKET_SLOT and not taped:
                time.sleep(0.3)  # the loop is held here
                taped.append([v.qsize() for v in vaults])
            return super().on_pool_update(changed, pools, slot)

    def observe(opportunity: Opportunity) -> None:
        nonlocal observed
        observed += 1
        if opportunity.slot > MARKET_SLOT and not unwritten:
            time.sleep(0.3)
            unwritten.append(observed - found.qsize())

    host = _cpmm_with(source, Looks())
    host.register_object("observer", Plugin(lstarb_on_opportunity=observe))
    try:
        await scan(env_for(bus, host, []))
    finally:
        await bus.close()
    assert len(vaults) == 2
    assert taped == [[2, 2]]  # each vault: the replayed market's state, then the burst's
    assert unwritten == [0]  # every opportunity observed so far, this one too, is on the server
