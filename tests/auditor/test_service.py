"""The auditor service in-process on a real nats-server: plans found for results that lack
them, a lost database connection retried (never a result dropped), a database that cannot be
reached named at start, the books kept while the kill switch is thrown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus
from lstarb_runtime.config import AuditorSettings, Settings
from lstarb_runtime.ledger import Ledger, LedgerError
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.auditor import Auditor
from lstarb_runtime.services.base import ServiceEnv, ServiceState
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk import PluginContext

from .auditor_testlib import plan_of, results


@pytest.fixture
async def bus(nats: EmbeddedNats) -> AsyncIterator[JetStreamBus]:
    bus = await JetStreamBus.connect(nats.url, fetch_timeout=0.2)
    await bus.ensure_streams()
    yield bus
    await bus.close()


def _auditor(bus: JetStreamBus, url: str) -> Auditor:
    settings = Settings(auditor=AuditorSettings(database_url=SecretStr(url)))
    env = ServiceEnv(bus, PluginHost(), PluginContext(), settings, HaltSwitch(), lambda s: None)
    return Auditor(env)


async def _running(auditor: Auditor) -> asyncio.Task[None]:
    await auditor.start()
    return asyncio.create_task(auditor.run())


async def _until(predicate: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _trades(url: str) -> dict[str, Any]:
    with Ledger.open(url, create=False) as ledger:
        return {t.plan_id: t for t in ledger.trades()}


async def test_a_result_without_legs_takes_them_from_its_plan(
    bus: JetStreamBus, ledger_url: str
) -> None:
    old, late = results(2, prefix="old")
    bare: dict[str, Any] = {"strategy": "", "legs": (), "base_mint": b"", "submitter": ""}
    old, late = old.model_copy(update=bare), late.model_copy(update=bare)
    await bus.publish(plan_of(old))  # on EXECUTION before the auditor starts
    auditor = _auditor(bus, ledger_url)
    run = await _running(auditor)
    try:
        await bus.publish(old)
        await bus.publish(late)  # its plan is published after it: the auditor waits for it
        await asyncio.sleep(0.3)
        await bus.publish(plan_of(late))
        await _until(lambda: auditor.outcomes["recorded"] == 2)
    finally:
        await auditor.stop()
        await run
    trades = _trades(ledger_url)
    for result in (old, late):
        plan = plan_of(result)
        trade = trades[result.plan_id]
        assert trade.strategy == plan.strategy != ""
        assert [leg.pool for leg in trade.legs] == [str(leg.pool) for leg in plan.legs]
        assert trade.route == " > ".join(f"{leg.dex}:{leg.pool}" for leg in plan.legs)
        assert trade.submitter == plan.submitter and trade.outcome == result.status
    assert auditor.stats.counters["plans found"] == 2
    assert auditor.state is ServiceState.STOPPED


async def test_a_lost_database_connection_is_retried_and_nothing_is_dropped(
    bus: JetStreamBus, postgres_url: str
) -> None:
    app = f"lstarb-auditor-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={app}"
    first, second = results(2, prefix="pg")
    auditor = _auditor(bus, url)
    run = await _running(auditor)
    try:
        await bus.publish(first)
        await _until(lambda: auditor.outcomes["recorded"] == 1)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                [app],
            ).fetchall()
        assert killed == [(True,)]
        await bus.publish(second)
        await _until(lambda: auditor.outcomes["recorded"] == 2)
    finally:
        await auditor.stop()
        await run
    assert auditor.stats.counters["ledger write retries"] >= 1
    assert any("lost the ledger database" in d for d in auditor.degradations)
    assert set(_trades(postgres_url)) == {first.plan_id, second.plan_id}
    assert auditor.state is ServiceState.STOPPED  # recovered, then stopped cleanly


async def test_a_database_that_cannot_be_reached_fails_the_start_naming_it(
    bus: JetStreamBus,
) -> None:
    auditor = _auditor(bus, "postgresql://lstarb:hunter2@127.0.0.1:1/ledger")
    with pytest.raises(LedgerError, match=r"cannot connect to the ledger database") as raised:
        await auditor.start()
    assert "127.0.0.1:1/ledger" in str(raised.value) and "hunter2" not in str(raised.value)
    assert auditor.state is ServiceState.FAULTED
    await auditor.stop()


async def test_the_books_are_kept_while_the_kill_switch_is_thrown(
    bus: JetStreamBus, ledger_url: str
) -> None:
    auditor = _auditor(bus, ledger_url)
    run = await _running(auditor)
    try:
        auditor.env.halt.set(True, "test halt")
        sent = results(3, prefix="halted")
        for result in sent:
            await bus.publish(result)
        await _until(lambda: auditor.outcomes["recorded"] == 3)
    finally:
        await auditor.stop()
        await run
    assert set(_trades(ledger_url)) == {r.plan_id for r in sent}
