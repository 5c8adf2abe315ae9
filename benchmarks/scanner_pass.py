"""The scanner's pass: one account update -> pool book -> MARKET_DATA, per update.

    python benchmarks/scanner_pass.py [CYCLES]

The bundled market through the real ``Scanner`` with the first-party adapters: after one
replay has loaded every pool, every account the book follows is fed again CYCLES times as a
new state (same data, one more lamport, the next slot), through ``Scanner.take_update``: the
AccountUpdate -> Account conversion, the book's one pass (route, update, summary, probe
quote), the tape event and the pool-state events, published with ``publish_nowait``. On the
in-memory bus (the scanner's own cost) and on a real nats-server (a local one, started here).

Adapters without ``summary()`` yet (SDK 1.1) get a constant stand-in, so each changed pool
costs a probe quote and a PoolStateEvent as it will once they have one.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from typing import Any

from lstarb_runtime.builtin import replay
from lstarb_runtime.bus import Bus, EmbeddedNats, JetStreamBus, MemoryBus, free_local_url
from lstarb_runtime.config import Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import check_adapter
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.scanner import Scanner
from lstarb_sdk import AccountUpdate, PluginContext, PoolAdapter, PoolSummary, hookimpl

PLUGINS = ["orca", "raydium", "meteora", "pumpswap"]


def _standin(self: PoolAdapter) -> PoolSummary:
    return PoolSummary(0, 0, 0, 0)


def _adapters() -> list[type[PoolAdapter]]:
    host = PluginHost()
    host.discover()
    host.select(PLUGINS)
    classes = [cls for _, cls in host.collect("lstarb_dex_adapters", check_adapter)]
    return [
        cls
        if cls.summary is not PoolAdapter.summary
        else type(cls.__name__, (cls,), {"summary": _standin})
        for cls in classes
    ]


class _Bench:
    LSTARB_SDK_API = "1.0"

    def __init__(self, adapters: list[type[PoolAdapter]]) -> None:
        self.adapters = adapters

    @hookimpl
    def lstarb_dex_adapters(self) -> list[type[PoolAdapter]]:
        return self.adapters


def _pct(values: list[int], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] / 1000


async def measure(bus: Bus, cycles: int) -> dict[str, Any]:
    host = PluginHost()
    host.register_object("replay", replay).builtin = True
    host.register_object("bench", _Bench(_adapters()))
    env = ServiceEnv(bus, host, PluginContext(), Settings(), HaltSwitch(), lambda s: None)
    scanner = Scanner(env)
    await scanner.start()
    await scanner.run()  # loads every pool from the bundled market
    await scanner.flush()
    followed = {k: a for k, a in scanner.book.accounts.items() if a is not None}
    sent_before = scanner.stats.published["MARKET_DATA"]
    times: list[int] = []
    whole = 0
    slot = scanner.slot
    # the pool states the scanner publishes once a burst is through (older code: none pending)
    pending = getattr(scanner, "publish_pending_states", None)
    for cycle in range(1, cycles + 1):
        started = time.perf_counter_ns()
        for key, account in followed.items():
            update = AccountUpdate(
                key,
                slot + cycle,
                account.owner,
                account.lamports + cycle,
                bytes(account.data),
                account.executable,
                0,
                "bench",
                time.time_ns(),
            )
            t0 = time.perf_counter_ns()
            await scanner.take_update(update)
            times.append(time.perf_counter_ns() - t0)
        if pending is not None:
            await pending()
        whole += time.perf_counter_ns() - started
    t0 = time.perf_counter_ns()
    await scanner.flush()
    flush_us = (time.perf_counter_ns() - t0) / 1000
    sent = scanner.stats.published["MARKET_DATA"]
    counts = bus.stats["MARKET_DATA"]
    await scanner.stop()
    return {
        "pools": len(scanner.book.pools),
        "updates": len(times),
        "events per update": (sent - sent_before) / len(times),
        "p50": _pct(times, 50),
        "p99": _pct(times, 99),
        "mean": sum(times) / len(times) / 1000,
        "with states": whole / len(times) / 1000,
        "final flush (us)": flush_us,
        "acked": counts.acked == counts.sent,
    }


async def main(cycles: int) -> None:
    rows = []
    memory = MemoryBus()
    await memory.ensure_streams()
    rows.append(("in-memory bus", await measure(memory, cycles)))
    with tempfile.TemporaryDirectory() as store, EmbeddedNats(free_local_url(), store) as server:
        js = await JetStreamBus.connect(server.url)
        await js.ensure_streams()
        rows.append(("nats-server (loopback)", await measure(js, cycles)))
        await js.close()
    print(
        "| bus | pools | updates | events/update | p50 (µs) | p99 (µs) | mean (µs) "
        "| mean with the burst's pool states (µs) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['pools']} | {r['updates']} | {r['events per update']:.2f} | "
            f"{r['p50']:.1f} | {r['p99']:.1f} | {r['mean']:.1f} | {r['with states']:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
