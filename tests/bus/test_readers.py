"""Per-process readers (``bus.follow``) leave nothing on the server; service groups stay.

On a real nats-server: a reader whose process is killed with SIGKILL is deleted by the server
after its inactivity threshold while the service group's durable of the same process stays; a
clean stop deletes a reader at once; a reader survives a nats-server killed and restarted (file
and memory streams) and one deleted behind its back, and keeps receiving without losing events.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from lstarb_runtime.bus import Bus, EmbeddedNats, JetStreamBus, MemoryBus, free_local_url
from lstarb_runtime.bus.interface import follower_name
from lstarb_runtime.inspect.status import follower_kind
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.auditor import PlanIndex
from lstarb_runtime.tape import Tape
from lstarb_sdk.events import EventModel, ExecutionPlanEvent, OpportunityEvent
from lstarb_sdk.events.examples import example_account, example_opportunity, example_plan

from .conftest import fresh_jetstream_bus
from .test_behaviour import Collector, until


async def _names(bus: JetStreamBus, stream: str) -> set[str]:
    return {c.name for c in await bus.js.consumers_info(stream)}


def _ids(col: Collector) -> list[str]:
    """Opportunity ids in the order handled, each once (a restart may deliver one again)."""
    out: list[str] = []
    for d in col.got:
        event = d.event
        assert isinstance(event, OpportunityEvent | ExecutionPlanEvent)
        if event.id not in out:
            out.append(event.id)
    return out


@pytest.fixture
async def quick_bus(own_server: EmbeddedNats) -> AsyncIterator[JetStreamBus]:
    """A bus whose readers the server deletes after 1 s without a fetch."""
    bus = await fresh_jetstream_bus(own_server.url)
    await bus.close()
    bus = await JetStreamBus.connect(
        own_server.url, fetch_timeout=0.2, ack_wait=2.0, follower_inactive=1.0
    )
    yield bus
    await bus.close()


async def test_a_reader_killed_with_sigkill_is_deleted_and_the_service_group_stays(
    quick_bus: JetStreamBus, own_server: EmbeddedNats
) -> None:
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("reader_child.py")), own_server.url, "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        await quick_bus.publish(example_opportunity("first"))
        assert child.stdout is not None
        name = (await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)).strip()
        assert follower_kind(name) == "child-reader"
        info = await quick_bus.js.consumer_info("OPPORTUNITIES", name)
        assert info.config.durable_name is None and info.config.inactive_threshold == 1.0
        assert await _names(quick_bus, "OPPORTUNITIES") == {name, "planner"}
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no clean stop: nothing deletes the reader
        child.wait()
        if child.stdout:
            child.stdout.close()
    async with asyncio.timeout(30):  # bounds a hang; the server acts within ~2 s
        while name in await _names(quick_bus, "OPPORTUNITIES"):
            await asyncio.sleep(0.1)
    assert await _names(quick_bus, "OPPORTUNITIES") == {"planner"}  # the group keeps its place


async def test_a_clean_stop_and_a_closed_bus_delete_readers_at_once(js_bus: JetStreamBus) -> None:
    """The default threshold (30 s) is far longer than this test: the stop deleted them."""
    await js_bus.publish(example_opportunity("a"))
    col = Collector()
    reader = await js_bus.follow("OPPORTUNITIES", "tape", col)
    other = await js_bus.follow("OPPORTUNITIES", "tape", Collector())
    await until(lambda: len(col.got) == 1)
    assert await _names(js_bus, "OPPORTUNITIES") == {reader.durable, other.durable}
    await reader.stop()
    assert await _names(js_bus, "OPPORTUNITIES") == {other.durable}

    bus = await JetStreamBus.connect(js_bus.nc.connected_url.geturl())  # type: ignore[union-attr]
    third = await bus.follow("EXECUTION", "auditor-plans", Collector())
    assert third.durable in await _names(js_bus, "EXECUTION")
    await bus.close()
    assert await _names(js_bus, "EXECUTION") == set()


async def test_every_reader_gets_the_whole_stream_and_a_stopped_one_is_forgotten(
    any_bus: Bus,
) -> None:
    """Unlike a group's durable, two readers do not share: each gets every event."""
    for oid in ("a", "b", "c"):
        await any_bus.publish(example_opportunity(oid))
    one, two = Collector(), Collector()
    first = await any_bus.follow("OPPORTUNITIES", "tape", one)
    second = await any_bus.follow("OPPORTUNITIES", "tape", two)
    assert first.ephemeral and first.durable != second.durable
    await until(lambda: len(one.got) == 3 and len(two.got) == 3)
    await any_bus.publish(example_opportunity("d"))
    await until(lambda: _ids(one) == _ids(two) == ["a", "b", "c", "d"])
    await first.stop()
    states = {s.name: s for s in await any_bus.stream_states()}
    assert set(states["OPPORTUNITIES"].consumers) == {second.durable}
    await second.stop()


