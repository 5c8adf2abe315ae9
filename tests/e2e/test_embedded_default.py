"""``lstarb run`` with no configuration: the embedded default, end to end, on paper.

One run (module fixture) of what ``make run`` starts: its own nats-server, the local RPC peer
with its market driver in-process, the rpc data source following it, every first-party DEX
plugin and the lst strategies, planner, executor with the landing simulator, and whatever
other roles are registered (auditor, system). Only the market is quickened (50 ms slots) and
seeded, so the run finds trades within 25 seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.bus import free_local_url
from lstarb_runtime.cli import cli
from lstarb_runtime.ledger import Ledger, TradeFilter
from lstarb_runtime.services.runner import ROLE_SERVICES

SEED = 6
DURATION_S = 25
AUDITOR_BUILT = "auditor" in ROLE_SERVICES


@dataclass
class EmbeddedRun:
    exit_code: int
    output: str
    summary: dict[str, Any]
    ledger_path: Path


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRun]:
    tmp = tmp_path_factory.mktemp("embedded")
    ledger = tmp / "ledger.sqlite"
    config = tmp / "lstarb.toml"
    config.write_text(f'[simnet]\nslot_ms = 50\n[auditor]\nledger_path = "{ledger}"\n')
    summary = tmp / "summary.json"
    with pytest.MonkeyPatch.context() as mp:
        import os

        for var in [v for v in os.environ if v.startswith("LSTARB_")]:
            mp.delenv(var)
        mp.setenv("LSTARB_NATS__URL", free_local_url())
        mp.setenv("LSTARB_NATS__DATA_DIR", str(tmp / "nats"))
        mp.setattr(cli_module, "_HOST", None)
        args = [
            "run",
            "--config",
            str(config),
            "--seed",
            str(SEED),
            "--duration",
            str(DURATION_S),
            "--summary-json",
            str(summary),
        ]
        result = CliRunner().invoke(cli, args)
    doc = json.loads(summary.read_text()) if summary.exists() else {}
    yield EmbeddedRun(result.exit_code, result.output, doc, ledger)


def test_it_starts_everything_itself(embedded_run: EmbeddedRun) -> None:
    out = embedded_run.output
    assert embedded_run.exit_code == 0, out
    assert re.search(r"market: the embedded local RPC peer .* at http://127\.0\.0\.1:\d+", out)
    plugins = re.search(r"lstarb: plugins (.*); PAPER trading; role all", out)
    assert plugins, out
    for name in ("raydium", "meteora", "orca", "pumpswap", "lst", "rpc"):
        assert name in plugins.group(1).split(", ")
    assert "example" not in plugins.group(1)  # the template is opt-in
    assert "rpc: no pools or mints configured: discovering" in out
    assert embedded_run.summary["roles"][:3] == ["scanner", "planner", "executor"]
    assert embedded_run.summary["peer"]["trades"] > 0  # the market moved


def test_the_pipeline_trades_on_paper(embedded_run: EmbeddedRun) -> None:
    doc = embedded_run.summary
    pipeline = doc["pipeline"]
    assert pipeline["pools"] >= 8, doc
    assert pipeline["updates"] > 100, doc
    assert pipeline["opportunities"] > 0, doc
    assert pipeline["plans"] > 0, doc
    assert pipeline["executions"] > 0, doc
    # every plan published was executed (or refused by the executor) exactly once
    assert pipeline["executions"] == pipeline["plans"], doc
    assert (
        sum(doc["by_strategy"][s].get("pnl_lamports", 0) for s in doc["by_strategy"])
        == (doc["pnl_lamports"])
    )
    stages = {row["stage"] for row in doc["latency"]}
    assert {"market event detection", "opportunity validation", "transaction building"} <= stages
    assert "total (detect -> submit)" in stages


def test_local_delivery_hands_opportunities_and_plans_over_once(embedded_run: EmbeddedRun) -> None:
    """One process, every role: opportunities and plans go to the planner and the executor
    in-process (``[run] local_delivery``, on by default); their server copies are acknowledged
    unhandled, so no plan reaches the executor twice (and executions == plans, above)."""
    services = embedded_run.summary["services"]
    planner = services["planner"]["consumed"]["OPPORTUNITIES/planner"]
    executor = services["executor"]["consumed"]["EXECUTION/executor"]
    assert planner["local"] > 0 and executor["local"] > 0, services
    assert planner["copies"] == planner["local"], services
    assert executor["copies"] == executor["local"], services
    assert services["executor"]["counters"].get("duplicate plan messages", 0) == 0, services


def test_progress_and_summary_are_printed(embedded_run: EmbeddedRun) -> None:
    out = embedded_run.output
    progress = [line for line in out.splitlines() if line.startswith("progress ")]
    assert len(progress) >= 2, out  # every 10 s when stdout is not a terminal
    assert " pools | " in progress[-1] and "updates/s" in progress[-1]
    for label in ("pipeline", "paper P&L", "by strategy", "latency against the seed's budget"):
        assert label in out, out
    assert "lstarb pnl" in out  # where to look next


@pytest.mark.skipif(
    not AUDITOR_BUILT,
    reason="LEDGER PART: needs the auditor role (services/auditor.py) registered in "
    "ROLE_SERVICES; it runs as soon as the auditor is merged",
)
def test_the_ledger_holds_every_result_and_the_same_pnl(embedded_run: EmbeddedRun) -> None:
    doc = embedded_run.summary
    ledger = Ledger.open(f"sqlite:{embedded_run.ledger_path}", create=False)
    try:
        trades = ledger.trades(TradeFilter(paper=True))
    finally:
        ledger.close()
    assert len(trades) == doc["pipeline"]["executions"] > 0
    assert sum(t.realized_profit for t in trades) == doc["pnl_lamports"]
    assert doc["ledger"]["trades"] == len(trades)
    assert doc["ledger"]["pnl_lamports"] == doc["pnl_lamports"]


def _doc_output_lines() -> list[str]:
    """The output lines docs/getting-started.md shows under "What it prints"."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "getting-started.md").read_text()
    section = doc.split("### What it prints", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```text\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the walkthrough shows the start of a run and its summary"
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _key(line: str) -> str:
    """What must not change: a summary row's label, else the text before the first number."""
    if line.startswith("  ") and not line.startswith("    "):
        return line[2:20].strip()
    return re.split(r"\d", line.strip())[0].rstrip()


def test_the_getting_started_walkthrough_matches_what_a_run_prints(
    embedded_run: EmbeddedRun,
) -> None:
    printed = [line.strip() for line in embedded_run.output.splitlines()]
    missing = [
        line for line in _doc_output_lines() if not any(p.startswith(_key(line)) for p in printed)
    ]
    assert not missing, "shown in docs/getting-started.md, not printed:\n" + "\n".join(missing)
