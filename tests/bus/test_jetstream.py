"""JetStream-only behaviour against a real nats-server: stream configuration, persistence
across a server restart (with the client reconnecting), the embedded server and its errors."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from nats.js.api import StreamConfig

from lstarb_runtime.bus import (
    BusError,
    EmbeddedNats,
    JetStreamBus,
    NatsServerNotFoundError,
    PortInUseError,
    connect_bus,
    find_nats_server,
    free_local_url,
)
from lstarb_runtime.bus.embedded import probe
from lstarb_runtime.bus.jetstream import stream_config
from lstarb_runtime.bus.streams import STREAMS
from lstarb_sdk.events.examples import example_opportunity, example_pool_state, example_result

from .test_behaviour import Collector, until

DESIGN = {  # DESIGN.md "The six streams": subjects, storage, retention
    "MARKET_DATA": (["md.>"], "memory", 3600),
    "OPPORTUNITIES": (["opp.>"], "file", 24 * 3600),
    "EXECUTION": (["exec.plan.>"], "file", 3600),
    "EXECUTED": (["exec.result.>"], "file", 7 * 24 * 3600),
    "METRICS": (["metrics.>"], "memory", 3600),
    "SYSTEM": (["system.>"], "file", 30 * 24 * 3600),
}


async def _assert_design(bus: JetStreamBus) -> None:
    names = set()
    for spec in STREAMS:
        cfg = (await bus.js.stream_info(spec.name)).config
        subjects, storage, max_age = DESIGN[spec.name]
        assert cfg.subjects == subjects
        assert str(getattr(cfg.storage, "value", cfg.storage)) == storage
        assert cfg.max_age == pytest.approx(max_age)
        assert 0 < (cfg.duplicate_window or 0) <= max_age
        assert cfg.duplicate_window == pytest.approx(spec.duplicate_window)
        names.add(spec.name)
    assert names == set(DESIGN)


async def test_stream_config_matches_design_after_first_and_second_start(
    js_bus: JetStreamBus,
) -> None:
    await _assert_design(js_bus)
    await js_bus.publish(example_opportunity())
    await js_bus.ensure_streams()  # a second start-up: idempotent, keeps the data
    await _assert_design(js_bus)
    assert (await js_bus.js.stream_info("OPPORTUNITIES")).state.messages == 1


async def test_start_up_repairs_a_drifted_stream(js_bus: JetStreamBus) -> None:
    drifted = stream_config(STREAMS[1])
    drifted.max_age = 60.0
    drifted.duplicate_window = 30.0
    await js_bus.js.update_stream(drifted)
    await js_bus.ensure_streams()
    await _assert_design(js_bus)


async def test_storage_cannot_change_in_place(js_bus: JetStreamBus) -> None:
    await js_bus.js.delete_stream("SYSTEM")
    await js_bus.js.add_stream(StreamConfig(name="SYSTEM", subjects=["system.>"], storage="memory"))
    with pytest.raises(BusError, match="storage"):
        await js_bus.ensure_streams()
    await js_bus.js.delete_stream("SYSTEM")
    await js_bus.ensure_streams()


async def test_server_restart_loses_nothing_on_file_streams(own_server: EmbeddedNats) -> None:
    bus = await JetStreamBus.connect(own_server.url, fetch_timeout=0.2, ack_wait=2.0)
    await bus.ensure_streams()
    col = Collector()
    consumer = await bus.consume("OPPORTUNITIES", "planner", col)
    for i in range(20):
        await bus.publish(example_opportunity(f"before-{i}"))
    await bus.publish(example_result())
    await until(lambda: len(col.got) == 20)

    await asyncio.to_thread(own_server.stop)
    await asyncio.to_thread(own_server.start)
    await until(lambda: bus.nc.is_connected, timeout=20)  # the client reconnected by itself

    info = await bus.js.stream_info("OPPORTUNITIES")
    assert info.state.messages == 20
    assert (await bus.js.stream_info("EXECUTED")).state.messages == 1
    for i in range(5):
        await bus.publish(example_opportunity(f"after-{i}"))
    await until(lambda: len(col.got) == 25, timeout=20)  # the same consumer carries on
    ids = [d.event.id for d in col.got]  # type: ignore[attr-defined]
    assert ids == [f"before-{i}" for i in range(20)] + [f"after-{i}" for i in range(5)]
    await consumer.stop()
    await bus.close()


async def test_embedded_server_starts_when_nothing_answers_and_stops_on_exit(
    tmp_path: Path,
) -> None:
    url = free_local_url()
    assert probe("127.0.0.1", int(url.rsplit(":", 1)[1])) == "none"
    async with connect_bus(url, store_dir=tmp_path / "store") as bus:
        assert probe("127.0.0.1", int(url.rsplit(":", 1)[1])) == "nats"
        await _assert_design(bus)
        await bus.publish(example_opportunity())
    assert probe("127.0.0.1", int(url.rsplit(":", 1)[1])) == "none"
    assert (tmp_path / "store" / "jetstream").is_dir()


async def test_existing_server_is_used_not_replaced(nats_server: EmbeddedNats) -> None:
    async with connect_bus(nats_server.url, store_dir="/nonexistent/never-used") as bus:
        assert bus.nc.is_connected


async def test_live_run_never_starts_a_server(tmp_path: Path) -> None:
    url = free_local_url()
    with pytest.raises(BusError, match="live run"):
        async with connect_bus(url, live=True, store_dir=tmp_path):
            pass
    with pytest.raises(BusError, match="embedded"):
        async with connect_bus(url, embedded=False, store_dir=tmp_path):
            pass


async def test_port_taken_by_something_else(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        url = f"nats://127.0.0.1:{squatter.getsockname()[1]}"
        with pytest.raises(PortInUseError, match="not a NATS server"):
            async with connect_bus(url, store_dir=tmp_path):
                pass
        with pytest.raises(PortInUseError):
            EmbeddedNats(url, tmp_path).start()


def test_missing_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NatsServerNotFoundError, match="does not exist"):
        EmbeddedNats("nats://127.0.0.1:1", tmp_path, binary=tmp_path / "nats-server").start()
    monkeypatch.setenv("LSTARB_NATS_SERVER", str(tmp_path / "missing"))
    with pytest.raises(NatsServerNotFoundError):
        find_nats_server()
    monkeypatch.delenv("LSTARB_NATS_SERVER")
    assert find_nats_server().name == "nats-server"


async def test_publish_to_a_deleted_stream_recreates_it_and_lands(js_bus: JetStreamBus) -> None:
    await js_bus.js.delete_stream("MARKET_DATA")
    future = await js_bus.publish_nowait(example_pool_state(slot=77))
    assert await js_bus.flush() == 0
    ack = future.result()
    assert ack.stream == "MARKET_DATA" and not ack.duplicate
    assert (await js_bus.js.stream_info("MARKET_DATA")).state.messages == 1
    assert js_bus.stats.reasserts == 1 and js_bus.stats["MARKET_DATA"].retried >= 1


async def test_publish_refused_by_the_server_surfaces_in_flush_once(js_bus: JetStreamBus) -> None:
    small = stream_config(STREAMS[0])
    small.max_msg_size = 64  # every pool state is larger: the server refuses it
    await js_bus.js.update_stream(small)
    future = await js_bus.publish_nowait(example_pool_state(slot=77))
    with pytest.raises(BusError, match=r"md\..*refused by the server"):
        await js_bus.flush()
    assert future.done() and isinstance(future.exception(), BusError)
    assert await js_bus.flush() == 0  # reported once, not forever
    assert js_bus.stats["MARKET_DATA"].failed == 1
    with pytest.raises(BusError, match="refused"):
        await js_bus.publish(example_pool_state(slot=78))  # the awaited path raises at once
    await js_bus.flush()  # ... and is not reported a second time


@pytest.mark.parametrize("first", ["publish", "publish_nowait"])
async def test_one_event_by_both_publish_paths_is_stored_once(
    js_bus: JetStreamBus, first: str
) -> None:
    """Issue 10 item 9: ``publish`` and ``publish_nowait`` give an event the same message id,
    so the server de-duplicates across the two paths (a scanner and a tool, a retry by the
    other path), whichever comes first."""
    events = [example_pool_state(slot=91), example_opportunity("both-paths")]
    for event in events:
        if first == "publish":
            stored = await js_bus.publish(event)
            again = await (await js_bus.publish_nowait(event))
        else:
            stored = await (await js_bus.publish_nowait(event))
            again = await js_bus.publish(event)
        assert not stored.duplicate and again.duplicate
        assert (again.stream, again.sequence) == (stored.stream, stored.sequence)
    for stream in ("MARKET_DATA", "OPPORTUNITIES"):
        assert (await js_bus.js.stream_info(stream)).state.messages == 1
        counts = js_bus.stats[stream]
        assert (counts.sent, counts.acked, counts.duplicates) == (2, 2, 1)
