"""``lstarb run`` puts every pool state it scans on MARKET_DATA, on a real nats-server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.cli import cli
from lstarb_sdk.events import PoolStateEvent


async def _market_data(url: str, expected: int) -> list[PoolStateEvent]:
    bus = await JetStreamBus.connect(url)
    got: list[PoolStateEvent] = []
    done = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        assert isinstance(delivery.event, PoolStateEvent)
        got.append(delivery.event)
        if len(got) >= expected:
            done.set()

    try:
        await bus.consume("MARKET_DATA", "e2e-check", handle)
        await asyncio.wait_for(done.wait(), 10)
        states = {s.name: s for s in await bus.stream_states()}
        assert states["MARKET_DATA"].messages == expected
    finally:
        await bus.close()
    return got


def test_run_publishes_market_data_to_a_running_server(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = free_local_url()
    with EmbeddedNats(url, tmp_path / "server"):
        monkeypatch.setenv("LSTARB_NATS__URL", url)
        monkeypatch.setenv("LSTARB_NATS__EMBEDDED", "false")
        result = runner.invoke(cli, ["run", "--plugins", "orca,raydium", "--duration", "60"])
        assert result.exit_code == 0, result.output
        assert "started an embedded" not in result.output
        found = re.search(r"market data\s+(\d+) events on MARKET_DATA", result.output)
        assert found, result.output
        published = int(found.group(1))
        pools = re.search(r"pools decoded\s+(\d+)", result.output)
        assert pools and published >= int(pools.group(1)) > 0
        events = asyncio.run(_market_data(url, published))
    dexes = {e.dex for e in events}
    assert dexes == {"orca-whirlpool", "raydium-amm-v4", "raydium-cpmm", "raydium-clmm"}
    priced = [e for e in events if e.price > 0]
    assert priced, "no pool state carried a probe price"
    assert all(e.mint_a != e.mint_b and e.slot > 0 for e in events)


def test_run_without_server_and_embedded_off_fails_clearly(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSTARB_NATS__EMBEDDED", "false")
    result = runner.invoke(cli, ["run", "--plugins", "orca", "--duration", "5"])
    assert result.exit_code == 1
    assert "no NATS server answers" in result.output
    assert "embedded is off" in result.output
