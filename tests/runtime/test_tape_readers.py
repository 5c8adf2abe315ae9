"""Readers of the MARKET_DATA tape compute no pool states, and still end with the scanner's book.

A pool state (a summary and a probe quote of every pool an account changed) is what the
scanner publishes; the readers (a rebuild, a following tape, the planner's market) quote
and check pools on the book itself. Counted through the real DLMM adapter: the scanner asks
its pools for summaries and quotes, a reader's book asks none while it applies the tape.
"""

from __future__ import annotations

import asyncio

from lstarb_runtime.bus import MemoryBus
from lstarb_runtime.config import Settings
from lstarb_runtime.planner.parts import assemble
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.planner import MarketTape
from lstarb_runtime.tape import Tape, rebuild_book
from lstarb_sdk import PluginContext

from .scanning import CountedDlmm, asked, counted_pools, env_for, host_with, scan
from .test_tape import assert_same_book


async def _scanned(bus: MemoryBus) -> tuple[int, PoolBook]:
    """The bundled market scanned onto ``bus`` by a scanner with the counted DLMM adapter:
    (tape events, its book), after checking that it computed states (the count works)."""
    scanner = await scan(env_for(bus, host_with([CountedDlmm]), []))
    assert counted_pools(scanner.book) >= 2
    assert asked(scanner.book)["summary"] > 0  # its pool states, as published
    return scanner.seq, scanner.book


async def test_a_rebuilt_book_computes_no_pool_states() -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    _, scanned = await _scanned(bus)
    rebuilt = await rebuild_book(bus, host_with([CountedDlmm]))
    assert counted_pools(rebuilt) == counted_pools(scanned)
    assert asked(rebuilt) == {}
    assert assert_same_book(scanned, rebuilt) > 0  # asks its own quotes, after the count
    await bus.close()


async def test_a_following_tape_computes_no_pool_states() -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    host = host_with([CountedDlmm])
    tape = Tape(bus, PoolBook.for_tape(host))
    await tape.start()
    events, scanned = await _scanned(bus)
    for _ in range(200):
        if tape.read == events:
            break
        await asyncio.sleep(0.01)
    await tape.stop()
    assert tape.read == events and counted_pools(tape.book) == counted_pools(scanned)
    assert asked(tape.book) == {}
    assert assert_same_book(scanned, tape.book) > 0
    await bus.close()


async def test_the_planners_market_computes_no_pool_states() -> None:
    """The planner's tape, as its service assembles it: the book, fair values, funding."""
    bus = MemoryBus()
    await bus.ensure_streams()
    events, scanned = await _scanned(bus)
    host = host_with([CountedDlmm])
    parts = assemble(host, PluginContext(paper=True), Settings(), recent_fees=False)
    tape = MarketTape(bus, parts.market)
    await tape.start()
    await tape.stop()
    book = parts.market.book
    assert tape.read == events and parts.market.slot > 0
    assert counted_pools(book) == counted_pools(scanned)
    assert asked(book) == {}
    assert assert_same_book(scanned, book) > 0
    await bus.close()
