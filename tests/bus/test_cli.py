"""``lstarb streams`` and ``lstarb tail`` against a real nats-server, through click's runner."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from click.testing import CliRunner

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus
from lstarb_runtime.bus.cli import streams, tail
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

from .conftest import fresh_jetstream_bus


def _seed(url: str) -> None:
    async def main() -> None:
        bus = await fresh_jetstream_bus(url)
        await bus.publish(example_opportunity("cli-1"))
        await bus.publish(example_opportunity("cli-2"))
        await bus.publish(example_pool_state())
        await bus.publish_raw("opp.junk", b"garbage")
        await bus.js.pull_subscribe("opp.>", durable="planner", stream="OPPORTUNITIES")
        await bus.close()

    asyncio.run(main())


def test_streams_lists_the_six_streams(nats_server: EmbeddedNats) -> None:
    _seed(nats_server.url)
    result = CliRunner().invoke(streams, ["--nats-url", nats_server.url])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("STREAM")
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == [
        "MARKET_DATA",
        "OPPORTUNITIES",
        "EXECUTION",
        "EXECUTED",
        "METRICS",
        "SYSTEM",
    ]
    assert rows["OPPORTUNITIES"][2] == "3" and "planner" in rows["OPPORTUNITIES"]
    assert "(3)" in rows["OPPORTUNITIES"]
    data = json.loads(CliRunner().invoke(streams, ["--nats-url", nats_server.url, "--json"]).output)
    assert {d["name"]: d["consumers"] for d in data}["OPPORTUNITIES"] == {"planner": 3}


def test_streams_is_registered_on_the_main_cli(nats_server: EmbeddedNats) -> None:
    """The installed ``lstarb`` console script has both commands (end to end, one process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lstarb_runtime.cli", "streams", "--nats-url", nats_server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OPPORTUNITIES" in proc.stdout


def test_streams_without_server_is_a_clear_error() -> None:
    result = CliRunner().invoke(streams, ["--nats-url", "nats://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "cannot connect to NATS" in result.output


def test_tail_prints_decoded_json_lines(nats_server: EmbeddedNats) -> None:
    _seed(nats_server.url)
    result = CliRunner().invoke(
        tail,
        [
            "opportunities",
            "--nats-url",
            nats_server.url,
            "--all",
            "--count",
            "3",
            "--timeout",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d.get("event", {}).get("id") for d in docs] == ["cli-1", "cli-2", None]
    assert docs[0]["type"] == "OpportunityEvent" and docs[0]["msg_id"] == "OPPORTUNITIES:cli-1"
    assert docs[0]["traceparent"].startswith("00-")
    assert docs[0]["event"]["base_mint"] == "So11111111111111111111111111111111111111112"
    assert "error" in docs[2]


def test_tail_live_only_shows_new_events(nats_server: EmbeddedNats) -> None:
    _seed(nats_server.url)
    result = CliRunner().invoke(
        tail, ["MARKET_DATA", "--nats-url", nats_server.url, "--timeout", "0.3"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_tail_live_prints_events_published_after_it_started(nats_server: EmbeddedNats) -> None:
    """The real command in its own process: it subscribes, then sees what is published."""
    _seed(nats_server.url)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "tail",
            "MARKET_DATA",
            "--count",
            "2",
            "--nats-url",
            nats_server.url,
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("tailing MARKET_DATA")

        async def publish() -> None:
            bus = await JetStreamBus.connect(nats_server.url)
            await bus.publish(example_pool_state(slot=900_001))
            await bus.publish(example_pool_state(slot=900_002))
            await bus.close()

        asyncio.run(publish())
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["event"]["slot"] for line in lines] == [900_001, 900_002]
    assert {line["type"] for line in lines} == {"PoolStateEvent"}
    assert proc.returncode == 0
