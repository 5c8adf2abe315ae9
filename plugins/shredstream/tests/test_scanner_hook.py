"""The scanner with the real shredstream source beside a real market: a pending swap on a
followed pool reaches ``lstarb_on_pending_transaction`` with that pool, an observer that
raises does not stop the scanner, and the first-shred ticks do not move its snapshot slot.

Real pieces: a nats-server (JetStream bus), the plugin host with the plugin module itself,
the bundled market played by the replay source, the Orca Whirlpool adapter, and a gRPC proxy
on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from shred_testlib import Proxy, message, swap, vote
from solders.keypair import Keypair
from solders.pubkey import Pubkey

import lstarb_shredstream.plugin as shredstream_plugin
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.builtin.replay import ReplaySource, bundled_market, load_market
from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.config import Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.base import ServiceEnv, ServiceState
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.scanner import Scanner
from lstarb_sdk import AccountUpdate, PendingTransaction, PluginContext, SlotUpdate, hookimpl
from lstarb_shredstream import ShredstreamConfig, ShredstreamSource

MARKET = load_market(bundled_market())
WHIRLPOOL = next(k for k, a in sorted(MARKET.items(), key=str) if WhirlpoolPool.matches(a))


class Plugin:
    """A plugin object: the hooks given as keyword arguments."""

    LSTARB_SDK_API = "1.2"

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        for name, fn in hooks.items():
            setattr(self, name, hookimpl(fn))


class Market(ReplaySource):
    """Plays the bundled market, then stays open, as a live node does."""

    def __init__(self) -> None:
        super().__init__(MARKET)
        self.closed = asyncio.Event()

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:  # type: ignore[override]
        async for update in super().stream():
            yield update
        await self.closed.wait()

    async def close(self) -> None:
        self.closed.set()


def _raise(transaction: PendingTransaction, pools: list[Pubkey]) -> None:
    raise RuntimeError("observer bug")


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[JetStreamBus]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as server:
        bus = await JetStreamBus.connect(server.url, fetch_timeout=0.2, ack_wait=2.0)
        await bus.ensure_streams()
        yield bus
        await bus.close()


async def test_a_pending_swap_on_a_followed_pool_reaches_the_observers(
    bus: JetStreamBus,
) -> None:
    proxy = await Proxy().start()
    seen: list[tuple[PendingTransaction, list[Pubkey]]] = []
    host = PluginHost()
    host.register_object("dex", Plugin(lstarb_dex_adapters=lambda: [WhirlpoolPool]))
    host.register_object("market", Plugin(lstarb_data_sources=lambda context: [Market()]))
    host.register_object("shredstream", shredstream_plugin)
    host.register_object("raiser", Plugin(lstarb_on_pending_transaction=_raise))
    host.register_object(
        "watcher",
        Plugin(
            lstarb_on_pending_transaction=lambda transaction, pools: seen.append(
                (transaction, pools)
            )
        ),
    )
    config = ShredstreamConfig(url=proxy.url, backoff_initial_s=0.05)
    context = PluginContext(plugin_configs={"shredstream": config})
    scanner = Scanner(ServiceEnv(bus, host, context, Settings(), HaltSwitch(), lambda _: None))
    await scanner.start()
    running = asyncio.create_task(scanner.run())
    try:
        [source] = [s for _, s in scanner.sources if isinstance(s, ShredstreamSource)]
        async with asyncio.timeout(20):  # the book holds the pool; the source follows its vaults
            while WHIRLPOOL not in scanner.book.pools:
                await asyncio.sleep(0.02)
            pool = scanner.book.pools[WHIRLPOOL]
            assert isinstance(pool, WhirlpoolPool)
            vaults = [pool.state.token_vault_a, pool.state.token_vault_b]
            while not {bytes(v) for v in vaults} <= source.selector.followed:
                await asyncio.sleep(0.02)
        await proxy.connected()
        slot_before = scanner.slot
        far_ahead = slot_before + 1000
        first = swap(Keypair(), WHIRLPOOL, *vaults)
        proxy.send(message(far_ahead, [[vote(), first]]))
        second = swap(Keypair(), WHIRLPOOL, *vaults, v0=True)
        proxy.send(message(far_ahead + 1, [[second]]))
        async with asyncio.timeout(10):
            while len(seen) < 2:
                await asyncio.sleep(0.02)
        assert [(t.signature, pools) for t, pools in seen] == [
            (first.signatures[0], [WHIRLPOOL]),
            (second.signatures[0], [WHIRLPOOL]),
        ]
        assert host.hook_errors["raiser"] == 2  # raised twice; the scanner went on
        assert scanner.state is ServiceState.RUNNING
        counters = scanner.stats.counters
        assert counters["pending transactions"] == 2
        assert counters["pending transactions on followed pools"] == 2
        assert scanner.slot < far_ahead  # a first shred is no snapshot slot
    finally:
        await scanner.stop(grace=2)
        await asyncio.wait_for(running, 5)
        await proxy.stop(0.1)
    assert scanner.state is ServiceState.STOPPED
