"""The service base: one life cycle for every service, the consume/ack policy, the kill switch
fed by the control bucket, draining, and publish counts that are what the server acknowledged.

The services here are small real services (a consumer of OPPORTUNITIES that publishes plans),
run on both buses: the base is what the planner, executor and auditor are built on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.bus import Bus, BusError, Delivery, EmbeddedNats, JetStreamBus, MemoryBus
from lstarb_runtime.config import Settings
from lstarb_runtime.control import state as control
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.base import (
    FLUSH_EVERY,
    LifecycleError,
    Service,
    ServiceEnv,
    ServiceState,
)
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk import PluginContext
from lstarb_sdk.events import Command, ExecutionPlanEvent, OpportunityEvent, SystemCommandEvent
from lstarb_sdk.events.examples import example_opportunity

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)


@pytest.fixture(params=["memory", "jetstream", "jetstream-local"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """``jetstream-local``: with local delivery, what the test publishes in this process goes
    to the services at once, and the base's policies must hold all the same."""
    if request.param == "memory":
        memory = MemoryBus()
        await memory.ensure_streams()
        yield memory
        await memory.close()
        return
    server: EmbeddedNats = request.getfixturevalue("nats_server")
    js = await fresh_jetstream_bus(server.url)
    if request.param == "jetstream-local":
        await js.close()
        js = await JetStreamBus.connect(
            server.url, fetch_timeout=0.2, ack_wait=2.0, local_delivery=True
        )
    yield js
    await js.close()


class Planish(Service):
    """Turns each opportunity into a plan; fails the first time it sees an id in ``flaky``."""

    role = "planish"
    stream_driven = True

    def __init__(self, env: ServiceEnv, flaky: set[str] | None = None) -> None:
        super().__init__(env)
        self.flaky = set(flaky or ())
        self.handled: list[str] = []
        self.halts: list[str] = []

    async def on_start(self) -> None:
        await self.consume("OPPORTUNITIES", self.plan)

    async def plan(self, delivery: Delivery) -> None:
        event = delivery.event
        assert isinstance(event, OpportunityEvent)
        if event.id in self.flaky:
            self.flaky.discard(event.id)
            raise RuntimeError(f"transient failure on {event.id}")
        self.handled.append(event.id)
        await self.emit(
            ExecutionPlanEvent(
                id=f"plan-{event.id}",
                opportunity_id=event.id,
                strategy=event.strategy,
                base_mint=event.base_mint,
                legs=event.legs,
                amount_in=1,
                min_out=1,
                expected_profit=0,
            )
        )

    def on_halt(self, reason: str) -> None:
        self.halts.append(reason)


def _env(bus: Bus) -> ServiceEnv:
    return ServiceEnv(bus, PluginHost(), PluginContext(), Settings(), HaltSwitch(), lambda s: None)


def _opportunity(n: int) -> OpportunityEvent:
    return example_opportunity().model_copy(update={"id": f"opp-{n}"})


async def _until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_life_cycle_is_the_same_calls_for_every_service(bus: Bus) -> None:
    service = Planish(_env(bus))
    assert service.state is ServiceState.INITIALIZED
    with pytest.raises(LifecycleError):
        await service.run()  # not started
    await service.start()
    assert service.state is ServiceState.READY and service.consumers
    running = asyncio.create_task(service.run())
    await asyncio.sleep(0.05)
    assert service.state is ServiceState.RUNNING
    service.degrade("acks late")
    assert service.state is ServiceState.DEGRADED and service.health().reason == "acks late"
    assert not service.health().ok
    service.recover()
    assert service.state is ServiceState.RUNNING
    await service.stop()
    await asyncio.wait_for(running, 5)
    assert service.state is ServiceState.STOPPED
    assert service.degradations == ["acks late"]


async def test_handled_events_are_acked_failures_redelivered_and_plans_confirmed(bus: Bus) -> None:
    service = Planish(_env(bus), flaky={"opp-2"})
    await service.start()
    running = asyncio.create_task(service.run())
    for n in range(5):
        await bus.publish(_opportunity(n))
    await bus.publish_raw("opp.garbage", b"not an event")
    assert await service.drain(timeout=10)
    await service.stop()
    await running
    assert sorted(service.handled) == [f"opp-{n}" for n in range(5)]  # opp-2 on its 2nd delivery
    [consumer] = service.consumers
    assert consumer.stats.failed == 1 and consumer.stats.malformed == 1
    assert service.stats.published["EXECUTION"] == 5
    assert bus.stats["EXECUTION"].acked == 5 and bus.stats["EXECUTION"].pending == 0
    report = service.report()
    assert report["consumed"]["OPPORTUNITIES/planish"]["malformed"] == 1
    assert report["published"]["EXECUTION"] == 5


