"""The planner service on both buses (in memory and a real nats-server), fed by the real
scanner on the real market: every opportunity becomes a plan or a counted rejection; plans
carry their ids, message ids and trace context; duplicates are one plan; malformed and
unknown-version opportunities are counted and skipped; the kill switch plans nothing; an
opportunity ahead of the tape waits for it, one behind the book is re-evaluated."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from lstarb_runtime.bus import Bus, EmbeddedNats, MemoryBus
from lstarb_runtime.config import Settings
from lstarb_runtime.planner.core import plan_id
from lstarb_runtime.services.planner import PLANNED_METRIC, REJECTED_METRIC, Planner
from lstarb_sdk.events import (
    ExecutionPlanEvent,
    MetricEvent,
    OpportunityEvent,
)
from lstarb_sdk.events import _schema as schema
from lstarb_sdk.events._codec import encode_root
from lstarb_sdk.solana import WSOL_MINT

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from ..bus.test_behaviour import until
from .planner_testlib import (
    LOOSE_RISK,
    by_route,
    env_for,
    fresh_market,
    host_for,
    read_all,
    requoted,
    scan_onto,
    scanned,
    traded,
)

SETTINGS = Settings.model_validate(
    {
        "risk": {**LOOSE_RISK, "min_profit_lamports": 0},
        "planner": {"metrics_interval_s": 0.05, "capital": {str(WSOL_MINT): 10**15}},
    }
)


@pytest.fixture(params=["memory", "jetstream"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    b: Bus
    if request.param == "memory":
        b = MemoryBus()
        await b.ensure_streams()
    else:
        server: EmbeddedNats = request.getfixturevalue("nats_server")
        b = await fresh_jetstream_bus(server.url)
    yield b
    await b.close()


async def start_planner(bus: Bus, settings: Settings = SETTINGS, **env: Any) -> Planner:
    planner = Planner(env_for(bus, host_for(source=False), settings, **env))
    await planner.start()
    planner.run_task = asyncio.create_task(planner.run())  # type: ignore[attr-defined]
    return planner


async def finish(planner: Planner) -> None:
    assert await planner.drain()
    await planner.stop()
    await planner.run_task  # type: ignore[attr-defined]


def decided(planner: Planner) -> tuple[int, int]:
    """(plans, rejections) the planner counted."""
    c = planner.stats.counters
    return c["plans"], sum(n for k, n in c.items() if k.startswith("rejected: "))


def plans_of(deliveries: list[Any]) -> list[ExecutionPlanEvent]:
    return [d.event for d in deliveries if isinstance(d.event, ExecutionPlanEvent)]


async def test_every_opportunity_becomes_a_plan_or_a_counted_reason(bus: Bus) -> None:
    await scan_onto(bus)
    planner = await start_planner(bus)
    await finish(planner)
    opps = [d for d in await read_all(bus, "OPPORTUNITIES", "check-o")]
    assert len(opps) == len(scanned().opportunities) >= 5
    c = planner.stats.counters
    rejected = sum(n for k, n in c.items() if k.startswith("rejected: "))
    assert c["plans"] + rejected == len(opps)
    assert c["plans"] >= 4 and rejected >= 1  # the market has both
    plans = await read_all(bus, "EXECUTION", "check-e")
    assert len(plans) == c["plans"]
    by_id = {d.event.id: d for d in opps}
    for delivery in plans:
        plan = delivery.event
        assert isinstance(plan, ExecutionPlanEvent)
        opp = by_id[plan.opportunity_id]
        assert plan.id == plan_id(opp.event)
        assert delivery.msg_id == f"EXECUTION:{plan.id}"
        assert opp.trace is not None and plan.traceparent == opp.trace.header()
        assert delivery.trace is not None and delivery.trace.trace_id == opp.trace.trace_id
        assert plan.max_loss_lamports > 0 and all(leg.min_out > 0 for leg in plan.legs)
    metrics = [d.event for d in await read_all(bus, "METRICS", "check-m")]
    latest: dict[tuple[str, str], float] = {}
    for m in metrics:
        assert isinstance(m, MetricEvent)
        if m.name == REJECTED_METRIC:
            latest[(m.labels["strategy"], m.labels["reason"])] = m.value
    by_reason: Counter[str] = Counter()
    for (_, reason), value in latest.items():
        by_reason[reason] += int(value)
    assert dict(by_reason) == {
        k.removeprefix("rejected: "): n for k, n in c.items() if k.startswith("rejected: ")
    }
    assert any(isinstance(m, MetricEvent) and m.name == PLANNED_METRIC for m in metrics)


async def test_a_duplicated_opportunity_is_one_plan(bus: Bus) -> None:
    await scan_onto(bus)
    opp = by_route("raydium-clmm", "raydium-amm-v4")
    await bus.publish_raw(f"opp.{opp.strategy}", opp.encode(), msg_id="replayed-copy")
    planner = await start_planner(bus)
    await finish(planner)
    plans, rejected = decided(planner)
    assert plans + rejected == len(scanned().opportunities) + 1  # the copy was planned ...
    stored = plans_of(await read_all(bus, "EXECUTION", "check-e"))
    assert [p.opportunity_id for p in stored].count(opp.id) == 1  # ... and stored once
    assert len(stored) == plans - 1
    assert bus.stats["EXECUTION"].duplicates == 1


def _newer_version(opp: OpportunityEvent) -> bytes:
    fields = {name: getattr(opp, name) for name in type(opp).model_fields}
    return encode_root(
        schema.OPPORTUNITY, SimpleNamespace(**fields, version=schema.SCHEMA_VERSION + 1)
    )


async def test_malformed_and_unknown_version_are_counted_and_skipped(bus: Bus) -> None:
    await scan_onto(bus)
    opp = by_route("raydium-clmm", "raydium-amm-v4")
    await bus.publish_raw("opp.two-hop", b"not a flatbuffer at all", msg_id="garbage")
    await bus.publish_raw("opp.two-hop", _newer_version(opp), msg_id="from-the-future")
    planner = await start_planner(bus)
    await finish(planner)
    (consumer,) = planner.consumers
    assert consumer.stats.malformed == 1
    assert planner.stats.counters["rejected: unknown_version"] == 1
    plans, rejected = decided(planner)
    assert plans >= 4 and plans + rejected == len(scanned().opportunities) + 1
    assert planner.state.value == "stopped"


async def test_halted_plans_nothing_and_resumes(bus: Bus) -> None:
    await scan_onto(bus)
    planner = await start_planner(bus)
    planner.env.halt.set(True, "test")
    await planner.drain()
    assert planner.stats.counters["plans"] == 0
    assert planner.stats.counters["rejected: halted"] == len(scanned().opportunities)
    planner.env.halt.set(False, "test")
    again = by_route("raydium-clmm", "raydium-amm-v4")
    await bus.publish_raw(f"opp.{again.strategy}", again.encode(), msg_id="after-resume")
    await finish(planner)
    assert planner.stats.counters["plans"] == 1
    assert len(await read_all(bus, "EXECUTION", "check-e")) == 1


async def test_an_opportunity_ahead_of_the_tape_waits_for_it(bus: Bus) -> None:
    """Published before the trade it was computed after reaches the tape: the planner waits
    for the tape, then plans it on exactly its state (not re-evaluated)."""
    await scan_onto(bus)
    tape = scanned().tape
    opp = by_route("raydium-clmm", "raydium-amm-v4")
    patient = SETTINGS.model_copy(
        update={"planner": SETTINGS.planner.model_copy(update={"tape_wait_ms": 5_000.0})}
    )
    planner = await start_planner(bus, patient)
    assert await planner.drain()  # the scanned opportunities first
    slot = tape[-1].slot + 1
    amm = opp.legs[1]
    swap = traded(planner.market.book, amm.pool, amm.output_mint, 50 * 10**9, slot=slot, seq=10**6)
    after = fresh_market()
    after.apply_all(swap)
    later = requoted(opp, after.book, slot=slot)
    await bus.publish(later)
    await asyncio.sleep(0.1)
    for event in swap:
        await bus.publish(event)
    await finish(planner)
    c = planner.stats.counters
    assert c["waits for the tape"] >= 1
    assert sum(decided(planner)) == len(scanned().opportunities) + 1
    plans = {p.opportunity_id: p for p in plans_of(await read_all(bus, "EXECUTION", "e"))}
    plan = plans[later.id]
    assert [leg.out_amount for leg in plan.legs] == [leg.out_amount for leg in later.legs]
    assert c["plans re-evaluated on a newer state or capped"] == 0
    assert plan.planned_slot == slot


async def test_an_opportunity_older_than_the_book_is_reevaluated(bus: Bus) -> None:
    await scan_onto(bus)
    tape = scanned().tape
    opp = by_route("raydium-clmm", "raydium-amm-v4")
    book = fresh_market().book
    amm = opp.legs[1]
    slot = tape[-1].slot + 1
    for event in traded(book, amm.pool, amm.output_mint, 50 * 10**9, slot=slot, seq=10**6):
        await bus.publish(event)
    planner = await start_planner(bus)
    await bus.publish_raw(f"opp.{opp.strategy}", opp.encode(), msg_id="the-old-one-again")
    await finish(planner)
    plans = plans_of(await read_all(bus, "EXECUTION", "e"))
    plan = next(p for p in plans if p.opportunity_id == opp.id)
    assert plan.legs[0].in_amount != opp.legs[0].in_amount  # re-sized on the newer state
    assert plan.planned_slot == slot
    book = planner.market.book
    for leg in plan.legs:
        assert book.quote(leg.pool, leg.in_amount, leg.input_mint).out_amount == leg.out_amount
    assert planner.stats.counters["plans re-evaluated on a newer state or capped"] >= 1


async def test_an_opportunity_is_acknowledged_only_once_its_plan_is_stored(
    nats_server: EmbeddedNats,  # noqa: F811 (the fixture)
) -> None:
    """The planner hands the next opportunity on while a plan's acknowledgement is due; a plan
    the server refuses leaves its opportunity unacknowledged: it comes back and is planned
    again once the stream takes plans, each plan stored and counted once."""
    bus = await fresh_jetstream_bus(nats_server.url)
    try:
        await scan_onto(bus)
        info = await bus.js.stream_info("EXECUTION")
        limited = dataclasses.replace(info.config, max_msg_size=64)  # every plan refused
        await bus.js.update_stream(limited)
        planner = await start_planner(bus)
        opps = len(scanned().opportunities)
        (consumer,) = planner.consumers
        await until(lambda: consumer.stats.failed >= 4)  # refused plans: given back
        assert planner.stats.counters["plans"] == 0
        states = {s.name: s for s in await bus.stream_states()}
        assert states["EXECUTION"].messages == 0
        assert states["OPPORTUNITIES"].consumers["planner"] >= 4  # not acknowledged
        await bus.js.update_stream(dataclasses.replace(info.config, max_msg_size=-1))
        await finish(planner)
        plans, rejected = decided(planner)
        assert plans + rejected == opps and plans >= 4
        stored = plans_of(await read_all(bus, "EXECUTION", "check-e"))
        assert len(stored) == plans == len({p.id for p in stored})
        states = {s.name: s for s in await bus.stream_states()}
        assert states["OPPORTUNITIES"].consumers["planner"] == 0
    finally:
        await bus.close()
