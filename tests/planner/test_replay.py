"""``lstarb replay --role planner --tape DIR``: the real scanner's tape and opportunities on a
real nats-server, recorded with ``lstarb record``, played through the planner twice in two
processes (different hash seeds): byte-identical plans."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime.bus import EmbeddedNats
from lstarb_runtime.bus.cli import record
from lstarb_runtime.bus.recording import read_records, recorded_streams
from lstarb_sdk.events import ExecutionPlanEvent, OpportunityEvent
from lstarb_sdk.solana import WSOL_MINT

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from .planner_testlib import PLUGINS, scan_onto

CONFIG = f"""
[risk]
min_profit_lamports = 0
max_age_ms = 1000000000
max_fair_value_deviation_bps = 1000000
max_price_impact_bps = 10000
max_reserve_share_bps = 10000
max_trade_lamports = 1000000000000000

[planner]
capital = {{ "{WSOL_MINT}" = 1000000000000000 }}
"""


def _scanned_bus(url: str) -> int:
    """Scan the market onto the server; returns how many messages the two streams hold."""

    async def go() -> int:
        from .planner_testlib import host_for  # the market as the data source

        bus = await fresh_jetstream_bus(url)
        try:
            await scan_onto(bus, host_for())
            states = {s.name: s.messages for s in await bus.stream_states()}
            return states["MARKET_DATA"] + states["OPPORTUNITIES"]
        finally:
            await bus.close()

    return asyncio.run(go())


def _replay(tape: Path, out: Path, config: Path, seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    env = {k: v for k, v in env.items() if not k.startswith("LSTARB_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "replay",
            "--role",
            "planner",
            "--tape",
            str(tape),
            "--out",
            str(out),
            "--plugins",
            PLUGINS,
            "--config",
            str(config),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_the_same_recording_replays_to_byte_identical_plans(
    nats_server: EmbeddedNats,  # noqa: F811
    tmp_path: Path,
) -> None:
    total = _scanned_bus(nats_server.url)
    tape = tmp_path / "tape"
    done = CliRunner().invoke(
        record,
        [
            "--out",
            str(tape),
            "--stream",
            "MARKET_DATA",
            "--stream",
            "OPPORTUNITIES",
            "--nats-url",
            nats_server.url,
            "--count",
            str(total),
            "--duration",
            "30",
        ],
    )
    assert done.exit_code == 0, done.output
    assert recorded_streams(tape) == ["MARKET_DATA", "OPPORTUNITIES"]
    opportunities = [OpportunityEvent.decode(r.data) for r in read_records(tape, "OPPORTUNITIES")]
    traces = {
        o.id: r.headers["traceparent"]
        for o, r in zip(opportunities, read_records(tape, "OPPORTUNITIES"), strict=True)
    }
    assert len(opportunities) >= 5
    config = tmp_path / "planner.toml"
    config.write_text(CONFIG)
    first = _replay(tape, tmp_path / "a", config, "1")
    second = _replay(tape, tmp_path / "b", config, "2")
    assert first["plans"] == second["plans"] and int(str(first["plans"])) >= 4
    assert first["opportunities"] == len(opportunities)
    assert first["reevaluated"] == 0  # each opportunity met the tape at its own state
    a = (tmp_path / "a" / "execution.lsrec").read_bytes()
    assert a == (tmp_path / "b" / "execution.lsrec").read_bytes()
    plans = [ExecutionPlanEvent.decode(r.data) for r in read_records(tmp_path / "a", "EXECUTION")]
    assert len(plans) == first["plans"]
    for plan in plans:
        assert plan.traceparent == traces[plan.opportunity_id]  # the opportunity's trace
        assert plan.created_ns > 0 and plan.expiry_ns == plan.created_ns + 2_000 * 1_000_000
