"""How a JetStream consumer pulls: a request always waits on the server, events are handled as
they arrive, ``batch=1`` asks only when idle, ``stop`` loses nothing and leaves nothing behind,
a dropped connection costs the request in force and nothing else.

On a real nats-server (the session's, through ``js_bus``). Behaviour is read from the server's
own view of the consumer (``num_ack_pending``: delivered, not acknowledged yet;
``num_waiting``: pull requests waiting), never from how long something took.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from nats.js.api import ConsumerInfo

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus
from lstarb_runtime.bus.embedded import parse_url
from lstarb_sdk.events import OpportunityEvent
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

from .conftest import fresh_jetstream_bus
from .proxy import FlakyProxy
from .test_behaviour import Collector, until


async def until_info(
    bus: JetStreamBus, stream: str, durable: str, cond: Callable[[ConsumerInfo], bool]
) -> ConsumerInfo:
    """Poll the server's info of a consumer until ``cond`` holds (the timeout bounds a hang)."""
    async with asyncio.timeout(10.0):
        while True:
            info = await bus.js.consumer_info(stream, durable)
            if cond(info):
                return info
            await asyncio.sleep(0.01)


def _oid(d: Delivery) -> str:
    assert isinstance(d.event, OpportunityEvent)
    return d.event.id


