"""``lstarb run`` puts its market tape and pool states on MARKET_DATA, on a real nats-server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.cli import cli
from lstarb_runtime.pool_book import check_adapter
from lstarb_sdk import PoolAdapter
from lstarb_sdk.events import AccountEvent, EventModel, PoolStateEvent


async def _market_data(url: str, expected: int) -> list[EventModel]:
    bus = await JetStreamBus.connect(url)
    got: list[EventModel] = []
    done = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
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
        summary = tmp_path / "summary.json"
        args = ["run", "--plugins", "orca,raydium", "--duration", "60", "--summary-json"]
        result = runner.invoke(cli, [*args, str(summary)])
        assert result.exit_code == 0, result.output
        assert "started an embedded" not in result.output
        found = re.search(r"market data\s+(\d+) events on MARKET_DATA", result.output)
        assert found, result.output
        published = int(found.group(1))
        pools = re.search(r"pools decoded\s+(\d+)", result.output)
        assert pools and published >= int(pools.group(1)) > 0
        events = asyncio.run(_market_data(url, published))
    report = json.loads(summary.read_text())
    tape = [e for e in events if isinstance(e, AccountEvent)]
    assert [e.seq for e in tape] == list(range(1, len(tape) + 1))
    market = report["published"]["MARKET_DATA"]
    counters = report["services"]["scanner"]["counters"]
    assert (
        len(tape)
        == market["acked"] - counters.get("pool states", 0)
        == market["sent"] - (counters.get("pool states", 0))
    )
    owners = {str(e.owner) for e in tape}
    assert "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" in owners
    assert "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK" in owners  # Raydium CLMM
    states = [e for e in events if isinstance(e, PoolStateEvent)]
    adapters = [a for _, a in cli_module._host().collect("lstarb_dex_adapters", check_adapter)]
    summarised = {a.dex for a in adapters if a.summary is not PoolAdapter.summary}
    # Orca's summary needs the vault balances, which the bundled Orca sets do not have
    assert {"raydium-amm-v4", "raydium-cpmm"} <= {e.dex for e in states} <= summarised
    assert all(e.mint_a != e.mint_b and e.slot > 0 and e.decimals_a for e in states)


def test_run_without_server_and_embedded_off_fails_clearly(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSTARB_NATS__EMBEDDED", "false")
    result = runner.invoke(cli, ["run", "--plugins", "orca", "--duration", "5"])
    assert result.exit_code == 1
    assert "no NATS server answers" in result.output
    assert "embedded is off" in result.output
