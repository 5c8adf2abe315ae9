"""End-to-end latency: account update received -> signed transaction ready, per stage.

    python benchmarks/e2e_latency.py [SECONDS] [one|split|both]

The whole pipeline on paper, as ``lstarb run`` starts it: the rpc data source following a
local peer (``lstarb simnet``) over the bundled market, the scanner with every DEX plugin and
the lst strategies, the planner, the executor. Measured twice on the same stimulus:

- **one process**: ``lstarb run`` (every role in one process);
- **split**: ``lstarb run --role scanner``, ``--role planner``, ``--role executor`` as three
  processes on one nats-server on loopback.

The stimulus: the peer (in this process, slots stepped every 50 ms, no market driver)
moves the Raydium AMM V4 SOL/USDC pool's USDC vault 1.2% up or down every slot (never
back to a state seen before, so each is a new opportunity), which opens a two-hop gap
against the other SOL/USDC pools (CLMM, CPMM, DLMM) every time. Each
account update's arrival at the rpc source (``received_ns``) starts the opportunity's trace
(:meth:`~lstarb_runtime.bus.tracing.TraceContext.starting_at`); the planner and the
executor measure from it, so the stages below are cumulative from the same instant, in any
process (one host, one clock). Targets: p99 <= 0.5 ms in one process, <= 2 ms split.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Final

from solders.pubkey import Pubkey

from lstarb_runtime.bus import EmbeddedNats, free_local_url
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_runtime.simnet.server import installed_adapters
from lstarb_runtime.simnet.store import Entry

AMM_V4_SOL_USDC: Final = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"
OTHER_SOL_USDC: Final = (
    "CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq",  # raydium-clmm
    "7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny",  # raydium-cpmm
    "5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6",  # meteora-dlmm
)
USDC: Final = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SLOT_S: Final = 0.05
MOVE: Final = 0.012
LSTARB: Final = [sys.executable, "-m", "lstarb_runtime.cli"]

STAGES: Final = (
    ("scanner", "update received -> on the tape", "update received -> tape (MARKET_DATA)"),
    ("scanner", "strategies", "  strategies (quote routes)"),
    ("scanner", "update received -> opportunity published", "update received -> opportunity"),
    ("planner", "opportunity -> plan stored (acked)", "  planner: opportunity -> plan"),
    ("planner", "update received -> plan stored", "update received -> plan stored"),
    ("executor", "plan created -> taken", "  plan created -> executor took it"),
    ("executor", "build", "  executor: took it -> built"),
    ("executor", "sign", "  executor: sign"),
    ("executor", "update received -> signed", "**update received -> signed**"),
    ("executor", "signed -> recorded", "  executor: signed -> recorded (one KV create)"),
    ("executor", "update received -> sent", "update received -> sent (paper: to the simulator)"),
)
TAPE_LAG: Final = "plans built before the tape reached the planned slot"
"""The executor builds from its own pool book (the tape) at once, without waiting for it to
reach the planner's slot; this counts the plans it built on an older book."""
TARGET_MS: Final = {"one": 0.5, "split": 2.0}