async def test_kill_switch_from_the_control_bucket_gates_new_work_until_resumed(
    bus: Bus,
) -> None:
    env = _env(bus)
    service = Planish(env)
    await env.halt.follow(bus)
    await service.start()
    running = asyncio.create_task(service.run())
    await control.command(bus, halted=True, reason="drill", by="ops")
    await _until(lambda: service.halted)
    assert service.halts == ["kill switch (by ops): drill"]
    await bus.publish(_opportunity(1))
    await service.drain()
    assert service.handled == []
    assert service.stats.counters["OPPORTUNITIES: skipped while halted"] == 1
    await control.command(bus, halted=False, reason="drill over", by="ops")
    await _until(lambda: not service.halted)
    await bus.publish(_opportunity(2))
    await service.drain()
    assert service.handled == ["opp-2"]
    await service.stop()
    await running
    await env.halt.stop()


async def test_a_new_process_starts_in_the_halted_state_of_the_bucket(bus: Bus) -> None:
    await control.command(bus, halted=True, reason="held", by="ops")
    halt = HaltSwitch()
    await halt.follow(bus)
    assert halt.halted and "held" in halt.reason  # before follow returned: no service misses it
    await halt.stop()


async def test_the_command_is_audited_on_system(bus: Bus) -> None:
    seen: list[SystemCommandEvent] = []

    async def audit(delivery: Delivery) -> None:
        assert isinstance(delivery.event, SystemCommandEvent)
        seen.append(delivery.event)

    _, after = await control.command(bus, halted=True, reason="held", by="ops")
    consumer = await bus.consume("SYSTEM", "audit", audit)
    await _until(lambda: len(seen) == 1)
    await consumer.stop()
    assert seen[0].command is Command.KILL_SWITCH and seen[0].id == after.command_id
    assert (seen[0].reason, seen[0].triggered_by) == ("held", "ops")


async def test_a_service_that_fails_to_start_is_faulted_with_the_reason(bus: Bus) -> None:
    class Broken(Service):
        role = "broken"

        async def on_start(self) -> None:
            raise ValueError("no RPC url")

    service = Broken(_env(bus))
    with pytest.raises(ValueError):
        await service.start()
    assert service.state is ServiceState.FAULTED
    assert service.reason == "ValueError: no RPC url"
    await service.stop()  # releases what it holds; stays faulted
    assert service.state is ServiceState.FAULTED


async def test_a_failed_publish_confirmation_degrades_instead_of_killing(
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    ready = await fresh_jetstream_bus(nats_server.url)
    await ready.close()
    bus = await JetStreamBus.connect(
        nats_server.url, fetch_timeout=0.2, ack_timeout=0.2, flush_timeout=0.5
    )
    await bus.js.delete_stream("EXECUTION")  # no stream takes a plan: never acknowledged
    service = Planish(_env(bus))
    await service.start()
    running = asyncio.create_task(service.run())
    await asyncio.sleep(0)
    await service.emit(
        ExecutionPlanEvent(
            id="p",
            opportunity_id="o",
            strategy="s",
            base_mint=Pubkey.default(),
            legs=(),
            amount_in=1,
            min_out=1,
            expected_profit=0,
        )
    )
    await service.flush()
    assert service.state is ServiceState.DEGRADED
    assert "publishes not confirmed: 1" in service.reason
    assert service.stats.published["EXECUTION"] == 1
    assert bus.stats["EXECUTION"].acked == 0 and bus.stats["EXECUTION"].pending == 1
    await service.stop()
    await running
    assert service.state is ServiceState.STOPPED
    await bus.close()


class SlowAnswers(MemoryBus):
    """A server that answers a flush only when told to, and then with a refusal."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()
        self.flushes = 0

    async def flush(self) -> int:
        self.flushes += 1
        await self.answer.wait()
        raise BusError("publish to 'lstarb.opportunities' refused by the server: test")


async def test_emit_never_waits_for_the_answers_and_a_refusal_still_degrades() -> None:
    """Every FLUSH_EVERY publishes the answers are checked beside the hot path (one check at
    a time): the next emit goes out at once, and a refusal found degrades the service."""
    bus = SlowAnswers()
    await bus.ensure_streams()
    service = Planish(_env(bus))
    await service.start()
    running = asyncio.create_task(service.run())
    await asyncio.sleep(0)
    for n in range(2 * FLUSH_EVERY + 1):
        await asyncio.wait_for(service.emit(_opportunity(n)), 1)
    assert bus.flushes == 1 and service.state is ServiceState.RUNNING
    bus.answer.set()
    await _until(lambda: service.state is ServiceState.DEGRADED)
    assert "publishes refused" in service.reason and "test" in service.reason
    await asyncio.wait_for(service.emit(_opportunity(-1)), 1)
    assert bus.flushes == 2  # what was published meanwhile: checked at the next emit
    await service.stop()
    await running
