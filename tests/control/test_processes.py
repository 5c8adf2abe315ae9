"""``lstarb kill`` / ``lstarb resume`` against three real service processes on one nats-server.

Scanner, planner and executor each run as ``lstarb run --role ...`` (paper), and are watched
through their Prometheus metrics: the kill switch gauge, the planner's rejections by reason,
the executor's outcomes. Plans and opportunities are published by the test as another process
on the cluster would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.control import state as control
from lstarb_sdk.events import (
    Command,
    EventModel,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    OpportunityEvent,
    SystemCommandEvent,
)
from lstarb_sdk.events.examples import example_opportunity, example_plan

from .procs import ServiceProcess, cli

ROLES = ("scanner", "planner", "executor")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as nats:
        yield nats


def _plan(n: int) -> ExecutionPlanEvent:
    """A plan an executor would try to trade: valid, not expired (it has no market to build on)."""
    return example_plan().model_copy(
        update={
            "id": f"plan-ks-{n}",
            "submitter": "paper",
            "expiry_slot": 0,
            "expiry_ns": time.time_ns() + 120 * 10**9,
        }
    )


def _opportunity(n: int) -> OpportunityEvent:
    return example_opportunity().model_copy(
        update={"id": f"opp-ks-{n}", "detected_ns": time.time_ns()}
    )


async def _publish(url: str, *events: EventModel) -> None:
    bus = await JetStreamBus.connect(url)
    try:
        for event in events:
            await bus.publish(event)
    finally:
        await bus.close()


async def _read(url: str, stream: str, count: int, timeout: float = 30.0) -> list[EventModel]:
    """The first ``count`` events of ``stream`` (a durable of the test's own)."""
    bus = await JetStreamBus.connect(url)
    got: list[EventModel] = []
    done = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        got.append(delivery.event)
        if len(got) >= count:
            done.set()

    try:
        consumer = await bus.consume(stream, f"test-{time.time_ns()}", handle)
        await asyncio.wait_for(done.wait(), timeout)
        await consumer.stop()
    finally:
        await bus.close()
    return got


def _result(url: str, plan_id: str, results: int) -> ExecutionResultEvent:
    found = [
        e
        for e in asyncio.run(_read(url, "EXECUTED", results))
        if isinstance(e, ExecutionResultEvent) and e.plan_id == plan_id
    ]
    assert len(found) == 1, found
    return found[0]


def test_kill_halts_three_processes_nothing_new_is_sent_and_a_restart_stays_halted(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    url = server.url
    procs = {r: ServiceProcess(r, url, tmp_path / r) for r in ROLES}
    try:
        for p in procs.values():
            p.wait_running()
            assert p.engaged() in (None, 0.0)  # never thrown: the gauge may not be set yet
        planner, scanner = procs["planner"], procs["scanner"]

        # before: the executor tries the plan (it fails to build it: no market), not "halted"
        asyncio.run(_publish(url, _plan(1)))
        before = _result(url, "plan-ks-1", 1)
        assert "halted" not in (before.error or ""), before

        killed = cli(url, "kill", "--reason", "drill: stop everything", "--by", "ops-test")
        assert killed.returncode == 0, killed.stderr
        assert "HALTED" in killed.stdout and "drill: stop everything" in killed.stdout
        for p in procs.values():
            p.until(lambda p=p: p.engaged() == 1.0, 10, "halted")

        asyncio.run(_publish(url, _opportunity(1), _plan(2)))
        planner.until(
            lambda: planner.value("lstarb_opportunities_rejected_total", reason="halted") == 1.0,
            20,
            "the opportunity rejected as halted",
        )
        after = _result(url, "plan-ks-2", 2)
        assert after.status == "rejected"
        assert "halted" in (after.error or "") and "drill: stop everything" in (after.error or "")
        plans = asyncio.run(_read(url, "EXECUTION", 2))
        assert {e.id for e in plans if isinstance(e, ExecutionPlanEvent)} == {
            "plan-ks-1",
            "plan-ks-2",
        }  # the planner sent nothing of its own
        assert (
            scanner.value("lstarb_service_state", service="scanner", lstarb_service_state="running")
            == 1.0
        )  # scanners keep watching

        # a planner restarted while halted starts halted
        assert planner.stop() == 0
        again = ServiceProcess("planner", url, tmp_path / "planner-2")
        procs["planner"] = again
        again.wait_running()
        assert again.engaged() == 1.0

        resumed = cli(url, "resume", "--reason", "drill over", "--by", "ops-test")
        assert resumed.returncode == 0, resumed.stderr
        assert "running" in resumed.stdout and "HALTED" in resumed.stdout  # state, and before
        for p in procs.values():
            p.until(lambda p=p: p.engaged() == 0.0, 10, "resumed")

        audit = [
            e for e in asyncio.run(_read(url, "SYSTEM", 2)) if isinstance(e, SystemCommandEvent)
        ]
        assert [(e.command, e.reason, e.triggered_by) for e in audit] == [
            (Command.KILL_SWITCH, "drill: stop everything", "ops-test"),
            (Command.RESUME, "drill over", "ops-test"),
        ]
    finally:
        for p in procs.values():
            p.stop()


def test_kill_without_a_reason_is_refused_and_without_a_server_says_so(
    server: EmbeddedNats,
) -> None:
    empty = cli(server.url, "kill", "--reason", "  ")
    assert empty.returncode == 2 and "--reason" in empty.stderr
    nothing = cli(free_local_url(), "kill", "--reason", "x")
    assert nothing.returncode == 1 and "no NATS server answers" in nothing.stderr


def test_kill_before_any_run_creates_the_state_a_run_then_starts_in(
    server: EmbeddedNats,
) -> None:
    done = cli(server.url, "kill", "--reason", "before hours", "--json")
    assert done.returncode == 0, done.stderr
    assert '"halted": true' in done.stdout

    async def state() -> control.HaltState:
        bus = await JetStreamBus.connect(server.url)
        try:
            return await control.read(bus)
        finally:
            await bus.close()

    now = asyncio.run(state())
    assert now.halted and now.reason == "before hours" and now.by.startswith("cli:")


def test_a_breaker_in_a_system_process_halts_a_planner_process(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    url = server.url
    armed = {
        "LSTARB_BREAKERS__PAPER": "true",
        "LSTARB_BREAKERS__CONSECUTIVE_FAILURES": "2",
        "LSTARB_BREAKERS__STALE_SECONDS": "0",
    }
    system = ServiceProcess("system", url, tmp_path / "system", **armed)
    planner = ServiceProcess("planner", url, tmp_path / "planner")
    try:
        system.wait_running()
        planner.wait_running()
        failed = [
            ExecutionResultEvent(
                plan_id=f"plan-f{n}",
                opportunity_id=f"opp-f{n}",
                status="failed",
                paper=True,
                error="slippage",
                completed_ns=time.time_ns(),
            )
            for n in range(2)
        ]
        asyncio.run(_publish(url, failed[0]))
        time.sleep(0.5)
        assert planner.engaged() in (None, 0.0)  # one failure: under the limit
        asyncio.run(_publish(url, failed[1]))
        planner.until(lambda: planner.engaged() == 1.0, 20, "halted by the breaker")
        assert system.value("lstarb_breaker_trips_total", breaker="consecutive_failures") == 1.0
        [audit] = [
            e for e in asyncio.run(_read(url, "SYSTEM", 1)) if isinstance(e, SystemCommandEvent)
        ]
        assert audit.triggered_by == "auto:consecutive_failures"
        assert "2 executions in a row" in audit.reason and "plan-f1" in audit.reason
    finally:
        system.stop()
        planner.stop()