class Peer:
    """The local peer on a thread of its own; :meth:`stimulate` moves the AMM V4 pool."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.net: Simnet = self._call(self._open())
        book = PoolBook(installed_adapters())
        for _ in range(3):
            for entry in self.net.store.entries():
                book.apply(entry.pubkey, entry.account())
        pool = book.pools[Pubkey.from_string(AMM_V4_SOL_USDC)]
        self.vault = next(
            str(k)
            for k in pool.accounts_to_update()
            if (e := self.net.store.get(str(k))) is not None
            and len(e.data) >= 72
            and str(Pubkey.from_bytes(e.data[:32])) == USDC
        )
        self.moves = 0
        self.moving = False
        self._ticker: asyncio.Task[None] | None = None
        self._call(self._start_ticking())

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(60)

    async def _open(self) -> Simnet:
        net = Simnet(SimnetConfig(port=0, slot_ms=0, drive=True, seed=1))
        net.driver = None  # aligned once; from here only the stimulus moves the market
        await net.start()
        return net

    async def _tick(self) -> None:
        """Slots every 50 ms, always (the executor's paper trades land at slot ends);
        while :attr:`moving`, every slot moves the vault."""
        up = True
        while True:
            self.net.step()
            if self.moving:
                entry = self.net.store.get(self.vault)
                assert entry is not None
                amount = int.from_bytes(entry.data[64:72], "little")
                amount = int(amount * (1 + MOVE) if up else amount / (1 + MOVE))
                amount += self.moves + 1  # never a state seen before: a new opportunity
                data = entry.data[:64] + amount.to_bytes(8, "little") + entry.data[72:]
                self.net.store.put(
                    Entry(entry.key, entry.lamports, data, entry.owner), self.net.chain.slot
                )
                self.moves += 1
                up = not up
            await asyncio.sleep(SLOT_S)

    async def _start_ticking(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    def stimulate(self, seconds: float) -> None:
        self.moving = True
        time.sleep(seconds)
        self.moving = False

    def close(self) -> None:
        if self._ticker is not None:
            self.loop.call_soon_threadsafe(self._ticker.cancel)
        self._call(self.net.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _config(tmp: Path, nats_url: str, rpc_url: str) -> Path:
    pools = ", ".join(f'"{p}"' for p in (AMM_V4_SOL_USDC, *OTHER_SOL_USDC))
    path = tmp / "lstarb.toml"
    path.write_text(
        f'[nats]\nurl = "{nats_url}"\nembedded = false\n'
        f'[plugins.rpc]\nurl = "{rpc_url}"\n'
        f"[scanner]\npools = [{pools}]\n"
        "[executor]\npaper_wallets = 8\nlanding_delay_slots = 1\n"
        f"slot_ms = {SLOT_S * 1000:g}\n"
    )
    return path


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen([*LSTARB, *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(log: Path, text: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{log.name}: no {text!r} within {timeout:.0f}s:\n{log.read_text()}")


def measure(mode: str, seconds: float, peer: Peer, tmp: Path) -> dict[str, dict[str, Any]]:
    """Run the pipeline in ``mode`` on a fresh bus; latency per stage from the summaries."""
    work = tmp / mode
    work.mkdir()
    nats_url = free_local_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    keep = ("LSTARB_NATS__", "LSTARB_RUN__LOCAL_DELIVERY")  # the bus; local delivery on or off
    env.update({k: v for k, v in os.environ.items() if k.startswith(keep)})
    env["LSTARB_CONFIG"] = str(_config(work, nats_url, peer.net.http_url))
    env["LSTARB_AUDITOR__LEDGER_PATH"] = str(work / "ledger.sqlite")
    roles = ["all"] if mode == "one" else ["executor", "planner", "scanner"]
    with EmbeddedNats(nats_url, work / "nats"):
        procs = []
        for role in roles:
            args = ["run", "--role", role, "--summary-json", str(work / f"{role}.json")]
            procs.append((role, _start(args, env, work / f"{role}.log")))
        scanner_log = work / ("all.log" if mode == "one" else "scanner.log")
        for role, _ in procs:
            _wait_for(work / f"{role}.log", "bus:")
        _wait_for(scanner_log, "streaming updates")
        time.sleep(1.0)
        peer.stimulate(seconds)
        time.sleep(2.0)  # the last plans
        for role, proc in reversed(procs):  # scanner first: intake stops first
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                log = (work / f"{role}.log").read_text()
                raise RuntimeError(f"{role} did not stop on SIGTERM:\n{log[-3000:]}") from None
    stages: dict[str, dict[str, Any]] = {}
    for role in roles:
        doc = json.loads((work / f"{role}.json").read_text())
        for name, service in doc["services"].items():
            for stage, row in service["latency_us"].items():
                stages[f"{name}: {stage}"] = row
            stages[f"{name}: counters"] = service["counters"]
    return stages


def _cell(stages: dict[str, dict[str, Any]], role: str, stage: str) -> str:
    row = stages.get(f"{role}: {stage}")
    if not row:
        return "-"
    return f"{row['p50'] / 1000:.3f} / {row['p99'] / 1000:.3f} ({row['count']})"


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    modes = ["one", "split"] if which == "both" else [which]
    peer = Peer()
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="lstarb-e2e-bench-") as tmp:
            for mode in modes:
                results[mode] = measure(mode, seconds, peer, Path(tmp))
    finally:
        peer.close()
    print(
        f"end-to-end latency, {seconds:g} s of stimulus per mode ({peer.moves} vault moves), "
        f"{os.cpu_count()} CPUs; ms p50 / p99 (samples)\n"
    )
    header = {"one": "one process", "split": "split (3 processes, loopback NATS)"}
    print("| stage | " + " | ".join(header[m] for m in modes) + " |")
    print("|---|" + "---:|" * len(modes))
    for role, stage, label in STAGES:
        print(f"| {label} | " + " | ".join(_cell(results[m], role, stage) for m in modes) + " |")
    print()
    for mode in modes:
        planner = results[mode].get("planner: counters", {})
        refused = {
            k[len("rejected: ") :]: n for k, n in planner.items() if k.startswith("rejected")
        }
        print(f"{header[mode]}: planner rejected {refused or 'none'}")
    for mode in modes:
        executor = results[mode].get("executor: counters", {})
        print(
            f"{header[mode]}: executor sent {executor.get('plans sent', 0)}, built "
            f"{executor.get(TAPE_LAG, 0)} before its tape reached the planner's slot, "
            f"lost {executor.get('plans lost to another executor', 0)} records to another"
        )
    for mode in modes:
        row = results[mode].get("executor: update received -> signed")
        if not row:
            print(f"{header[mode]}: no plan was signed (see the counters)")
            continue
        p99 = row["p99"] / 1000
        verdict = "meets" if p99 <= TARGET_MS[mode] else "MISSES"
        print(
            f"{header[mode]}: p99 {p99:.3f} ms {verdict} the target of "
            f"{TARGET_MS[mode]:g} ms ({row['count']} signed)"
        )


if __name__ == "__main__":
    main()
