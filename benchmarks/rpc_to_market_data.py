"""Account notification received -> MARKET_DATA published, through the real scanner.

    python benchmarks/rpc_to_market_data.py [SECONDS] [--freeze] [--per-burst]

The peer is ``lstarb simnet`` with its market driver in a child process, stepping a slot
every 10 ms (constant-product pools trade, vaults move: a few notifications a slot). The
parent runs the real Scanner service with the rpc source, the installed DEX adapters and
the mints of interest, publishing to a real nats-server on a free loopback port. For every
account event the scanner puts on the tape, measured from the frame's arrival
(``received_ns``, stamped when the websocket library hands it over):

- ready in the source: the AccountUpdate is in the source's queue (the source's own work);
- taken by the scanner: the scanner starts on it (a slot's notifications arrive together,
  the Clock sysvar's first; the source hands them over one at a time and the scanner tapes
  each before the next is parsed);
- handed to NATS: when ``publish_nowait`` returns (the message is in the client's buffer);
- written to the socket: when the NATS client writes that buffer to its socket (published:
  from here on only the kernel and the server stand between it and a reader);
- acknowledged: when JetStream's acknowledgement of it arrives;
- a pool state it moved handed to NATS: from the ``received_ns`` of the last account that
  moved the pool (by default right after that account; ``--per-burst``:
  ``[scanner] pool_states = "per_burst"``, once a burst of updates is through).

And the scanner's CPU per update (thread time around ``take_update``: the publishing turn's
own cost, which a loaded machine moves far less than the wall-clock latencies above), and the
whole process's CPU time over the run per account event (everything in the parent: the
source, the scanner, pool states published after a burst, the NATS client).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

STEP_MS = 10
#: ``--freeze``: gc.freeze() once started. Measured both ways, interleaved: no difference the
#: noise of a shared 2-core machine does not swamp (the scanner allocates little per update).
FREEZE = "--freeze" in sys.argv
POOL_STATES = "per_burst" if "--per-burst" in sys.argv else "per_update"


async def _serve(seconds: float) -> None:
    """Child: a driven peer; on 'go', step a slot every STEP_MS for ``seconds``."""
    from lstarb_runtime.simnet import Simnet, SimnetConfig

    net = Simnet(SimnetConfig(port=0, slot_ms=0, drive=True, seed=21))
    await net.start()
    print(json.dumps({"http": net.http_url, "ws": net.ws_url}))
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    end = loop.time() + seconds
    while loop.time() < end:
        net.step()
        await asyncio.sleep(STEP_MS / 1000)
    print(json.dumps({"slots": net.chain.slot - net.chain.start_slot, "trades": net.driver.trades}))  # type: ignore[union-attr]
    sys.stdout.flush()
    await loop.run_in_executor(None, sys.stdin.readline)
    await net.stop()


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000


async def _main(seconds: float) -> None:
    from lstarb_rpc import RpcConfig
    from lstarb_runtime.bus import free_local_url
    from lstarb_runtime.bus.connect import connect_bus
    from lstarb_runtime.config import ScannerSettings, Settings
    from lstarb_runtime.plugin_host import PluginHost
    from lstarb_runtime.services.base import ServiceEnv
    from lstarb_runtime.services.halt import HaltSwitch
    from lstarb_runtime.services.scanner import Scanner
    from lstarb_sdk import PluginContext
    from lstarb_sdk.events import AccountEvent, PoolStateEvent
    from lstarb_sdk.tokens import MINTS_OF_INTEREST

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    peer = json.loads(child.stdout.readline())
    ready: list[int] = []
    taken: list[int] = []
    handed: list[int] = []
    written: list[int] = []
    unwritten: list[int] = []  # received_ns of events handed over, not yet written
    acked: list[int] = []
    cpu: list[int] = []
    states: list[int] = []
    with tempfile.TemporaryDirectory() as store:
        async with connect_bus(free_local_url(), store_dir=store) as bus:
            publish_nowait = bus.publish_nowait

            async def timed(event: Any, **kwargs: Any) -> Any:
                sent = await publish_nowait(event, **kwargs)
                if isinstance(event, AccountEvent) and event.received_ns:
                    received = event.received_ns
                    handed.append(time.time_ns() - received)
                    unwritten.append(received)
                    sent.add_done_callback(lambda _: acked.append(time.time_ns() - received))
                elif isinstance(event, PoolStateEvent) and event.received_ns:
                    states.append(time.time_ns() - event.received_ns)
                return sent

            bus.publish_nowait = timed  # type: ignore[method-assign]
            transport = bus.nc._transport  # type: ignore[attr-defined]
            writelines = transport.writelines

            def timed_writelines(chunks: Any) -> None:
                now = time.time_ns()  # handed to the kernel (the call may return much later)
                writelines(chunks)
                written.extend(now - received for received in unwritten)
                unwritten.clear()

            transport.writelines = timed_writelines
            host = PluginHost()
            host.discover()
            host.select(["rpc", "raydium", "meteora", "orca", "pumpswap"])
            config = RpcConfig(url=peer["http"], ws_url=peer["ws"], idle_timeout_s=120)
            settings = Settings(
                scanner=ScannerSettings(
                    mints=[str(m) for m in MINTS_OF_INTEREST], pool_states=POOL_STATES
                )
            )
            env = ServiceEnv(
                bus,
                host,
                PluginContext(plugin_configs={"rpc": config}),
                settings,
                HaltSwitch(),
                lambda line: None,
            )
            scanner = Scanner(env)
            take_update = scanner.take_update

            async def timed_take(update: Any) -> None:
                taken.append(time.time_ns() - update.received_ns)
                started = time.thread_time_ns()
                await take_update(update)
                cpu.append(time.thread_time_ns() - started)

            scanner.take_update = timed_take  # type: ignore[method-assign]
            tape_first = scanner._tape_first

            async def timed_tape_first(update: Any, burst: Any) -> None:
                taken.append(time.time_ns() - update.received_ns)
                started = time.thread_time_ns()
                await tape_first(update, burst)
                cpu.append(time.thread_time_ns() - started)

            scanner._tape_first = timed_tape_first  # type: ignore[method-assign]
            await scanner.start()
            [(_, source)] = scanner.sources
            on_account = source.on_account  # type: ignore[attr-defined]

            def timed_ready(
                endpoint: Any, lane: Any, key: Any, slot: int, account: Any, at: int
            ) -> None:
                on_account(endpoint, lane, key, slot, account, at)
                ready.append(time.time_ns() - at)

            source.on_account = timed_ready  # type: ignore[attr-defined]
            running = asyncio.create_task(scanner.run())
            await asyncio.sleep(2)  # discovery, snapshot, subscriptions
            if FREEZE:  # what start-up built stays: the collector stops re-scanning it
                gc.collect()
                gc.freeze()
            before, taken_before, ready_before = len(handed), len(taken), len(ready)
            written_before = len(written)
            cpu_before, states_before = len(cpu), len(states)
            process_before = time.process_time()
            child.stdin.write("go\n")
            child.stdin.flush()
            done = json.loads(await asyncio.to_thread(child.stdout.readline))
            process_cpu = time.process_time() - process_before
            await asyncio.sleep(0.5)
            await scanner.stop()
            running.cancel()
            pools = len(scanner.book.pools)
    child.stdin.write("stop\n")
    child.stdin.flush()
    child.wait(10)
    moved_handed, moved_acked = handed[before:], acked[before:]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"rpc source -> scanner -> MARKET_DATA: {pools} pools, {done['slots']} slots, "
        f"{done['trades']} trades in {seconds:g} s, {len(moved_handed)} account events "
        f"(load average {load})\n"
    )
    print("| received -> | p50 (µs) | p99 (µs) |\n|---|---:|---:|")
    rows = (
        ("ready in the source", ready[ready_before:]),
        ("taken by the scanner", taken[taken_before:]),
        ("handed to NATS", moved_handed),
        ("written to the socket", written[written_before:]),
        ("acknowledged by JetStream", moved_acked),
        ("a pool state it moved handed to NATS", states[states_before:]),
    )
    for what, values in rows:
        print(f"| {what} | {statistics.median(values) / 1000:.0f} | {_pct(values, 0.99):.0f} |")
    spent = cpu[cpu_before:]
    print(
        f"\nscanner CPU per update (thread time of take_update, or of _tape_first with "
        f"tape_first on): median "
        f"{statistics.median(spent) / 1000:.0f} µs, p90 {_pct(spent, 0.9):.0f} µs; the whole "
        f"process (source, scanner, deferred pool states, NATS client): "
        f"{process_cpu * 1e6 / max(1, len(moved_handed)):.0f} µs per account event"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(_serve(float(sys.argv[2])))
    else:
        args = [a for a in sys.argv[1:] if a not in ("--freeze", "--per-burst")]
        asyncio.run(_main(float(args[0]) if args else 10.0))