class Gate:
    """A handler that records each event and holds the first one until released."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, d: Delivery) -> None:
        self.got.append(_oid(d))
        if len(self.got) == 1:
            self.holding.set()
            await self.release.wait()


async def test_an_event_published_while_one_is_handled_is_delivered_at_once(
    js_bus: JetStreamBus,
) -> None:
    """A fetch loop asks again only after its batch is handled; this consumer's request is
    still waiting, so the server pushes the second event while the first handler runs."""
    gate = Gate()
    consumer = await js_bus.consume("OPPORTUNITIES", "pull-push", gate, batch=16)
    await js_bus.publish(example_opportunity("a"))
    await asyncio.wait_for(gate.holding.wait(), 10)
    await js_bus.publish(example_opportunity("b"))
    info = await until_info(js_bus, "OPPORTUNITIES", "pull-push", lambda i: i.num_ack_pending == 2)
    assert info.num_pending == 0 and gate.got == ["a"]  # delivered, waiting for its turn
    gate.release.set()
    await until(lambda: gate.got == ["a", "b"])
    info = await until_info(js_bus, "OPPORTUNITIES", "pull-push", lambda i: i.num_ack_pending == 0)
    assert info.num_waiting == 1  # idle: the next request already waits
    await consumer.stop()


async def test_events_are_handled_in_stream_order_as_they_arrive(js_bus: JetStreamBus) -> None:
    col = Collector()
    consumer = await js_bus.consume("OPPORTUNITIES", "pull-order", col, batch=4)
    ids = [f"o-{i}" for i in range(40)]
    for oid in ids:
        await js_bus.publish_nowait(example_opportunity(oid))
    await js_bus.flush()
    await until(lambda: len(col.got) == len(ids))
    assert [_oid(d) for d in col.got] == ids
    assert [d.sequence for d in col.got] == sorted(d.sequence for d in col.got)
    await consumer.stop()


async def test_with_batch_one_a_busy_member_leaves_the_next_event_to_an_idle_one(
    js_bus: JetStreamBus,
) -> None:
    """Two members of one durable, ``batch=1``: the one holding an event asks for nothing more,
    so every later event goes to the other while the first is busy."""
    gate = Gate()
    first = await js_bus.consume("OPPORTUNITIES", "pull-one", gate, batch=1)
    await js_bus.publish(example_opportunity("a"))
    await asyncio.wait_for(gate.holding.wait(), 10)
    other = Collector()
    second = await js_bus.consume("OPPORTUNITIES", "pull-one", other, batch=1)
    for oid in ("b", "c", "d"):
        await js_bus.publish(example_opportunity(oid))
    await until(lambda: len(other.got) == 3)
    assert [_oid(d) for d in other.got] == ["b", "c", "d"] and gate.got == ["a"]
    info = await until_info(js_bus, "OPPORTUNITIES", "pull-one", lambda i: i.num_ack_pending == 1)
    assert info.num_pending == 0  # only "a", held by the busy member, is unacknowledged
    gate.release.set()
    await until_info(js_bus, "OPPORTUNITIES", "pull-one", lambda i: i.num_ack_pending == 0)
    assert gate.got == ["a"]
    await asyncio.gather(first.stop(), second.stop())


async def test_a_stop_with_events_in_flight_loses_none_and_handles_none_twice(
    js_bus: JetStreamBus,
) -> None:
    """Stopped while it holds an event, with more delivered behind it and more published
    during the stop: the next run on the same durable gets every one the first did not
    handle, and the stopped consumer leaves no pull request on the server."""
    handled: Counter[str] = Counter()
    gate = Gate()

    async def first_run(d: Delivery) -> None:
        handled[_oid(d)] += 1
        await gate(d)

    ids = [f"s-{i}" for i in range(30)]
    consumer = await js_bus.consume("OPPORTUNITIES", "pull-stop", first_run, batch=8)
    for oid in ids[:10]:
        await js_bus.publish(example_opportunity(oid))
    await asyncio.wait_for(gate.holding.wait(), 10)
    await until_info(js_bus, "OPPORTUNITIES", "pull-stop", lambda i: i.num_ack_pending == 8)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0)
    for oid in ids[10:20]:  # while the stop waits for the event in hand
        await js_bus.publish(example_opportunity(oid))
    gate.release.set()
    await stopping
    info = await js_bus.js.consumer_info("OPPORTUNITIES", "pull-stop")
    assert info.num_waiting == 0  # nothing left to swallow what the next run should get
    for oid in ids[20:]:
        await js_bus.publish(example_opportunity(oid))

    async def second_run(d: Delivery) -> None:
        handled[_oid(d)] += 1

    again = await js_bus.consume("OPPORTUNITIES", "pull-stop", second_run, batch=8)
    await until(lambda: set(handled) == set(ids))
    await until_info(
        js_bus,
        "OPPORTUNITIES",
        "pull-stop",
        lambda i: i.num_ack_pending == 0 and i.num_pending == 0,
    )
    assert handled == Counter(ids)  # each exactly once
    assert handled["s-0"] == 1 and gate.got[0] == "s-0"
    await again.stop()


async def test_a_stop_finishes_the_event_in_hand_when_no_request_is_in_force(
    js_bus: JetStreamBus,
) -> None:
    """``batch=1``: while its event is handled no pull request waits on the server, so a stop
    has nothing to wait for but the event itself (handled in the subscription's task, as it
    arrived): it is finished and acknowledged, not cut off when the subscription goes."""
    gate = Gate()
    finished: list[str] = []

    async def handler(d: Delivery) -> None:
        await gate(d)
        finished.append(_oid(d))

    consumer = await js_bus.consume("OPPORTUNITIES", "pull-stop-one", handler, batch=1)
    await js_bus.publish(example_opportunity("x"))
    await asyncio.wait_for(gate.holding.wait(), 10)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.2)  # a stop that does not wait is through by now
    gate.release.set()
    await stopping
    assert finished == ["x"]
    # acknowledged (the server applies acks on its own time: asked until it has)
    info = await until_info(
        js_bus, "OPPORTUNITIES", "pull-stop-one", lambda i: i.num_ack_pending == 0
    )
    assert (info.num_pending, info.num_waiting, info.num_redelivered) == (0, 0, 0)


async def test_malformed_messages_are_terminated_between_good_ones(js_bus: JetStreamBus) -> None:
    col = Collector()
    consumer = await js_bus.consume("MARKET_DATA", "pull-malformed", col, batch=2)
    for slot in range(1, 7):
        if slot % 2:
            await js_bus.publish(example_pool_state(slot=slot))
        else:
            await js_bus.publish_raw(f"md.raydium.bad{slot}", b"not an event %d" % slot)
    await until(lambda: len(col.got) == 3 and consumer.stats.malformed == 3)
    slots = [getattr(d.event, "slot", None) for d in col.got]
    assert slots == [1, 3, 5]
    info = await until_info(
        js_bus, "MARKET_DATA", "pull-malformed", lambda i: i.num_ack_pending == 0
    )
    assert info.num_redelivered == 0 and info.num_pending == 0
    await consumer.stop()


async def test_a_failed_handler_gets_the_event_again_and_none_behind_it_is_lost(
    js_bus: JetStreamBus,
) -> None:
    """nak(delay) on a handler error, as before: the event comes back, none is skipped."""
    seen: list[str] = []
    failed: set[str] = set()

    async def flaky(d: Delivery) -> None:
        oid = _oid(d)
        seen.append(oid)
        if oid == "f-1" and oid not in failed:
            failed.add(oid)
            raise RuntimeError("first time fails")

    consumer = await js_bus.consume("OPPORTUNITIES", "pull-flaky", flaky, batch=4)
    for i in range(4):
        await js_bus.publish(example_opportunity(f"f-{i}"))
    await until(lambda: seen.count("f-1") == 2 and len(set(seen)) == 4)
    await until_info(js_bus, "OPPORTUNITIES", "pull-flaky", lambda i: i.num_ack_pending == 0)
    assert Counter(seen) == Counter({"f-0": 1, "f-1": 2, "f-2": 1, "f-3": 1})
    assert consumer.stats.failed == 1
    await consumer.stop()


async def test_a_consumer_whose_connection_dropped_asks_again_and_misses_nothing(
    own_server: EmbeddedNats,
) -> None:
    """The pull request in force goes with the connection: after the reconnect the consumer
    sends a new one, and events stored while it was cut off arrive, each once.

    Not necessarily in order: an event the server handed to the old request in the instant
    before it saw the connection go is lost in transit and redelivered after ``ack_wait``,
    behind the ones the new request got (JetStream's redelivery, with up to ``batch`` in
    flight). Losing none and doubling none is what the consumer owes."""
    proxy = await FlakyProxy(*parse_url(own_server.url)).start()
    publisher = await fresh_jetstream_bus(own_server.url)
    bus = await JetStreamBus.connect(proxy.url, fetch_timeout=2.0, ack_wait=2.0)
    col = Collector()
    consumer = await bus.consume("OPPORTUNITIES", "pull-reconnect", col, batch=4)
    try:
        await publisher.publish(example_opportunity("r-0"))
        await until(lambda: len(col.got) == 1)
        await until_info(  # its acknowledgement is not what the cut loses
            publisher, "OPPORTUNITIES", "pull-reconnect", lambda i: i.num_ack_pending == 0
        )
        await proxy.drop()
        for i in range(1, 6):
            await publisher.publish(example_opportunity(f"r-{i}"))
        await until(lambda: len(col.got) >= 6)
        await until_info(
            publisher, "OPPORTUNITIES", "pull-reconnect", lambda i: i.num_ack_pending == 0
        )
        got = [_oid(d) for d in col.got]
        assert sorted(got) == [f"r-{i}" for i in range(6)]  # every one, none twice
        assert got[0] == "r-0"
        assert bus.stats.reconnects >= 1
    finally:
        await consumer.stop()
        await bus.close()
        await publisher.close()
        await proxy.close()
