"""``lstarb run --plugins rpc,shredstream,...`` on the embedded default: the run's own peer
serves its swaps as a ShredStream proxy, the plugin follows it beside the rpc source, and
the scanner sees the driven market's swaps pending on the pools it follows.

One real run (as a user starts it, CLI to summary): its own nats-server, the local peer with
its market driver, every DEX plugin and the lst strategies; 100 ms slots so the market trades
a few times a second.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.bus import free_local_url
from lstarb_runtime.cli import cli

PLUGINS = "rpc,shredstream,raydium,meteora,orca,pumpswap,lst"


def test_a_run_follows_the_peers_shredstream_beside_rpc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [v for v in os.environ if v.startswith("LSTARB_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("LSTARB_NATS__URL", free_local_url())
    monkeypatch.setenv("LSTARB_NATS__DATA_DIR", str(tmp_path / "nats"))
    monkeypatch.setattr(cli_module, "_HOST", None)
    config = tmp_path / "lstarb.toml"
    config.write_text(
        f'[simnet]\nslot_ms = 100\n[auditor]\nledger_path = "{tmp_path / "ledger.sqlite"}"\n'
    )
    summary = tmp_path / "summary.json"
    args = ["run", "--config", str(config), "--plugins", PLUGINS, "--seed", "4"]
    result = CliRunner().invoke(cli, [*args, "--duration", "8", "--summary-json", str(summary)])
    assert result.exit_code == 0, result.output
    assert "shredstream: the peer's swaps as a ShredStream proxy at 127.0.0.1:" in result.output
    assert "cannot discover" not in result.output  # it follows what rpc found
    doc = json.loads(summary.read_text())
    # one entry message a slot from the moment the plugin subscribed (after start-up)
    assert 0 < doc["peer"]["shredstream_entries"] <= doc["peer"]["slots"]
    counters = doc["services"]["scanner"]["counters"]
    assert counters["pending transactions on followed pools"] > 0
    assert counters["pending transactions"] >= counters["pending transactions on followed pools"]
    assert "ShredStream entries served" in result.output
    seen = counters["pending transactions"]
    on_pools = counters["pending transactions on followed pools"]
    # the peer holds a slot's account notifications back after its entries (half a slot
    # at most: 50 ms here), so each swap was pending before its account update arrived
    lead = doc["services"]["scanner"]["latency_us"]["pending transaction -> account update"]
    assert lead["count"] > 0 and lead["p50"] >= 25_000
    row = rf"pending transactions +{seen} seen, {on_pools} writing a followed pool"
    assert re.search(row, result.output), "the summary's row"
