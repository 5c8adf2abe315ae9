"""Issue 10: the bus survives its server and its connection (a real nats-server, a real proxy).

- the server killed with SIGKILL and started again on the same port and store: memory streams
  (MARKET_DATA, METRICS) are gone, and the bus re-creates them and publishing resumes;
- a connection cut with the server up while a publish is in flight: the publish is retried with
  the same message id and stored once, whether the message or its acknowledgement was lost;
- a connection that stops carrying bytes: flush reports a degraded bus instead of raising, and
  the publish lands once bytes flow again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.bus.embedded import parse_url
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

from .proxy import FlakyProxy
from .test_behaviour import Collector, until


@pytest.fixture
async def proxy(own_server: EmbeddedNats) -> AsyncIterator[FlakyProxy]:
    p = await FlakyProxy(*parse_url(own_server.url)).start()
    yield p
    await p.close()


async def _messages(bus: JetStreamBus, stream: str) -> int:
    return int((await bus.js.stream_info(stream)).state.messages)


async def test_server_killed_and_restarted_streams_are_recreated_and_publishing_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lstarb.bus")
    server = EmbeddedNats(free_local_url(), tmp_path / "nats").start()
    try:
        bus = await JetStreamBus.connect(server.url, fetch_timeout=0.2, ack_wait=2.0)
        await bus.ensure_streams()
        col = Collector()
        consumer = await bus.consume("MARKET_DATA", "planner-tape", col)
        await bus.publish(example_pool_state(slot=1))
        await bus.publish(example_opportunity("before"))
        await until(lambda: len(col.got) == 1)

        await asyncio.to_thread(server.kill)  # SIGKILL: no clean shutdown
        await until(lambda: not bus.nc.is_connected)
        await asyncio.to_thread(server.start)  # same port, same store directory
        await until(lambda: bus.nc.is_connected, timeout=20)

        sent = await bus.publish_nowait(example_pool_state(slot=2))
        await bus.flush()
        ack = await asyncio.wait_for(sent, 20)
        assert ack.stream == "MARKET_DATA" and not ack.duplicate
        assert await _messages(bus, "MARKET_DATA") == 1  # memory stream: re-created, new data
        assert await _messages(bus, "OPPORTUNITIES") == 1  # file stream: kept
        await bus.publish(example_pool_state(slot=3))
        await until(lambda: [d.event.slot for d in col.got] == [1, 2, 3], timeout=20)  # type: ignore[attr-defined]
        assert bus.stats.reconnects == 1
        assert bus.stats.blind_seconds > 0
        assert bus.health().state == "ok"
        said = " | ".join(r.getMessage() for r in caplog.records)
        assert "blind" in said and "MARKET_DATA" in said, said
        await consumer.stop()
        await bus.close()
    finally:
        server.stop()


async def test_publish_lost_in_flight_is_retried_after_the_connection_drops(
    proxy: FlakyProxy,
) -> None:
    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.5)
    await bus.ensure_streams()
    proxy.hold_up = True  # the publish leaves the client and never reaches the server
    sent = await bus.publish_nowait(example_pool_state(slot=10))
    await until(lambda: proxy.swallowed_up > 0)
    await proxy.drop()
    proxy.hold_up = False
    ack = await asyncio.wait_for(sent, 20)
    assert not ack.duplicate
    assert await _messages(bus, "MARKET_DATA") == 1
    counts = bus.stats["MARKET_DATA"]
    assert (counts.sent, counts.acked, counts.failed) == (1, 1, 0)
    assert counts.retried >= 1
    await bus.close()


async def test_publish_whose_ack_was_lost_is_retried_and_stored_once(proxy: FlakyProxy) -> None:
    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.5)
    await bus.ensure_streams()
    proxy.hold_down = True  # the server stores the message; its acknowledgement is lost
    sent = await bus.publish_nowait(example_pool_state(slot=11))
    await until(lambda: proxy.swallowed_down > 0)
    await proxy.drop()
    proxy.hold_down = False
    ack = await asyncio.wait_for(sent, 20)
    assert ack.duplicate  # the retry carried the same message id
    assert await _messages(bus, "MARKET_DATA") == 1
    counts = bus.stats["MARKET_DATA"]
    assert (counts.sent, counts.acked, counts.duplicates) == (1, 1, 1)
    await bus.close()


async def test_stalled_flush_degrades_and_reports_instead_of_raising(proxy: FlakyProxy) -> None:
    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.3, flush_timeout=0.5)
    await bus.ensure_streams()
    assert bus.health().state == "ok"
    proxy.hold_up = True  # the connection stays open but carries nothing
    sent = await bus.publish_nowait(example_pool_state(slot=12))
    still = await bus.flush()  # returns: the scanner carries on
    assert still == 1
    health = bus.health()
    assert health.state == "degraded" and "unacknowledged" in health.reason
    proxy.hold_up = False  # bytes flow again: the retry lands
    ack = await asyncio.wait_for(sent, 20)
    assert not ack.duplicate and await bus.flush() == 0
    assert bus.health().state == "ok"
    assert await _messages(bus, "MARKET_DATA") == 1
    await bus.close()


async def test_publish_unacknowledged_past_the_stream_max_age_fails_loudly(
    proxy: FlakyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-sent until acknowledged or older than the stream's max age (here shortened to 1 s),
    then failed: counted, raised by the next flush, never silently dropped."""
    import dataclasses

    from lstarb_runtime.bus import BusError
    from lstarb_runtime.bus import publisher as publisher_module
    from lstarb_runtime.bus.streams import stream_for_subject

    def short_lived(subject: str) -> object:
        spec = stream_for_subject(subject)
        return None if spec is None else dataclasses.replace(spec, max_age=1.0)

    monkeypatch.setattr(publisher_module, "stream_for_subject", short_lived)
    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.3, flush_timeout=5.0)
    await bus.ensure_streams()
    proxy.hold_up = True
    sent = await bus.publish_nowait(example_pool_state(slot=13))
    with pytest.raises(BusError, match="given up: not acknowledged within the stream's max age"):
        await bus.flush()
    assert isinstance(sent.exception(), BusError)
    counts = bus.stats["MARKET_DATA"]
    assert (counts.failed, counts.acked, counts.pending) == (1, 0, 0) and counts.retried >= 2
    proxy.hold_up = False
    await bus.close()


