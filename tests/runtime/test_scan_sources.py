"""Data sources are plugin code too: one that fails is named and counted, the others go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.app import RunSummary, _guarded_scan
from lstarb_runtime.builtin.replay import ReplaySource, bundled_market, load_market
from lstarb_runtime.bus import MemoryBus
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import AccountUpdate, SlotUpdate

MARKET = load_market(bundled_market())


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


async def _scan() -> tuple[RunSummary, PoolBook, MemoryBus, list[str]]:
    bus = MemoryBus()
    await bus.ensure_streams()
    book = PoolBook([WhirlpoolPool])
    summary = RunSummary(plugins=["replay", "broken"])
    lines: list[str] = []
    await asyncio.gather(
        _guarded_scan("broken", BrokenSource(MARKET), book, bus, summary, lines.append),
        _guarded_scan("replay", ReplaySource(MARKET), book, bus, summary, lines.append),
    )
    await bus.flush()
    await asyncio.sleep(0)  # let the ack callbacks run
    return summary, book, bus, lines


def test_failing_source_is_named_and_counted_and_the_other_finishes() -> None:
    summary, book, bus, lines = asyncio.run(_scan())
    assert summary.source_errors == {"broken": 1}
    assert any(
        "data source broken (plugin broken) stopped" in x and "peer went away" in x for x in lines
    ), lines
    assert any(x.startswith("replay: stream ended after") for x in lines), lines
    whirlpools = sum(
        1
        for a in MARKET.values()
        if a.owner == WhirlpoolPool.program_id and WhirlpoolPool.matches(a)
    )
    assert len(book.pools) == whirlpools  # the healthy source delivered every Whirlpool
    assert summary.market_events > 3
    states = {s.name: s for s in asyncio.run(bus.stream_states())}
    assert states["MARKET_DATA"].messages == summary.market_events - summary.market_duplicates
