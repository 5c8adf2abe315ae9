"""The system manager service on a real nats-server: each breaker, fed through its stream,
throws the kill switch with its reason (``auto:<breaker>``), audited on SYSTEM and counted in
``lstarb_breaker_trips_total``; SYSTEM commands published directly reach the switch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.builtin.replay import ReplaySource
from lstarb_runtime.bus import Bus, Delivery, EmbeddedNats, JetStreamBus
from lstarb_runtime.config import Settings
from lstarb_runtime.control import state as control
from lstarb_runtime.control.breakers import (
    BREAKERS,
    CONSECUTIVE_FAILURES,
    DAILY_LOSS,
    NO_SUCCESS,
    SLOT_DRIFT,
    STALE_DATA,
    WALLET_FLOOR,
    WALLET_METRIC,
)
from lstarb_runtime.control.settings import BreakerSettings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.system import SystemManager
from lstarb_sdk import DataSource, PluginContext, hookimpl
from lstarb_sdk.events import (
    AccountEvent,
    Command,
    ExecutionResultEvent,
    MetricEvent,
    SystemCommandEvent,
)
from lstarb_sdk.events.examples import example_account, example_plan
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)

SOL = 1_000_000_000
BREAKERS_ON = BreakerSettings(
    paper=True,
    consecutive_failures=3,
    daily_loss_sol=1.0,
    no_success_hours=1.0 / 3600,  # 1 s
    stale_seconds=0.5,
    max_slot_drift=300,
    wallet_floor_sol=0.1,
    check_interval_seconds=0.05,
)


@pytest.fixture
async def bus(nats_server: EmbeddedNats) -> AsyncIterator[JetStreamBus]:  # noqa: F811
    js = await fresh_jetstream_bus(nats_server.url)
    yield js
    await js.close()


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _state(bus: Bus) -> control.HaltState:
    return await control.read(bus)


def _result(n: int, status: str, profit: int = 0) -> ExecutionResultEvent:
    return ExecutionResultEvent(
        plan_id=f"plan-{n}",
        opportunity_id=f"opp-{n}",
        status=status,
        paper=True,
        realized_profit=profit,
        completed_ns=time.time_ns(),
        error=None if status == "landed" else "slippage",
    )


def _account(source: str, slot: int, n: int) -> AccountEvent:
    return example_account(slot=slot).model_copy(
        update={"source": source, "received_ns": time.time_ns(), "write_version": n}
    )


async def consecutive_failures(bus: Bus) -> None:
    for n in range(3):
        await bus.publish(_result(n, "failed", -5_000))


async def daily_loss(bus: Bus) -> None:
    for n in range(2):
        await bus.publish(_result(n, "landed", -6 * SOL // 10))


async def no_success(bus: Bus) -> None:
    for n in range(2):
        await bus.publish(example_plan().model_copy(update={"id": f"plan-{n}"}))


async def stale_data(bus: Bus) -> None:
    await bus.publish(_account("rpc", 1_000, 1))  # then nothing


async def slot_drift(bus: Bus) -> None:
    for n, (source, slot) in enumerate([("rpc", 1_000), ("geyser", 1_400)]):
        await bus.publish(_account(source, slot, n))
    for n in range(40):  # both keep updating: the data is not stale, the sources disagree
        await bus.publish(_account("rpc", 1_000 + n, 10 + n))
        await asyncio.sleep(0.01)


async def wallet_floor(bus: Bus) -> None:
    await bus.publish(MetricEvent(name=WALLET_METRIC, value=SOL // 20, labels={"wallet": "W1"}))


SCENARIOS: dict[str, Callable[[Bus], Awaitable[None]]] = {
    CONSECUTIVE_FAILURES: consecutive_failures,
    DAILY_LOSS: daily_loss,
    NO_SUCCESS: no_success,
    STALE_DATA: stale_data,
    SLOT_DRIFT: slot_drift,
    WALLET_FLOOR: wallet_floor,
}


def _manager(bus: Bus, breakers: BreakerSettings, *, paper: bool = True) -> SystemManager:
    settings = Settings(breakers=breakers)
    env = ServiceEnv(bus, PluginHost(), PluginContext(paper=paper), settings, HaltSwitch())
    return SystemManager(env)


@pytest.mark.parametrize("breaker", BREAKERS)
async def test_each_breaker_trips_the_kill_switch_with_its_reason(
    bus: JetStreamBus, breaker: str
) -> None:
    if breaker != STALE_DATA:  # keep the data fresh where staleness is not the scenario
        settings = BREAKERS_ON.model_copy(update={"stale_seconds": 0.0})
    else:
        settings = BREAKERS_ON
    manager = _manager(bus, settings)
    await manager.env.halt.follow(bus)
    await manager.start()
    running = asyncio.create_task(manager.run())
    trips_before = metrics.BREAKER_TRIPS.labels(breaker=breaker)._value.get()
    try:
        await SCENARIOS[breaker](bus)
        await _until(lambda: manager.halted)
        state = await _state(bus)
        assert state.halted and state.by == f"auto:{breaker}" and state.reason
        assert dict(manager.trips) == {breaker: 1}  # this breaker, and no other
        assert metrics.BREAKER_TRIPS.labels(breaker=breaker)._value.get() == trips_before + 1
        assert manager.env.halt.reason == f"kill switch (by auto:{breaker}): {state.reason}"
    finally:
        await manager.stop()
        await running
        await manager.env.halt.stop()
    audit: list[SystemCommandEvent] = []

    async def handle(delivery: Delivery) -> None:
        assert isinstance(delivery.event, SystemCommandEvent)
        audit.append(delivery.event)

    consumer = await bus.consume("SYSTEM", "audit", handle)
    await _until(lambda: len(audit) == 1)
    await consumer.stop()
    assert audit[0].command is Command.KILL_SWITCH and audit[0].triggered_by == f"auto:{breaker}"


async def test_a_paper_run_watches_but_does_not_trip_unless_armed(bus: JetStreamBus) -> None:
    manager = _manager(bus, BREAKERS_ON.model_copy(update={"paper": False, "stale_seconds": 0}))
    await manager.env.halt.follow(bus)
    await manager.start()
    running = asyncio.create_task(manager.run())
    try:
        await consecutive_failures(bus)
        await _until(lambda: manager.would_trip[CONSECUTIVE_FAILURES] == 1)
        assert not manager.halted and not (await _state(bus)).halted
        assert dict(manager.summary()) == {
            "breakers": "not armed (paper run)",
            "would have tripped": "1 consecutive_failures",
        }
    finally:
        await manager.stop()
        await running
        await manager.env.halt.stop()


async def test_after_a_resume_the_breaker_counts_again(bus: JetStreamBus) -> None:
    manager = _manager(bus, BREAKERS_ON.model_copy(update={"stale_seconds": 0}))
    await manager.env.halt.follow(bus)
    await manager.start()
    running = asyncio.create_task(manager.run())
    try:
        await consecutive_failures(bus)
        await _until(lambda: manager.halted)
        await control.command(bus, halted=False, reason="looked into it", by="ops")
        await _until(lambda: not manager.halted)
        await bus.publish(_result(10, "failed"))  # one failure after the resume: not three
        await bus.publish(_result(11, "failed"))
        await asyncio.sleep(0.3)
        assert not manager.halted
        await bus.publish(_result(12, "failed"))
        await _until(lambda: manager.halted)
        assert manager.trips[CONSECUTIVE_FAILURES] == 2
    finally:
        await manager.stop()
        await running
        await manager.env.halt.stop()


async def test_a_system_command_published_directly_reaches_the_switch(bus: JetStreamBus) -> None:
    off = BreakerSettings(
        consecutive_failures=0,
        daily_loss_sol=0,
        no_success_hours=0,
        stale_seconds=0,
        max_slot_drift=0,
    )
    manager = _manager(bus, off)
    other = HaltSwitch()  # another process's switch: it hears the bucket, not SYSTEM
    await other.follow(bus)
    await manager.env.halt.follow(bus)
    await manager.start()
    running = asyncio.create_task(manager.run())
    try:
        now = time.time_ns()
        await bus.publish(
            SystemCommandEvent(
                id="raw-1",
                command=Command.KILL_SWITCH,
                reason="outage",
                triggered_by="noc",
                time_ns=now,
            )
        )
        await _until(lambda: other.halted)
        assert other.reason == "kill switch (by noc): outage"
        # an older command (history, or the audit copy of one applied) does not undo it
        await bus.publish(
            SystemCommandEvent(id="old", command=Command.RESUME, reason="old", time_ns=now - 1)
        )
        await bus.publish(
            SystemCommandEvent(id="raw-2", command=Command.RESUME, reason="fixed", time_ns=now + 1)
        )
        await _until(lambda: not other.halted)
        assert other.reason == "resume: fixed"
        assert manager.stats.counters["SYSTEM commands applied to the switch"] == 2
    finally:
        await manager.stop()
        await running
        await manager.env.halt.stop()
        await other.stop()


async def test_an_unreadable_state_halts(bus: JetStreamBus) -> None:
    await bus.kv(control.BUCKET).put(control.KEY, b"{not json")
    halt = HaltSwitch()
    await halt.follow(bus)
    try:
        assert halt.halted and "not JSON" in halt.reason
        await control.command(bus, halted=False, reason="repaired", by="ops")
        await _until(lambda: not halt.halted)
    finally:
        await halt.stop()


class _Chain:
    """A plugin whose data source reads these accounts (the runtime's replay source)."""

    LSTARB_SDK_API = "1.1"

    def __init__(self, accounts: dict[Pubkey, Account]) -> None:
        self.accounts = accounts

    @hookimpl
    def lstarb_data_sources(self, context: PluginContext) -> list[DataSource]:
        return [ReplaySource(self.accounts)]


async def test_the_wallet_floor_reads_balances_through_the_data_sources(
    bus: JetStreamBus,
) -> None:
    rich, poor = Pubkey.new_unique(), Pubkey.new_unique()
    chain = {
        rich: Account(lamports=2 * SOL, data=b"", owner=SYSTEM_PROGRAM_ID),
        poor: Account(lamports=SOL // 20, data=b"", owner=SYSTEM_PROGRAM_ID),
    }
    host = PluginHost()
    host.register_object("chain", _Chain(chain))
    settings = Settings(
        breakers=BreakerSettings(
            wallet_floor_sol=0.1,
            wallets=[str(rich)],
            wallet_check_seconds=0.05,
            stale_seconds=0,
        )
    )
    live = PluginContext(paper=False)  # a live run: the wallets of its results are watched
    manager = SystemManager(ServiceEnv(bus, host, live, settings, HaltSwitch()))
    await manager.env.halt.follow(bus)
    await manager.start()
    running = asyncio.create_task(manager.run())
    try:
        await _until(lambda: manager.stats.counters["wallet balances read"] >= 3)
        assert not manager.halted  # the configured wallet holds 2 SOL
        paper_result = _result(1, "landed").model_copy(update={"wallet": bytes(poor)})
        await bus.publish(paper_result)  # a paper result's wallet is not a chain wallet
        await asyncio.sleep(0.3)
        assert not manager.halted and poor not in manager.wallets
        live_result = _result(2, "landed").model_copy(
            update={"wallet": bytes(poor), "paper": False}
        )
        await bus.publish(live_result)
        await _until(lambda: manager.halted)
        state = await _state(bus)
        assert state.by == "auto:wallet_floor" and str(poor) in state.reason
        assert "0.050000000 SOL" in state.reason and dict(manager.trips) == {WALLET_FLOOR: 1}
    finally:
        await manager.stop()
        await running
        await manager.env.halt.stop()


async def test_a_restarted_system_manager_goes_on_counting(bus: JetStreamBus) -> None:
    settings = BREAKERS_ON.model_copy(update={"stale_seconds": 0.0, "no_success_hours": 0.0})
    first = _manager(bus, settings)
    await first.env.halt.follow(bus)
    await first.start()
    running = asyncio.create_task(first.run())
    await bus.publish(_result(1, "landed", -6 * SOL // 10))  # today's loss: 0.6 of 1 SOL
    await bus.publish(_result(2, "failed"))
    await bus.publish(_result(3, "failed"))  # two of three failures in a row
    await _until(lambda: first.breakers.failures == 2)
    await first.stop()
    await running
    await first.env.halt.stop()
    assert not first.halted

    second = _manager(bus, settings)
    await second.env.halt.follow(bus)
    await second.start()
    running = asyncio.create_task(second.run())
    try:
        assert second.stats.counters["breaker counts restored"] == 1
        assert (second.breakers.failures, second.breakers.day_profit) == (2, -6 * SOL // 10)
        await bus.publish(_result(4, "failed", -5_000))
        await _until(lambda: second.halted)  # the third failure in a row, across the restart
        assert dict(second.trips) == {CONSECUTIVE_FAILURES: 1}
        assert second.breakers.day_profit == -6 * SOL // 10 - 5_000
        assert list(second.breakers.counted) == ["plan-1", "plan-4"]
    finally:
        await second.stop()
        await running
        await second.env.halt.stop()
