"""A book rebuilt from the MARKET_DATA tape equals the scanner's, on the bundled real market,
with the real first-party adapters, on the in-memory bus and on a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import lstarb_meteora.plugin
import lstarb_orca.plugin
import lstarb_pumpswap.plugin
import lstarb_raydium.plugin
from lstarb_runtime.builtin import replay
from lstarb_runtime.bus import Bus, EmbeddedNats, MemoryBus
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.tape import Tape, rebuild_book
from lstarb_sdk.errors import LstarbError

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from .scanning import SummarisedWhirlpool, env_for, host_with, scan


def _first_party() -> PluginHost:
    host = PluginHost()
    host.register_object("replay", replay).builtin = True
    for name, module in [
        ("orca", lstarb_orca.plugin),
        ("raydium", lstarb_raydium.plugin),
        ("meteora", lstarb_meteora.plugin),
        ("pumpswap", lstarb_pumpswap.plugin),
    ]:
        host.register_object(name, module)
    return host


@pytest.fixture(params=["memory", "jetstream"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        memory = MemoryBus()
        await memory.ensure_streams()
        yield memory
        await memory.close()
    else:
        server: EmbeddedNats = request.getfixturevalue("nats_server")
        js = await fresh_jetstream_bus(server.url)
        yield js
        await js.close()


def _quotes(book: PoolBook) -> dict[tuple[str, str, int], object]:
    """Every pool's quote both ways at three sizes (or the error it gave)."""
    out: dict[tuple[str, str, int], object] = {}
    for address, pool in book.pools.items():
        for mint in pool.mints:
            for amount in (10**3, 10**6, 10**9):
                try:
                    result: object = pool.quote(amount, mint)
                except LstarbError as exc:
                    result = repr(exc)
                out[(str(address), str(mint), amount)] = result
    return out


def assert_same_book(scanned: PoolBook, rebuilt: PoolBook) -> int:
    """Same pools (same types, same reads), same accounts, same quotes; returns quotes compared."""
    assert scanned.pools.keys() == rebuilt.pools.keys()
    assert scanned.quarantined.keys() == rebuilt.quarantined.keys()
    assert scanned.accounts.keys() == rebuilt.accounts.keys()
    for key, held in scanned.accounts.items():
        other = rebuilt.accounts[key]
        if held is None or other is None:
            assert held is other is None, key
        else:
            assert (held.lamports, held.owner, held.data) == (
                other.lamports,
                other.owner,
                other.data,
            )
    for address, pool in scanned.pools.items():
        twin = rebuilt.pools[address]
        assert type(twin) is type(pool)
        assert twin.accounts_to_update() == pool.accounts_to_update()
        assert twin.summary() == pool.summary()
    quotes = _quotes(scanned)
    assert quotes == _quotes(rebuilt)
    return sum(1 for q in quotes.values() if not isinstance(q, str))


async def test_rebuilt_book_equals_the_scanners_on_the_bundled_market(bus: Bus) -> None:
    host = _first_party()
    scanner = await scan(env_for(bus, host, []))
    assert len(scanner.book.pools) >= 8
    rebuilt = await rebuild_book(bus, host)
    quoted = assert_same_book(scanner.book, rebuilt)
    assert quoted > 20, "too few quotes compared to prove the books equal"


async def test_a_tape_keeps_following() -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    host = host_with([SummarisedWhirlpool])
    tape = Tape(bus, PoolBook.for_plugins(host, keep_unwanted=True))
    await tape.start()
    assert tape.read == 0 and not tape.book.pools
    scanner = await scan(env_for(bus, host, []))
    for _ in range(100):
        if tape.read == scanner.seq:
            break
        await asyncio.sleep(0.01)
    await tape.stop()
    assert tape.applied == scanner.seq
    assert assert_same_book(scanner.book, tape.book) > 0
    await bus.close()


async def test_the_scanners_retape_alone_rebuilds_its_book() -> None:
    """MARKET_DATA keeps an hour: what the scanner re-publishes within it is enough."""
    first, later = MemoryBus(), MemoryBus()
    await first.ensure_streams()
    await later.ensure_streams()
    host = _first_party()
    scanner = await scan(env_for(first, host, []))
    scanner.bus = later  # a stream whose older messages aged out: only the re-publication
    await scanner.retape()
    rebuilt = await rebuild_book(later, host)
    assert assert_same_book(scanner.book, rebuilt) > 20
    await first.close()
    await later.close()
