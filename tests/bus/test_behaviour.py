"""Behaviour both buses share: de-duplication, durable catch-up, malformed messages skipped,
trace context, handler failure redelivery. Run against MemoryBus and a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from lstarb_runtime.bus import Bus, BusError, Delivery, TraceContext, current_trace
from lstarb_runtime.bus.interface import MSG_ID
from lstarb_sdk.events import OpportunityEvent, PoolStateEvent
from lstarb_sdk.events.examples import example_opportunity, example_plan, example_pool_state


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition (no timing assertion: the timeout only bounds a hang)."""
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


class Collector:
    def __init__(self) -> None:
        self.got: list[Delivery] = []

    async def __call__(self, d: Delivery) -> None:
        self.got.append(d)


async def test_same_message_id_is_stored_once(any_bus: Bus) -> None:
    ev = example_opportunity()
    first = await any_bus.publish(ev)
    second = await any_bus.publish(ev)
    assert not first.duplicate and second.duplicate
    assert second.sequence == first.sequence
    states = {s.name: s for s in await any_bus.stream_states()}
    assert states["OPPORTUNITIES"].messages == 1


async def test_consumer_stopped_and_restarted_gets_what_it_missed(any_bus: Bus) -> None:
    col = Collector()
    consumer = await any_bus.consume("OPPORTUNITIES", "planner", col)
    await any_bus.publish(example_opportunity("a"))
    await until(lambda: len(col.got) == 1)
    await consumer.stop()
    for oid in ("b", "c", "d"):
        await any_bus.publish(example_opportunity(oid))
    col2 = Collector()
    consumer = await any_bus.consume("OPPORTUNITIES", "planner", col2)
    await until(lambda: len(col2.got) == 3)
    assert [d.event.id for d in col2.got] == ["b", "c", "d"]  # type: ignore[attr-defined]
    assert [d.event.id for d in col.got] == ["a"]  # type: ignore[attr-defined]
    await consumer.stop()


async def test_malformed_message_is_counted_skipped_and_consumer_carries_on(
    any_bus: Bus,
) -> None:
    col = Collector()
    consumer = await any_bus.consume("MARKET_DATA", "scanner-test", col)
    await any_bus.publish(example_pool_state(slot=1))
    await any_bus.publish_raw("md.raydium.garbage", b"not a flatbuffer at all")
    await any_bus.publish_raw("md.raydium.wrongtype", example_opportunity().encode())
    await any_bus.publish_raw("md.raydium.truncated", example_pool_state(slot=2).encode()[:-5])
    await any_bus.publish(example_pool_state(slot=3))
    await until(lambda: len(col.got) == 2 and consumer.stats.malformed == 3)
    assert [d.event.slot for d in col.got] == [1, 3]  # type: ignore[attr-defined]
    await consumer.stop()
    # terminated, not redelivered: a restarted consumer has nothing pending
    states = {s.name: s for s in await any_bus.stream_states()}
    assert states["MARKET_DATA"].consumers["scanner-test"] == 0


async def test_publish_carries_message_id_and_trace_context(any_bus: Bus) -> None:
    col = Collector()
    consumer = await any_bus.consume("OPPORTUNITIES", "trace-test", col)
    root = TraceContext.new()
    await any_bus.publish(example_opportunity("t1"), trace=root)
    await until(lambda: len(col.got) == 1)
    d = col.got[0]
    assert d.msg_id == "OPPORTUNITIES:t1" and d.headers[MSG_ID] == d.msg_id
    assert d.trace == root
    assert isinstance(d.event, OpportunityEvent)
    await consumer.stop()


async def test_events_published_by_a_handler_continue_its_trace(any_bus: Bus) -> None:
    seen: list[TraceContext | None] = []

    async def planner(d: Delivery) -> None:
        seen.append(current_trace.get())
        await any_bus.publish(example_plan())

    plans = Collector()
    c1 = await any_bus.consume("OPPORTUNITIES", "planner-trace", planner)
    c2 = await any_bus.consume("EXECUTION", "executor-trace", plans)
    root = TraceContext.new()
    await any_bus.publish(example_opportunity("t2"), trace=root)
    await until(lambda: len(plans.got) == 1)
    trace = plans.got[0].trace
    assert seen == [root]
    assert trace is not None and trace.trace_id == root.trace_id
    assert trace.span_id != root.span_id
    await c1.stop()
    await c2.stop()


async def test_handler_failure_redelivers(any_bus: Bus) -> None:
    calls: list[int] = []

    async def flaky(d: Delivery) -> None:
        calls.append(d.num_delivered)
        if len(calls) == 1:
            raise RuntimeError("transient")

    consumer = await any_bus.consume("EXECUTION", "executor-flaky", flaky)
    await any_bus.publish(example_plan())
    await until(lambda: consumer.stats.handled == 1)
    assert calls == [1, 2] and consumer.stats.failed == 1
    await consumer.stop()


async def test_filtered_consumer_and_subjects(any_bus: Bus) -> None:
    col = Collector()
    consumer = await any_bus.consume(
        "MARKET_DATA", "raydium-only", col, filter_subject="md.raydium-cpmm.>"
    )
    other = example_pool_state(slot=5).model_copy(update={"dex": "orca"})
    await any_bus.publish(other)
    await any_bus.publish(example_pool_state(slot=6))
    await until(lambda: len(col.got) == 1)
    assert col.got[0].subject.startswith("md.raydium-cpmm.")
    assert isinstance(col.got[0].event, PoolStateEvent) and col.got[0].event.slot == 6
    await consumer.stop()


async def test_unknown_stream_and_subject_are_errors(any_bus: Bus) -> None:
    with pytest.raises(BusError):
        await any_bus.consume("NOPE", "x", Collector())
    with pytest.raises(BusError):
        await any_bus.publish_raw("nowhere.at.all", b"x")


async def test_publish_nowait_stores_dedups_and_flush_waits_for_every_ack(any_bus: Bus) -> None:
    col = Collector()
    consumer = await any_bus.consume("MARKET_DATA", "scanner-check", col)
    events = [example_pool_state(slot=s) for s in (10, 11, 12)]
    futures = [await any_bus.publish_nowait(ev) for ev in events]
    again = await any_bus.publish_nowait(events[0])  # same message id: stored once
    await any_bus.flush()
    assert all(f.done() for f in [*futures, again])
    acks = [f.result() for f in futures]
    assert [a.duplicate for a in acks] == [False, False, False]
    assert again.result().duplicate and again.result().sequence == acks[0].sequence
    await until(lambda: len(col.got) == 3)
    assert [d.event.slot for d in col.got] == [10, 11, 12]  # type: ignore[attr-defined]
    states = {s.name: s for s in await any_bus.stream_states()}
    assert states["MARKET_DATA"].messages == 3
    await consumer.stop()


async def test_stats_count_what_the_server_acknowledged(any_bus: Bus) -> None:
    events = [example_pool_state(slot=s) for s in (20, 21)]
    for ev in events:
        await any_bus.publish_nowait(ev)
    await any_bus.publish_nowait(events[0])  # stored once: a duplicate
    await any_bus.publish(example_opportunity("counted"))
    assert await any_bus.flush() == 0
    md = any_bus.stats["MARKET_DATA"]
    assert (md.sent, md.acked, md.duplicates, md.failed, md.pending) == (3, 3, 1, 0, 0)
    total = any_bus.stats.total()
    assert (total.sent, total.acked) == (4, 4)
    assert any_bus.health().state == "ok"
