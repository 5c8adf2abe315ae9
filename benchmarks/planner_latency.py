"""The planner: opportunity consumed -> plan published, p50/p99.

    python benchmarks/planner_latency.py [N]

The real market of the planner tests (the bundled mainnet accounts, the stake pools, a second
Orca bSOL pool), scanned by the real scanner with the lst strategies; the opportunities are
the real cycles at N sizes (each quoted on the market, so each is a distinct plan).

- in-process, excluding the bus: ``PlanEngine.decide`` (re-quote, every check, costs, risk,
  the plan event) and ``encode``, on the state the opportunity was computed on; and on a
  newer state (another trader's swap through a route pool first: re-evaluated, re-sized);
- across processes on loopback: ``lstarb run --role planner`` in its own process on a local
  nats-server; this process publishes one opportunity at a time and waits for its plan.
  Rows: the planner's own stage (consumed -> published and acknowledged by the server, from
  its ``--summary-json``) and publish -> plan received here (two trips through the server);
  then a burst of ``BURST`` opportunities published at once, publish -> plan received.

Targets (issue 14): p99 <= 1 ms in-process, <= 2 ms across processes.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "planner"))  # the tests' market, not a copy of it

import planner_testlib as lib  # noqa: E402

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url  # noqa: E402
from lstarb_runtime.planner.core import Planned  # noqa: E402
from lstarb_sdk.events import ExecutionPlanEvent  # noqa: E402

BURST = 100
"""Opportunities published at once after the one-at-a-time ones: how the planner keeps up when
many arrive together (it takes the next while a plan's acknowledgement is on its way)."""


def pct(values: list[int], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] / 1000


def in_process(n: int) -> list[tuple[str, int, float, float]]:
    stream = lib.opportunity_stream(n)
    engine = lib.engine()
    rows = []
    for label, market in (("same state", engine.market), ("newer state (re-evaluated)", None)):
        if market is None:
            market = lib.fresh_market()
            opp = lib.by_route("raydium-clmm", "raydium-amm-v4")
            amm = opp.legs[1]
            tape = lib.scanned().tape
            market.apply_all(
                lib.traded(
                    market.book, amm.pool, amm.output_mint, 10**9, slot=tape[-1].slot + 1, seq=1
                )
            )
            engine = lib.engine(market)
        samples = []
        for opp in stream:
            t0 = time.perf_counter_ns()
            decision = engine.decide(opp, now_ns=opp.detected_ns)
            assert isinstance(decision, Planned), decision
            decision.plan.encode()
            samples.append(time.perf_counter_ns() - t0)
        rows.append(
            (
                f"in-process, {label}: decide + encode",
                len(samples),
                pct(samples, 0.5),
                pct(samples, 0.99),
            )
        )
    return rows


async def across_processes(n: int) -> list[tuple[str, int, float, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="lstarb-planner-bench-"))
    with EmbeddedNats(free_local_url(), tmp / "nats") as server:
        config = lib.run_config(tmp, server.url, lib.market_dir(tmp))
        scanner = lib.lstarb(config, "scanner", tmp, "scanner")
        assert scanner.wait(timeout=120) == 0, (tmp / "scanner.log").read_text()
        bus = await JetStreamBus.connect(server.url)
        planner = lib.lstarb(config, "planner", tmp, "planner")
        received: dict[str, int] = {}
        arrived = asyncio.Event()

        async def on_plan(msg: Any) -> None:
            plan = ExecutionPlanEvent.decode(msg.data)
            received[plan.opportunity_id] = time.perf_counter_ns()
            arrived.set()

        sub = await bus.nc.subscribe("exec.plan.>", cb=on_plan)
        try:
            while len(received) < 4:  # the scanned opportunities: the planner is up
                await asyncio.wait_for(arrived.wait(), 60)
                arrived.clear()
            samples = []
            stream = lib.opportunity_stream(n + BURST)
            for opp in stream[:n]:
                opp = opp.model_copy(update={"detected_ns": time.time_ns()})
                arrived.clear()
                t0 = time.perf_counter_ns()
                stored = await bus.publish_nowait(opp)
                while opp.id not in received:
                    await asyncio.wait_for(arrived.wait(), 10)
                    arrived.clear()
                samples.append(received[opp.id] - t0)
                await stored
            burst, started, acks = [], {}, []
            for opp in stream[n:]:  # all at once: the planner takes each without waiting
                opp = opp.model_copy(update={"detected_ns": time.time_ns()})
                burst.append(opp.id)
                started[opp.id] = time.perf_counter_ns()
                acks.append(await bus.publish_nowait(opp))
            while any(oid not in received for oid in burst):
                await asyncio.wait_for(arrived.wait(), 30)
                arrived.clear()
            bursts = [received[oid] - started[oid] for oid in burst]
            await asyncio.gather(*acks)
        finally:
            await sub.unsubscribe()
            await bus.close()
            planner.send_signal(signal.SIGTERM)
            planner.wait(timeout=60)
        summary = json.loads((tmp / "planner.json").read_text())
        stages = summary["services"]["planner"]["latency_us"]
    return [
        (f"planner process: consumed -> {label}", s["count"], s["p50"], s["p99"])
        for label, s in (
            ("plan published", stages["opportunity -> plan published"]),
            ("plan stored (acked)", stages["opportunity -> plan stored (acked)"]),
        )
    ] + [
        (
            "across processes: published -> plan received",
            len(samples),
            pct(samples, 0.5),
            pct(samples, 0.99),
        ),
        (
            f"burst of {BURST}: published -> plan received",
            len(bursts),
            pct(bursts, 0.5),
            pct(bursts, 0.99),
        ),
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    rows = in_process(n) + asyncio.run(across_processes(min(n, 500)))
    print(f"{'path':<58} {'n':>6} {'p50 us':>9} {'p99 us':>9}")
    for label, count, p50, p99 in rows:
        print(f"{label:<58} {count:>6} {p50:>9.1f} {p99:>9.1f}")


if __name__ == "__main__":
    main()
