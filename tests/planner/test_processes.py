"""Planner processes against a real nats-server (``lstarb run --role planner`` subprocesses).

1. A scanner process plays the real market onto the bus and ends; a planner process started
   afterwards catches up from the durable consumer and decides every opportunity.
2. A stream of opportunities (the real cycles at many sizes, quoted on the real market) is
   published while a planner works; it is killed (SIGKILL) mid-stream and started again:
   every opportunity is planned, and EXECUTION holds exactly one plan for each.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.planner.core import plan_id
from lstarb_sdk.events import ExecutionPlanEvent

from .planner_testlib import (
    lstarb,
    market_dir,
    opportunity_stream,
    read_all,
    run_config,
    scanned,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(free_local_url(), tmp_path / "nats")
    with server:
        yield server


async def _count(bus: JetStreamBus, stream: str) -> int:
    return {s.name: s.messages for s in await bus.stream_states()}[stream]


async def _until(bus: JetStreamBus, stream: str, n: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (have := await _count(bus, stream)) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return have


def _stop(proc: subprocess.Popen[bytes], tmp: Path, name: str) -> dict[str, object]:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, (tmp / f"{name}.log").read_text()
    summary: dict[str, object] = json.loads((tmp / f"{name}.json").read_text())
    return summary


async def test_a_planner_started_after_the_scanner_catches_up(
    nats: EmbeddedNats, tmp_path: Path
) -> None:
    config = run_config(tmp_path, nats.url, market_dir(tmp_path))
    scanner = lstarb(config, "scanner", tmp_path, "scanner")
    assert scanner.wait(timeout=120) == 0, (tmp_path / "scanner.log").read_text()
    bus = await JetStreamBus.connect(nats.url)
    try:
        opportunities = await _count(bus, "OPPORTUNITIES")
        assert opportunities == len(scanned().opportunities) >= 5
        assert await _count(bus, "EXECUTION") == 0
        planner = lstarb(config, "planner", tmp_path, "planner")
        expected = sum(
            1 for o in scanned().opportunities if o.legs[-1].out_amount > o.legs[0].in_amount
        )
        assert await _until(bus, "EXECUTION", expected, 60) == expected
        summary = _stop(planner, tmp_path, "planner")
        counters = summary["services"]["planner"]["counters"]  # type: ignore[index]
        rejected = sum(n for k, n in counters.items() if k.startswith("rejected: "))
        assert counters["plans"] == expected and counters["plans"] + rejected == opportunities
        plans = [d.event for d in await read_all(bus, "EXECUTION", "check")]
        assert {p.opportunity_id for p in plans} <= {o.id for o in scanned().opportunities}
    finally:
        await bus.close()


async def test_a_planner_killed_mid_stream_plans_every_opportunity_exactly_once(
    nats: EmbeddedNats, tmp_path: Path
) -> None:
    config = run_config(tmp_path, nats.url, market_dir(tmp_path))
    scanner = lstarb(config, "scanner", tmp_path, "scanner")
    assert scanner.wait(timeout=120) == 0, (tmp_path / "scanner.log").read_text()
    bus = await JetStreamBus.connect(nats.url)
    try:
        before = await _count(bus, "OPPORTUNITIES")
        stream = opportunity_stream(150)
        assert len({o.id for o in stream}) == 150
        planner = lstarb(config, "planner", tmp_path, "planner-1")
        await _until(bus, "EXECUTION", 1, 60)  # it is up and planning
        killed = False
        for sent, opp in enumerate(stream, start=1):
            await bus.publish(opp)
            await asyncio.sleep(0.01)
            if not killed and sent >= 60 and await _count(bus, "EXECUTION") >= 40:
                planner.send_signal(signal.SIGKILL)
                assert planner.wait(timeout=30) == -signal.SIGKILL
                killed = True
        assert killed, "the planner was never caught mid-stream"
        assert await _count(bus, "EXECUTION") < before + len(stream)  # killed before the end
        restarted = lstarb(config, "planner", tmp_path, "planner-2")
        gaining = sum(
            1 for o in scanned().opportunities if o.legs[-1].out_amount > o.legs[0].in_amount
        )
        expected_plans = gaining + len(stream)
        assert await _until(bus, "EXECUTION", expected_plans, 90) == expected_plans
        await asyncio.sleep(1.0)  # anything more would be a second plan
        summary = _stop(restarted, tmp_path, "planner-2")
        plans = [d.event for d in await read_all(bus, "EXECUTION", "check")]
        assert len(plans) == expected_plans
        per_opportunity = Counter(
            p.opportunity_id for p in plans if isinstance(p, ExecutionPlanEvent)
        )
        assert all(n == 1 for n in per_opportunity.values())
        assert {o.id for o in stream} <= per_opportunity.keys()
        by_id = {o.id: o for o in stream}
        for p in plans:
            if p.opportunity_id in by_id:
                assert p.id == plan_id(by_id[p.opportunity_id])
        states = {s.name: s for s in await bus.stream_states()}
        assert states["OPPORTUNITIES"].consumers["planner"] == 0  # all acknowledged
        assert summary["services"]["planner"]["state"] == "stopped"  # type: ignore[index]
    finally:
        await bus.close()
