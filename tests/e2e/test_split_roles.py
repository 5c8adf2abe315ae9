"""``lstarb run --role ...`` in separate processes on one NATS server: the work of ``--role
all``, shared by consumer groups, each plan executed exactly once, through a planner and an
executor killed with SIGKILL mid-run and restarted.

Real processes throughout: a nats-server, ``lstarb simnet --drive`` (the market), one
scanner, two planners, two executors and every other registered role (auditor, system).
Executors hold plans longer than usual (20 landing slots) so the kill catches one in hand;
``ack_wait_s`` is short so what the killed processes held goes to the others within the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.bus.kv import KVError
from lstarb_runtime.executor.store import PlanStore
from lstarb_runtime.services.runner import ROLE_SERVICES
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent

LSTARB = [sys.executable, "-m", "lstarb_runtime.cli"]
SCAN_S = 24
KILL_AT_S = 9


class Proc:
    """One ``lstarb`` process, its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._out: IO[bytes] = self.log.open("ab")
        self.popen = subprocess.Popen(
            [*LSTARB, *args], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            self._out.flush()

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:  # whatever a failing test left running
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait(10)


def _simnet(tmp_path: Path, env: dict[str, str], procs: list[Proc]) -> str:
    args = ["simnet", "--drive", "--port", "0", "--slot-ms", "50", "--seed", "6", "--json"]
    proc = Proc("simnet", args, env, tmp_path)
    procs.append(proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in proc.output().splitlines():
            if line.startswith("{") and '"listening"' in line:
                return str(json.loads(line)["http"])
        assert proc.popen.poll() is None, proc.output()
        time.sleep(0.2)
    raise AssertionError(f"simnet did not start: {proc.output()}")


async def _read(url: str, stream: str) -> list[Delivery]:
    bus = await JetStreamBus.connect(url)
    try:
        states = {s.name: s for s in await bus.stream_states()}
        expected = states[stream].messages
        got: list[Delivery] = []
        done = asyncio.Event()
        if expected == 0:
            return got

        async def handle(delivery: Delivery) -> None:
            got.append(delivery)
            if len(got) >= expected:
                done.set()

        await bus.consume(stream, f"check-{stream.lower()}", handle)
        await asyncio.wait_for(done.wait(), 30)
        return got
    finally:
        await bus.close()


async def _pending(url: str) -> int:
    """Events the planner and executor groups have not finished (delivered or not)."""
    bus = await JetStreamBus.connect(url)
    try:
        states = {s.name: s for s in await bus.stream_states()}
        return states["OPPORTUNITIES"].consumers.get("planner", 0) + states[
            "EXECUTION"
        ].consumers.get("executor", 0)
    finally:
        await bus.close()


async def _holder(url: str) -> str | None:
    """The executor holding a signed, unfinished plan right now (None: none in flight)."""
    bus = await JetStreamBus.connect(url)
    try:
        records = await PlanStore(bus, "test").in_flight()
        return records[0].owner if records else None
    except KVError:  # no executor has created the buckets yet
        return None
    finally:
        await bus.close()


async def _records(url: str, plan_ids: list[str]) -> dict[str, Any]:
    bus = await JetStreamBus.connect(url)
    try:
        store = PlanStore(bus, "test")
        return {pid: await store.get(pid) for pid in plan_ids}
    finally:
        await bus.close()


@pytest.mark.slow
def test_split_roles_execute_every_plan_exactly_once_through_kills(
    tmp_path: Path, procs: list[Proc]
) -> None:
    url = free_local_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    with EmbeddedNats(url, tmp_path / "nats"):
        rpc = _simnet(tmp_path, env, procs)
        config = tmp_path / "lstarb.toml"
        config.write_text(
            f'[nats]\nurl = "{url}"\nembedded = false\nack_wait_s = 3\n'
            f'[plugins.rpc]\nurl = "{rpc}"\n'
            "[executor]\nlanding_delay_slots = 20\n"
            f'[auditor]\nledger_path = "{tmp_path / "ledger.sqlite"}"\n'
        )
        base = {**env, "LSTARB_CONFIG": str(config)}

        def start(name: str, role: str, *extra: str) -> Proc:
            proc_env = {**base, "LSTARB_EXECUTOR__NAME": name}
            summary = tmp_path / f"{name}-{len(procs)}.json"
            args = ["run", "--role", role, "--summary-json", str(summary), *extra]
            proc = Proc(name, args, proc_env, tmp_path)
            procs.append(proc)
            return proc

        others = [r for r in ROLE_SERVICES if r not in ("scanner", "planner", "executor")]
        services = {name: start(name, name) for name in others}
        services["planner-a"] = start("planner-a", "planner")
        services["planner-b"] = start("planner-b", "planner")
        services["executor-a"] = start("executor-a", "executor")
        services["executor-b"] = start("executor-b", "executor")
        scanner = start("scanner", "scanner", "--duration", str(SCAN_S))
        t0 = time.monotonic()

        # mid-run: kill a planner and the executor holding a plan, if one is in flight
        holder = None
        while time.monotonic() - t0 < KILL_AT_S + 8 and holder is None:
            time.sleep(0.2)
            if time.monotonic() - t0 >= KILL_AT_S:
                holder = asyncio.run(_holder(url))
        victim = holder if holder in ("executor-a", "executor-b") else "executor-a"
        for name in ("planner-a", victim):
            services[name].signal(signal.SIGKILL)
            services[name].wait(10)
        time.sleep(1.0)
        for name in ("planner-a", victim):  # restarted under the same names
            services[name] = start(name, "planner" if name.startswith("planner") else "executor")

        assert scanner.wait(SCAN_S + 60) == 0, scanner.output()
        deadline = time.monotonic() + 30
        while asyncio.run(_pending(url)) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)  # the auditor's last results
        for proc in services.values():
            proc.signal(signal.SIGTERM)
        for name, proc in services.items():
            assert proc.wait(60) == 0, f"{name}: {proc.output()}"
        plans = [d.event for d in asyncio.run(_read(url, "EXECUTION"))]
        results = [d.event for d in asyncio.run(_read(url, "EXECUTED"))]
        plan_ids = [p.id for p in plans if isinstance(p, ExecutionPlanEvent)]
        records = asyncio.run(_records(url, plan_ids))

    assert plan_ids, [p.output() for p in procs]
    assert all(isinstance(r, ExecutionResultEvent) for r in results)
    # one plan per opportunity, one result per plan: nothing planned or executed twice
    by_opportunity = Counter(p.opportunity_id for p in plans if isinstance(p, ExecutionPlanEvent))
    assert max(by_opportunity.values()) == 1
    per_plan = Counter(r.plan_id for r in results if isinstance(r, ExecutionResultEvent))
    assert set(per_plan) == set(plan_ids), "a plan without a result"
    assert max(per_plan.values()) == 1
    # the store agrees: every plan done once, with the signature its one result carries
    for result in results:
        assert isinstance(result, ExecutionResultEvent)
        record = records[result.plan_id]
        assert record is not None and record.state == "done"
        assert record.status == result.status
        if result.signature:
            assert record.signature == result.signature
    # both planners and both executors took part; the kills were real
    killed = [p for p in procs if p.popen.returncode == -signal.SIGKILL]
    assert {p.name for p in killed} == {"planner-a", victim}
    summaries = [json.loads(p.read_text()) for p in tmp_path.glob("*.json") if "-" in p.stem]
    executed_by = Counter(
        s["roles"][0]
        for s in summaries
        if s["pipeline"].get("executions") or s["pipeline"].get("plans")
    )
    assert executed_by["executor"] >= 1 and executed_by["planner"] >= 1
    assert sum(s["pipeline"].get("executions") or 0 for s in summaries) <= len(plan_ids)
    recovered = sum(
        s["services"]["executor"]["counters"].get(c, 0)
        for s in summaries
        if "executor" in s["services"]
        for c in ("plans followed after a restart", "plans taken over")
    )
    print(f"killed {victim} (held a plan: {holder == victim}); {recovered} plans recovered")
