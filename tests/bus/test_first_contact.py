"""Issue 11 items 5 and 6 (bus side) and issue 10 item 9 (tail): what a new user meets first.

URLs are checked before anything connects; an embedded server is only ever started on this
machine's loopback; ``tail`` names the real cause of a bad filter, flags events that are on the
wrong stream and can wait for a server; ``lstarb nats`` keeps a server running for them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime.bus import BusError, EmbeddedNats, JetStreamBus, connect_bus, free_local_url
from lstarb_runtime.bus.cli import streams, tail
from lstarb_runtime.bus.embedded import probe
from lstarb_runtime.config import NatsSettings
from lstarb_sdk.errors import ConfigError
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

from .conftest import fresh_jetstream_bus

LSTARB = [sys.executable, "-m", "lstarb_runtime.cli"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nats://127.0.0.1:99999", "port 99999 is out of range"),
        ("nats://127.0.0.1:0", "port 0 is out of range"),
        ("http://127.0.0.1:4222", "scheme 'http'"),
        ("nats://:4222", "no host"),
        ("nats://127.0.0.1:abc", "port 'abc' is not a number"),
        ("127.0.0.1:4222", "scheme"),
    ],
)
def test_bad_urls_are_refused_with_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        NatsSettings(url=url)


@pytest.mark.parametrize(
    "url", ["nats://127.0.0.1:4222", "tls://nats.example.com:4443", "nats://[::1]:4222", "nats://h"]
)
def test_good_urls_pass(url: str) -> None:
    assert NatsSettings(url=url).url == url


def test_streams_with_an_out_of_range_port_is_a_usage_error_not_a_traceback() -> None:
    result = CliRunner().invoke(streams, ["--nats-url", "nats://127.0.0.1:99999"])
    assert result.exit_code == 2, result.output
    assert "port 99999 is out of range" in result.output
    assert "Traceback" not in result.output


async def test_unresolvable_host_is_named_and_no_server_is_started(tmp_path: Path) -> None:
    url = "nats://no-such-host.invalid:4222"
    with pytest.raises(BusError, match=r"no-such-host\.invalid.*does not resolve"):
        async with connect_bus(url, store_dir=tmp_path / "never"):
            pass
    assert not (tmp_path / "never").exists()


async def test_embedded_server_only_on_loopback(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) resolves and is not ours: nothing answers, nothing is started
    url = "nats://192.0.2.1:4222"
    with pytest.raises(BusError, match="only on this machine's loopback"):
        async with connect_bus(url, store_dir=tmp_path / "never"):
            pass
    assert not (tmp_path / "never").exists()
    with pytest.raises(BusError, match="loopback"):
        EmbeddedNats(url, tmp_path / "never").start()


def test_tail_names_a_filter_outside_the_stream(nats_server: EmbeddedNats) -> None:
    asyncio.run(_seed(nats_server.url))
    result = CliRunner().invoke(
        tail, ["MARKET_DATA", "--nats-url", nats_server.url, "--subject", "nomatch.>"]
    )
    assert result.exit_code == 2, result.output
    assert "'nomatch.>' is not within MARKET_DATA's subjects (md.>)" in result.output
    assert "BadRequestError" not in result.output


def test_tail_says_when_the_stream_does_not_exist(nats_server: EmbeddedNats) -> None:
    async def drop() -> None:
        bus = await fresh_jetstream_bus(nats_server.url)
        await bus.js.delete_stream("METRICS")
        await bus.close()

    asyncio.run(drop())
    result = CliRunner().invoke(tail, ["METRICS", "--nats-url", nats_server.url, "--timeout", "1"])
    assert result.exit_code == 1
    assert "stream METRICS does not exist" in result.output


async def _seed(url: str) -> None:
    bus = await fresh_jetstream_bus(url)
    await bus.publish(example_pool_state(slot=5))
    await bus.publish_raw("md.raydium.wrongtype", example_opportunity().encode())
    await bus.close()


def test_tail_flags_an_event_from_the_wrong_stream(nats_server: EmbeddedNats) -> None:
    asyncio.run(_seed(nats_server.url))
    result = CliRunner().invoke(
        tail, ["MARKET_DATA", "--nats-url", nats_server.url, "--all", "-n", "2", "--timeout", "10"]
    )
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert docs[0]["type"] == "PoolStateEvent" and "error" not in docs[0]
    assert docs[1]["type"] == "OpportunityEvent"
    assert docs[1]["error"] == "a OpportunityEvent does not belong on stream MARKET_DATA"
    assert "event" not in docs[1]


def test_tail_wait_waits_for_a_server_that_starts_later(tmp_path: Path) -> None:
    url = free_local_url()
    proc = subprocess.Popen(
        [*LSTARB, "tail", "MARKET_DATA", "--nats-url", url, "--wait", "-n", "1", "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith(f"waiting for NATS at {url}")
        with EmbeddedNats(url, tmp_path / "nats"):

            async def publish_when_tailing() -> None:
                bus = await JetStreamBus.connect(url)
                await bus.ensure_streams()
                line = await asyncio.to_thread(proc.stderr.readline)  # type: ignore[union-attr]
                assert line.startswith("tailing MARKET_DATA"), line
                await bus.publish(example_pool_state(slot=4242))
                await bus.close()

            asyncio.run(publish_when_tailing())
            out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert json.loads(out)["event"]["slot"] == 4242
    assert proc.returncode == 0


def test_lstarb_nats_keeps_a_server_for_streams_and_tail(tmp_path: Path) -> None:
    url = free_local_url()
    env = {**os.environ, "LSTARB_NATS__URL": url, "LSTARB_NATS__DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.Popen(
        [*LSTARB, "nats"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"nats-server at {url}"), first
        assert str(tmp_path / "d") in first
        listing = subprocess.run(
            [*LSTARB, "streams", "--json"], capture_output=True, text=True, env=env, timeout=60
        )
        assert listing.returncode == 0, listing.stderr
        assert all(s["exists"] for s in json.loads(listing.stdout))  # streams created
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    deadline = time.monotonic() + 10
    while probe("127.0.0.1", int(url.rsplit(":", 1)[1])) != "none" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe("127.0.0.1", int(url.rsplit(":", 1)[1])) == "none"  # stopped with it
    assert (tmp_path / "d" / "jetstream").is_dir()


def test_lstarb_nats_refuses_when_a_server_already_answers(nats_server: EmbeddedNats) -> None:
    env = {**os.environ, "LSTARB_NATS__URL": nats_server.url}
    done = subprocess.run([*LSTARB, "nats"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert "already answers" in done.stderr


def test_config_error_names_the_key() -> None:
    from lstarb_runtime.config import load_config

    with pytest.raises(ConfigError, match=r"nats\.url.*port 99999 is out of range"):
        load_config(None, environ={"LSTARB_NATS__URL": "nats://127.0.0.1:99999"})


async def test_connect_bus_can_keep_the_server_it_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What ``lstarb run --keep-server`` needs: the embedded server outlives the block."""
    import re

    url = free_local_url()
    port = int(url.rsplit(":", 1)[1])
    async with connect_bus(url, store_dir=tmp_path / "kept", keep_server=True) as bus:
        await bus.publish(example_pool_state(slot=77))
    assert probe("127.0.0.1", port) == "nats"  # still there for streams, tail, the next run
    said = re.search(r"left the embedded nats-server running .* kill (\d+)", caplog.text)
    assert said is not None, caplog.text
    try:
        async with connect_bus(url, store_dir=tmp_path / "unused") as again:
            assert (await again.js.stream_info("MARKET_DATA")).state.messages == 1
    finally:
        os.kill(int(said[1]), signal.SIGTERM)
    deadline = time.monotonic() + 10
    while probe("127.0.0.1", port) != "none" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert probe("127.0.0.1", port) == "none"