async def test_a_reader_deleted_behind_its_back_comes_back_after_its_last_event(
    js_bus: JetStreamBus,
) -> None:
    """As when the server deleted it while its process was blocked past the threshold."""
    col = Collector()
    reader = await js_bus.follow("OPPORTUNITIES", "tape", col)
    for oid in ("a", "b"):
        await js_bus.publish(example_opportunity(oid))
    await until(lambda: len(col.got) == 2)
    await js_bus.js.delete_consumer("OPPORTUNITIES", reader.durable)
    for oid in ("c", "d"):
        await js_bus.publish(example_opportunity(oid))
    await until(lambda: len(col.got) >= 4)
    await asyncio.sleep(0.5)  # anything delivered twice would arrive by now
    assert [d.event.id for d in col.got] == ["a", "b", "c", "d"]  # type: ignore[attr-defined]
    info = await js_bus.js.consumer_info("OPPORTUNITIES", reader.durable)
    assert info.config.opt_start_seq == 3 and info.config.inactive_threshold == 30.0
    await reader.stop()


def _plan(i: int) -> ExecutionPlanEvent:
    return example_plan().model_copy(update={"id": f"plan-{i}"})


def _opportunity(i: int) -> OpportunityEvent:
    return example_opportunity(f"opp-{i}")


@pytest.mark.parametrize(
    ("stream", "make"), [("EXECUTION", _plan), ("OPPORTUNITIES", _opportunity)]
)
async def test_a_reader_survives_a_server_killed_and_restarted(
    tmp_path: Path, stream: str, make: Callable[[int], EventModel]
) -> None:
    """File streams: the server keeps the reader through the restart (if back within its
    threshold) or the bus re-creates it after the last event handled; nothing is lost."""
    server = EmbeddedNats(free_local_url(), tmp_path / "nats").start()
    try:
        bus = await JetStreamBus.connect(
            server.url, fetch_timeout=0.2, ack_wait=2.0, follower_inactive=2.0
        )
        await bus.ensure_streams()
        col = Collector()
        reader = await bus.follow(stream, "tape", col)
        for i in range(3):
            await bus.publish(make(i))
        await until(lambda: len(col.got) == 3)

        await asyncio.to_thread(server.kill)  # SIGKILL: no clean shutdown
        await until(lambda: not bus.nc.is_connected)
        await asyncio.sleep(2.5)  # down for longer than the reader's threshold
        await asyncio.to_thread(server.start)  # same port, same store directory
        await until(lambda: bus.nc.is_connected, timeout=20)

        for i in range(3, 6):
            await bus.publish(make(i))
        await until(lambda: len(_ids(col)) == 6, timeout=30)
        assert _ids(col) == [make(i).id for i in range(6)]  # type: ignore[attr-defined]
        assert await _names(bus, stream) == {reader.durable}  # itself, and only itself
        await bus.close()
    finally:
        server.stop()


async def test_a_reader_of_a_memory_stream_starts_over_when_a_restart_emptied_it(
    tmp_path: Path,
) -> None:
    server = EmbeddedNats(free_local_url(), tmp_path / "nats").start()
    try:
        bus = await JetStreamBus.connect(server.url, fetch_timeout=0.2, ack_wait=2.0)
        await bus.ensure_streams()
        col = Collector()
        reader = await bus.follow("MARKET_DATA", "tape", col, filter_subject="md.account.>")
        for slot in (1, 2, 3):
            await bus.publish(example_account(slot=slot))
        await until(lambda: len(col.got) == 3)

        await asyncio.to_thread(server.kill)
        await until(lambda: not bus.nc.is_connected)
        await asyncio.to_thread(server.start)
        await until(lambda: bus.nc.is_connected, timeout=20)

        await bus.publish(example_account(slot=4))  # sequence 1 of the new MARKET_DATA
        await until(lambda: len(col.got) == 4, timeout=30)
        assert col.got[-1].event.slot == 4 and col.got[-1].sequence == 1  # type: ignore[attr-defined]
        assert await _names(bus, "MARKET_DATA") == {reader.durable}
        await bus.close()
    finally:
        server.stop()


async def test_tape_and_plan_index_read_through_readers_and_leave_none(
    js_bus: JetStreamBus,
) -> None:
    await js_bus.publish(example_account(slot=7))
    await js_bus.publish(_plan(1))
    tape = Tape(js_bus, PoolBook([], keep_unwanted=True))
    await tape.start(timeout=20)
    plans = PlanIndex(js_bus)
    await plans.start(timeout=20)
    assert tape.read == 1 and "plan-1" in plans.plans
    infos = {
        c.name: c
        for stream in ("MARKET_DATA", "EXECUTION")
        for c in await js_bus.js.consumers_info(stream)
    }
    assert {follower_kind(n) for n in infos} == {"tape", "auditor-plans"}
    assert all(c.config.durable_name is None for c in infos.values())
    await tape.stop()
    await plans.stop()
    for stream in ("MARKET_DATA", "EXECUTION"):
        assert await _names(js_bus, stream) == set()


def test_reader_names_are_of_one_process_and_kinds_are_checked() -> None:
    a, b = follower_name("tape"), follower_name("tape")
    assert a != b and f"-{os.getpid()}-" in a and follower_kind(a) == "tape"
    with pytest.raises(ValueError, match=r"'Tape\.x'"):
        follower_name("Tape.x")


async def test_following_a_stream_that_does_not_exist_names_it() -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    with pytest.raises(Exception, match="NOPE"):
        await bus.follow("NOPE", "tape", Collector())


async def test_a_stream_not_created_yet_is_a_clear_error(own_server: EmbeddedNats) -> None:
    bus = await JetStreamBus.connect(own_server.url)
    try:
        with pytest.raises(Exception, match="ensure_streams"):
            await bus.follow("SYSTEM", "tape", Collector())
    finally:
        await bus.close()