async def test_publishing_waits_when_max_pending_are_unacknowledged(proxy: FlakyProxy) -> None:
    """Back-pressure: an outage slows the publisher down instead of growing memory."""
    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.3, max_pending=2)
    await bus.ensure_streams()
    proxy.hold_up = True
    await bus.publish_nowait(example_pool_state(slot=21))
    await bus.publish_nowait(example_pool_state(slot=22))
    third = asyncio.create_task(bus.publish_nowait(example_pool_state(slot=23)))
    await asyncio.sleep(0.5)
    assert not third.done()  # waiting for room
    proxy.hold_up = False
    await asyncio.wait_for(third, 20)
    assert await bus.flush() == 0
    assert await _messages(bus, "MARKET_DATA") == 3
    await bus.close()


async def test_the_run_summary_says_sent_and_acknowledged_when_they_differ(
    proxy: FlakyProxy,
) -> None:
    """Issue 10 item 4: ``lstarb run``'s summary says what the server stored, and when that
    is not everything handed to the bus, how many were sent, re-sent, refused, unconfirmed."""
    from lstarb_runtime.services.runner import RunReport, print_summary

    def market_data_row(bus: JetStreamBus) -> str:
        lines: list[str] = []
        report = RunReport(plugins=[], roles=["scanner"], not_built=[], bus_url=proxy.url)
        report.published = {s: c for s, c in bus.stats.streams.items() if c.sent}
        print_summary(report, lines.append)
        (row,) = [line for line in lines if line.strip().startswith("market data")]
        return row.split("market data", 1)[1].strip()

    bus = await JetStreamBus.connect(proxy.url, ack_timeout=0.3)
    await bus.ensure_streams()
    await bus.publish(example_pool_state(slot=30))
    assert market_data_row(bus) == f"1 events on MARKET_DATA (0 de-duplicated) via {proxy.url}"

    proxy.hold_up = True  # the next one leaves the client and is not acknowledged
    sent = await bus.publish_nowait(example_pool_state(slot=31))
    await until(lambda: bus.stats["MARKET_DATA"].retried >= 1)
    retried = bus.stats["MARKET_DATA"].retried
    row = market_data_row(bus)
    assert row.startswith("1 events on MARKET_DATA (0 de-duplicated); sent 2, ")
    assert row.endswith(f", 0 refused, 1 unconfirmed via {proxy.url}")
    assert f"sent 2, {retried} re-sent" in row or f"sent 2, {retried + 1} re-sent" in row

    proxy.hold_up = False
    await proxy.drop()
    await asyncio.wait_for(sent, 20)
    counts = bus.stats["MARKET_DATA"]
    assert (counts.sent, counts.acked, counts.pending) == (2, 2, 0)
    row = market_data_row(bus)  # all stored now, but some had to be sent again: still said
    assert row.startswith("2 events on MARKET_DATA") and f"sent 2, {counts.retried} re-sent" in row
    assert row.endswith(f", 0 refused, 0 unconfirmed via {proxy.url}")
    await bus.close()
