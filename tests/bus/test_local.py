"""Local delivery on a real nats-server: an event published through a bus goes at once to
that bus's own consumers of it, its server copy is acknowledged without being handled, a
failing local handler leaves the event to its server copy, and with it off nothing changes.

A second bus on its own connection stands for another process of the same consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from lstarb_runtime.bus import Bus, Delivery, EmbeddedNats, Handler, JetStreamBus, TraceContext
from lstarb_runtime.bus.interface import MSG_ID
from lstarb_runtime.bus.tracing import current_trace
from lstarb_runtime.executor.store import Lost, PlanStore
from lstarb_sdk.events import ExecutionPlanEvent, OpportunityEvent
from lstarb_sdk.events.examples import example_account, example_opportunity, example_plan

from .conftest import fresh_jetstream_bus
from .test_behaviour import Collector, until


@pytest.fixture
async def local_bus(nats_server: EmbeddedNats) -> AsyncIterator[JetStreamBus]:
    """A bus with local delivery on (fresh streams)."""
    await (await fresh_jetstream_bus(nats_server.url)).close()
    bus = await JetStreamBus.connect(
        nats_server.url, fetch_timeout=0.2, ack_wait=2.0, local_delivery=True
    )
    yield bus
    await bus.close()


async def _pending(bus: Bus, stream: str, group: str) -> int:
    states = {s.name: s for s in await bus.stream_states()}
    return states[stream].consumers.get(group, -1)


async def _settled(bus: Bus, stream: str, group: str) -> None:
    """Until the server has nothing pending for ``group`` (every copy acknowledged)."""
    async with asyncio.timeout(10):
        while await _pending(bus, stream, group) != 0:
            await asyncio.sleep(0.02)


async def test_a_published_event_is_handed_to_this_process_and_its_copy_acked_unhandled(
    local_bus: JetStreamBus,
) -> None:
    col = Collector()
    consumer = await local_bus.consume("OPPORTUNITIES", "planner", col)
    opp = example_opportunity("local-1")
    root = TraceContext.new()
    sent = await local_bus.publish_nowait(opp, trace=root)
    await until(lambda: len(col.got) == 1)
    got = col.got[0]
    assert got.event is opp  # the object as published: no decode, no copy through the server
    assert got.data == opp.encode()
    assert got.msg_id == "OPPORTUNITIES:local-1"
    assert got.headers[MSG_ID] == got.msg_id
    assert got.trace == root and got.sequence == 0 and got.num_delivered == 1
    assert (await sent).sequence >= 1  # still stored on the server
    await _settled(local_bus, "OPPORTUNITIES", "planner")
    await asyncio.sleep(0.3)  # a copy handled twice would show up here
    assert len(col.got) == 1
    assert consumer.stats.local == 1 and consumer.stats.copies == 1
    assert consumer.stats.handled == 0  # nothing came from the server to handle
    states = {s.name: s for s in await local_bus.stream_states()}
    assert states["OPPORTUNITIES"].messages == 1
    await consumer.stop()


async def test_an_idle_consumer_handles_it_inside_the_publish_a_busy_one_in_order_after(
    local_bus: JetStreamBus,
) -> None:
    """With nothing queued and the consumer idle, its handler runs in the publisher's turn
    (done when ``publish_nowait`` returns); while it waits, what follows queues behind it."""
    release = asyncio.Event()
    order: list[str] = []
    traces: list[TraceContext | None] = []

    async def handler(d: Delivery) -> None:
        oid = d.event.id  # type: ignore[attr-defined]
        order.append(f"start {oid}")
        traces.append(current_trace.get())
        if oid == "slow":
            await release.wait()
        order.append(f"end {oid}")

    consumer = await local_bus.consume("OPPORTUNITIES", "planner", handler)
    root = TraceContext.new()
    await local_bus.publish_nowait(example_opportunity("quick"), trace=root)
    assert order == ["start quick", "end quick"]  # handled inside the publish
    assert current_trace.get() is None  # the handler's trace did not leak into the caller
    await local_bus.publish_nowait(example_opportunity("slow"))
    assert order[-1] == "start slow"  # ran up to its wait, inside the publish
    await local_bus.publish_nowait(example_opportunity("after"))
    assert order[-1] == "start slow"  # queued: the consumer is busy with "slow"
    release.set()
    await until(lambda: order[-1] == "end after")
    assert order == [
        *("start quick", "end quick"),
        *("start slow", "end slow"),
        *("start after", "end after"),
    ]
    assert traces[0] == root
    await _settled(local_bus, "OPPORTUNITIES", "planner")
    assert consumer.stats.local == 3 and consumer.stats.copies == 3
    await consumer.stop()


async def test_each_group_gets_it_once_in_publish_order_and_the_trace_is_current(
    local_bus: JetStreamBus,
) -> None:
    planner, tape = Collector(), Collector()
    traces: list[TraceContext | None] = []

    async def planner_handler(d: Delivery) -> None:
        traces.append(current_trace.get())
        await planner(d)

    consumers = [
        await local_bus.consume("OPPORTUNITIES", "planner", planner_handler),
        await local_bus.follow("OPPORTUNITIES", "tape", tape),
        await local_bus.follow("MARKET_DATA", "tape", Collector(), filter_subject="md.account.>"),
    ]
    ids = [f"o{i}" for i in range(40)]
    for oid in ids:
        await local_bus.publish_nowait(example_opportunity(oid))
    await local_bus.publish_nowait(example_opportunity("o0"))  # a duplicate: stored once
    await until(lambda: len(planner.got) == 40 and len(tape.got) == 40)
    for c in consumers[:2]:
        await _settled(local_bus, "OPPORTUNITIES", c.durable)
    assert [d.event.id for d in planner.got] == ids  # type: ignore[attr-defined]
    assert [d.event.id for d in tape.got] == ids  # type: ignore[attr-defined]
    assert traces == [d.trace for d in planner.got]
    assert [c.stats.copies for c in consumers[:2]] == [40, 40]
    # an opportunity does not go to the MARKET_DATA reader
    assert consumers[2].stats.local == 0
    for c in consumers:
        await c.stop()


async def test_a_local_handler_that_raises_leaves_the_event_to_its_server_copy(
    local_bus: JetStreamBus,
) -> None:
    calls: list[Delivery] = []
    done: list[Delivery] = []

    async def flaky(d: Delivery) -> None:
        calls.append(d)
        if len(calls) == 1:
            raise RuntimeError("the first attempt fails")
        done.append(d)

    consumer = await local_bus.consume("OPPORTUNITIES", "planner", flaky)
    await local_bus.publish_nowait(example_opportunity("fails-once"))
    await until(lambda: len(done) == 1)
    await _settled(local_bus, "OPPORTUNITIES", "planner")
    await asyncio.sleep(0.3)
    assert len(calls) == 2 and len(done) == 1  # one failure here, one success from the server
    assert calls[0].sequence == 0 and done[0].sequence >= 1
    assert consumer.stats.failed == 1 and consumer.stats.local == 0
    assert consumer.stats.handled == 1 and consumer.stats.copies == 0
    await consumer.stop()


async def test_a_copy_waits_while_the_local_handling_is_in_progress(
    local_bus: JetStreamBus,
) -> None:
    release = asyncio.Event()
    col = Collector()

    async def slow(d: Delivery) -> None:
        await release.wait()
        await col(d)

    consumer = await local_bus.consume("OPPORTUNITIES", "planner", slow)
    await local_bus.publish_nowait(example_opportunity("slow"))
    await asyncio.sleep(0.5)  # the copy has arrived and waits: not acknowledged, not handled
    assert await _pending(local_bus, "OPPORTUNITIES", "planner") == 1
    assert col.got == []
    release.set()
    await _settled(local_bus, "OPPORTUNITIES", "planner")
    assert len(col.got) == 1 and consumer.stats.copies == 1
    await consumer.stop()


async def test_what_a_stopped_consumer_left_queued_is_handled_from_the_server_next_time(
    local_bus: JetStreamBus,
) -> None:
    release = asyncio.Event()
    first = Collector()

    async def stuck(d: Delivery) -> None:
        await first(d)
        await release.wait()

    consumer = await local_bus.consume("OPPORTUNITIES", "planner", stuck, batch=1)
    for oid in ("a", "b", "c"):
        await local_bus.publish_nowait(example_opportunity(oid))
    await until(lambda: len(first.got) == 1)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.3)
    release.set()  # "a" finishes; "b" and "c" were never handled
    await stopping
    second = Collector()
    again = await local_bus.consume("OPPORTUNITIES", "planner", second)
    await until(lambda: len(second.got) == 2)
    await _settled(local_bus, "OPPORTUNITIES", "planner")
    assert [d.event.id for d in first.got] == ["a"]  # type: ignore[attr-defined]
    assert [d.event.id for d in second.got] == ["b", "c"]  # type: ignore[attr-defined]
    await again.stop()


async def test_local_delivery_off_changes_nothing(js_bus: JetStreamBus) -> None:
    assert js_bus.local is None
    col = Collector()
    consumer = await js_bus.consume("OPPORTUNITIES", "planner", col)
    opp = example_opportunity("server-only")
    await js_bus.publish_nowait(opp)
    await until(lambda: len(col.got) == 1)
    got = col.got[0]
    assert got.event is not opp and got.event == opp and got.sequence >= 1
    assert consumer.stats.handled == 1 and consumer.stats.local == consumer.stats.copies == 0
    await consumer.stop()


async def test_a_publish_refused_at_once_is_neither_stored_nor_handled(
    local_bus: JetStreamBus,
) -> None:
    col = Collector()
    consumer = await local_bus.consume("MARKET_DATA", "tape", col)
    huge = example_account().model_copy(update={"data": b"\0" * local_bus.nc.max_payload})
    sent = await local_bus.publish_nowait(huge)
    with pytest.raises(Exception, match="max_payload"):
        await sent
    with contextlib.suppress(Exception):
        await local_bus.flush()
    await local_bus.publish_nowait(example_account(slot=7))
    await until(lambda: len(col.got) == 1)
    assert col.got[0].event.slot == 7  # type: ignore[attr-defined]
    await consumer.stop()


def _plan(plan_id: str) -> ExecutionPlanEvent:
    return example_plan().model_copy(update={"id": plan_id})


async def test_split_processes_of_one_executor_group_send_each_plan_once(
    local_bus: JetStreamBus, nats_server: EmbeddedNats
) -> None:
    """Process A publishes plans and executes them locally; process B, in the same group,
    gets server copies A has not acknowledged yet and handles them: the record in the
    ``plans`` bucket (one ``create``, before anything is sent) lets exactly one of them send
    each plan."""
    other = await JetStreamBus.connect(nats_server.url, fetch_timeout=0.2, local_delivery=True)
    sent: list[tuple[str, str]] = []
    release = asyncio.Event()

    def executor(name: str, store: PlanStore, hold: bool) -> Handler:
        async def handle(d: Delivery) -> None:
            plan = d.event
            assert isinstance(plan, ExecutionPlanEvent)
            try:  # what the executor does once it has signed: record, then send
                await store.signed(plan, signature=f"sig-{name}-{plan.id}", plan_data=d.data)
            except Lost:  # the other recorded it first: nothing is sent
                pass
            else:
                sent.append((name, plan.id))
            if hold:  # A's trade takes long: its copies wait, the rest go to B
                await release.wait()

        return handle

    a = await local_bus.consume(
        "EXECUTION", "executor", executor("A", PlanStore(local_bus, "A"), True), batch=1
    )
    b = await other.consume(
        "EXECUTION", "executor", executor("B", PlanStore(other, "B"), False), batch=1
    )
    plans = [_plan(f"plan-{i}") for i in range(12)]
    for plan in plans:
        await local_bus.publish_nowait(plan)
    await until(lambda: b.stats.handled >= 5)
    release.set()
    await _settled(local_bus, "EXECUTION", "executor")
    await until(lambda: a.stats.local + a.stats.failed == 12)
    assert sorted(p for _, p in sent) == sorted(p.id for p in plans)  # each exactly once
    assert {who for who, _ in sent} == {"A", "B"}
    await a.stop()
    await b.stop()
    await other.close()


async def test_a_duplicate_opportunity_in_two_planners_is_one_plan(
    local_bus: JetStreamBus, nats_server: EmbeddedNats
) -> None:
    """Two planner processes that both handle one opportunity publish the same plan id: the
    server stores it once, and the executor gets it once."""
    from lstarb_runtime.planner.core import plan_id

    other = await JetStreamBus.connect(nats_server.url, fetch_timeout=0.2, local_delivery=True)
    col = Collector()
    consumer = await local_bus.consume("EXECUTION", "executor", col)
    opp = example_opportunity("twice")
    assert isinstance(opp, OpportunityEvent) and plan_id(opp) == plan_id(opp.model_copy())
    plan = _plan(plan_id(opp))
    first = await local_bus.publish(plan)
    second = await other.publish(plan)
    again = await local_bus.publish(plan)
    assert not first.duplicate and second.duplicate and again.duplicate
    await _settled(local_bus, "EXECUTION", "executor")
    await asyncio.sleep(0.3)
    assert len(col.got) == 1
    await consumer.stop()
    await other.close()


async def test_memory_is_bounded_and_a_copy_whose_id_was_forgotten_is_handled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each group remembers a bounded number of message ids, forgetting settled ones oldest
    first; a server copy that comes after its id was forgotten is handled like any event
    from the server (and counted), which every consumer tolerates (see the module)."""
    from lstarb_runtime.bus import local
    from lstarb_runtime.bus.interface import ConsumerStats

    monkeypatch.setattr(local, "REMEMBERED", 8)
    relay = local.LocalRelay()
    col = Collector()
    stats = ConsumerStats()
    member = relay.join("MARKET_DATA", "tape", col, "md.account.>", stats)
    events = [example_account(slot=slot) for slot in range(1, 21)]
    for n, event in enumerate(events, 1):
        msg_id = f"id-{event.slot}"
        offer = relay.offer("MARKET_DATA", "md.account.x", msg_id)
        assert offer is not None
        await relay.deliver(
            offer, "MARKET_DATA", "md.account.x", event, b"", msg_id, TraceContext.new(), {}
        )
        await until(lambda n=n: stats.local == n)  # settled: forgettable
    counts = relay.counts()["MARKET_DATA/tape"]
    assert counts.forgotten == 12  # no copy came for the 12 oldest before they were dropped
    assert not await member.handled("id-1")  # forgotten: its copy would be handled
    assert await member.handled("id-20")  # remembered: its copy is acknowledged unhandled
    assert relay.offer("MARKET_DATA", "md.account.x", "id-20") is None  # a duplicate
    assert relay.offer("MARKET_DATA", "md.other.x", "id-99") is None  # not the group's filter
    await member.leave()
