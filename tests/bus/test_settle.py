"""A handler that returns a ``Settle`` (a publish's acknowledgement): its event is acknowledged
once that completes, a failure gives it back, and the consumer hands over the next event
meanwhile (on a real nats-server; the memory bus settles before the next, and both redeliver a
failure the same way)."""

from __future__ import annotations

import asyncio

from lstarb_runtime.bus import Bus, Delivery, EmbeddedNats, JetStreamBus, Settle
from lstarb_sdk.events import OpportunityEvent
from lstarb_sdk.events.examples import example_opportunity

from .conftest import fresh_jetstream_bus
from .test_behaviour import until


async def pending(bus: Bus, durable: str) -> int:
    """Events of OPPORTUNITIES the group has not acknowledged (delivered or not)."""
    states = {s.name: s for s in await bus.stream_states()}
    return states["OPPORTUNITIES"].consumers[durable]


class Gated:
    """Returns an open future for the ids in ``gated`` (resolved by the test), None otherwise."""

    def __init__(self, *gated: str) -> None:
        self.gates: dict[str, asyncio.Future[None]] = {}
        self.gated = set(gated)
        self.got: list[str] = []

    async def __call__(self, d: Delivery) -> Settle | None:
        assert isinstance(d.event, OpportunityEvent)
        self.got.append(d.event.id)
        if d.event.id not in self.gated:
            return None
        gate = self.gates[d.event.id] = asyncio.get_running_loop().create_future()
        return gate


async def test_the_next_event_is_handled_while_one_settles(js_bus: JetStreamBus) -> None:
    handler = Gated("a")
    consumer = await js_bus.consume("OPPORTUNITIES", "settle-next", handler)
    for oid in ("a", "b", "c"):
        await js_bus.publish(example_opportunity(oid))
    await until(lambda: handler.got == ["a", "b", "c"])  # b and c did not wait for a's gate
    assert await pending(js_bus, "settle-next") == 1  # a: delivered, not acknowledged
    assert consumer.stats.handled == 2
    handler.gates["a"].set_result(None)
    await until(lambda: consumer.stats.handled == 3)
    assert await pending(js_bus, "settle-next") == 0
    assert handler.got == ["a", "b", "c"]  # acknowledged once: never delivered again
    await consumer.stop()


async def test_a_failed_settle_gives_the_event_back(any_bus: Bus) -> None:
    handler = Gated("a")
    consumer = await any_bus.consume("OPPORTUNITIES", "settle-fail", handler)
    await any_bus.publish(example_opportunity("a"))
    await until(lambda: "a" in handler.gates)
    first = handler.gates["a"]
    first.set_exception(RuntimeError("the plan was refused"))
    await until(lambda: handler.got.count("a") == 2)  # redelivered
    assert consumer.stats.failed == 1
    handler.gates["a"].set_result(None)
    await until(lambda: consumer.stats.handled == 1)
    assert await pending(any_bus, "settle-fail") == 0
    await consumer.stop()


async def test_stop_waits_for_what_is_settling(js_bus: JetStreamBus) -> None:
    handler = Gated("a")
    consumer = await js_bus.consume("OPPORTUNITIES", "settle-stop", handler)
    await js_bus.publish(example_opportunity("a"))
    await until(lambda: "a" in handler.gates)
    asyncio.get_running_loop().call_later(0.1, handler.gates["a"].set_result, None)
    await consumer.stop()  # returns once a is acknowledged, not before
    assert consumer.stats.handled == 1
    assert await pending(js_bus, "settle-stop") == 0


async def test_locally_the_next_event_is_handled_while_one_settles(
    nats_server: EmbeddedNats,
) -> None:
    """Local delivery (one process): same rule. A local event whose handler returned an open
    future is not done: its server copy stays unacknowledged; a failure leaves the event to
    its server copy, handled like any other."""
    await (await fresh_jetstream_bus(nats_server.url)).close()
    bus = await JetStreamBus.connect(
        nats_server.url, fetch_timeout=0.2, ack_wait=2.0, local_delivery=True
    )
    try:
        handler = Gated("a", "b")
        consumer = await bus.consume("OPPORTUNITIES", "settle-local", handler)
        for oid in ("a", "b", "c"):
            await bus.publish(example_opportunity(oid))
        await until(lambda: handler.got == ["a", "b", "c"])  # none waited for a's gate
        assert consumer.stats.local == 1  # c; a and b are settling
        handler.gates["a"].set_result(None)
        handler.gates["b"].set_exception(RuntimeError("the plan was refused"))
        await until(lambda: handler.got.count("b") == 2)  # from its server copy
        handler.gates["b"].set_result(None)
        await until(lambda: consumer.stats.handled == 1)
        assert await pending(bus, "settle-local") == 0
        assert consumer.stats.local == 2 and consumer.stats.failed == 1
        assert handler.got.count("a") == 1 and handler.got.count("c") == 1
        await consumer.stop()
    finally:
        await bus.close()
