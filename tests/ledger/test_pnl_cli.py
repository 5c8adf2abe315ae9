"""``lstarb pnl`` on real ledgers (SQLite and PostgreSQL): sums, filters, units, messages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime.ledger import SOL_MINT, Ledger, TradeRecord
from lstarb_runtime.ledger.cli import pnl
from lstarb_runtime.ledger.report import sol

from .conftest import DAY_NS, T0, TradeFactory


def _fill(url: str, trades: list[TradeRecord]) -> None:
    with Ledger.open(url) as ledger:
        for t in trades:
            ledger.record(t)


def _json(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(pnl, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.output)
    return doc


def test_json_groups_sum_to_the_trades_exactly(
    runner: CliRunner, ledger_url: str, make_trades: TradeFactory
) -> None:
    trades = make_trades(150, seed=5)
    _fill(ledger_url, trades)
    doc = _json(runner, "--database-url", ledger_url)
    want: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for t in trades:
        key = (t.day, t.strategy, t.route, t.outcome, "paper" if t.paper else "live", t.base_mint)
        want[key][0] += 1
        want[key][1] += t.realized_profit
        want[key][2] += t.fee_lamports
    rows = doc["rows"]
    assert isinstance(rows, list)
    got = {
        (r["day"], r["strategy"], r["route"], r["outcome"], r["mode"], r["base_mint"]): [
            r["trades"],
            r["realized_profit"],
            r["fee_lamports"],
        ]
        for r in rows
    }
    assert got == want
    for r in rows:
        if r["base_mint"] == SOL_MINT:
            assert r["unit"] == "SOL"
            assert r["realized_profit_sol"] == sol(r["realized_profit"])
        else:
            assert r["unit"] == "raw" and r["realized_profit_sol"] is None
        assert r["fee_sol"] == sol(r["fee_lamports"])
    totals = doc["totals"]
    assert isinstance(totals, list)
    assert sum(t["trades"] for t in totals) == 150
    live_sol = sum(t.realized_profit for t in trades if not t.paper and t.base_mint == SOL_MINT)
    (live_sol_total,) = [t for t in totals if t["mode"] == "live" and t["unit"] == "SOL"]
    assert live_sol_total["realized_profit"] == live_sol


def test_filters_by_day_and_mode(
    runner: CliRunner, ledger_url: str, make_trades: TradeFactory
) -> None:
    trades = make_trades(200, seed=9, days=4)
    _fill(ledger_url, trades)
    # --until names a day and includes it: 2026-01-02 and 2026-01-03.
    doc = _json(
        runner,
        "--database-url",
        ledger_url,
        "--since",
        "2026-01-02",
        "--until",
        "2026-01-03",
        "--live",
        "--by",
        "day",
    )
    want = [t for t in trades if T0 + DAY_NS <= t.completed_ns < T0 + 3 * DAY_NS and not t.paper]
    rows = doc["rows"]
    assert isinstance(rows, list)
    assert {r["day"] for r in rows} == {"2026-01-02", "2026-01-03"}
    assert {r["mode"] for r in rows} == {"live"}
    assert sum(r["trades"] for r in rows) == len(want) > 0
    assert sum(r["realized_profit"] for r in rows) == sum(t.realized_profit for t in want)
    doc = _json(
        runner, "--database-url", ledger_url, "--since", "2026-01-01T12:00", "--paper", "--by", ""
    )
    want = [t for t in trades if t.completed_ns >= T0 + DAY_NS // 2 and t.paper]
    assert doc["rows"] == doc["totals"]
    totals = doc["totals"]
    assert isinstance(totals, list)
    assert sum(r["trades"] for r in totals) == len(want) > 0


def test_table_shows_exact_sol_and_totals(
    runner: CliRunner, tmp_path: Path, make_trades: TradeFactory
) -> None:
    url = f"sqlite:{tmp_path / 'ledger.sqlite'}"
    base = [t for t in make_trades(40, seed=2) if t.base_mint == SOL_MINT][:2]
    a = dataclasses.replace(
        base[0],
        paper=False,
        outcome="landed",
        realized_profit=1_500_000_001,
        strategy="lst-two-hop",
        completed_ns=T0 + 5,
    )
    b = dataclasses.replace(
        base[1],
        paper=False,
        outcome="landed",
        realized_profit=-1,
        strategy="lst-two-hop",
        completed_ns=T0 + 6,
        legs=a.legs,
    )
    _fill(url, [a, b])
    result = runner.invoke(pnl, ["--database-url", url, "--by", "day,strategy"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == [
        "DAY",
        "STRATEGY",
        "MODE",
        "UNIT",
        "TRADES",
        "PROFIT",
        "FEES",
        "(SOL)",
        "TIPS",
        "(SOL)",
        "LOAN",
        "FEES",
    ]
    row = lines[2].split()
    assert row[:6] == ["2026-01-01", "lst-two-hop", "live", "SOL", "2", "1.500000000"]
    assert row[6] == sol(a.fee_lamports + b.fee_lamports)
    assert lines[-1].split()[:5] == ["TOTAL", "live", "SOL", "2", "1.500000000"]


def test_no_ledger_yet_is_said_plainly(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LSTARB_AUDITOR__LEDGER_PATH")  # the file's setting, not the fixture's
    path = tmp_path / "data" / "ledger.sqlite"
    config = tmp_path / "lstarb.toml"
    config.write_text(f'[auditor]\nledger_path = "{path}"\n')
    result = runner.invoke(pnl, ["--config", str(config)])
    assert result.exit_code == 1
    assert f"no ledger at {path}" in result.output
    assert "the auditor creates the ledger" in result.output
    assert not path.exists()


def test_the_configured_database_is_read_and_its_password_never_shown(
    runner: CliRunner, ledger_url: str, make_trades: TradeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(ledger_url, make_trades(10))
    # Trust authentication ignores the password, so a URL with one reaches the same database.
    url = ledger_url.replace("postgres@", "postgres:s3cret-pw@")
    monkeypatch.setenv("LSTARB_AUDITOR__DATABASE_URL", url)
    doc = _json(runner, "--by", "outcome")
    assert "s3cret-pw" not in json.dumps(doc)
    if url != ledger_url:
        assert doc["ledger"] == ledger_url.replace("postgres@", "postgres:***@")
    totals = doc["totals"]
    assert isinstance(totals, list)
    assert sum(r["trades"] for r in totals) == 10


def test_bad_arguments_exit_2_naming_them(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'l.sqlite'}"
    Ledger.open(url).close()
    result = runner.invoke(pnl, ["--database-url", url, "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "'last tuesday' is neither a date" in result.output
    result = runner.invoke(pnl, ["--database-url", url, "--by", "day,venue"])
    assert result.exit_code == 2
    assert "venue: choose from day, strategy, route, outcome" in result.output
    result = runner.invoke(pnl, ["--database-url", "postgresql://x:hunter2@127.0.0.1:1/db"])
    assert result.exit_code == 1
    assert "cannot connect" in result.output and "hunter2" not in result.output


def test_lstarb_pnl_is_a_command_of_the_cli(tmp_path: Path, make_trades: TradeFactory) -> None:
    url = f"sqlite:{tmp_path / 'ledger.sqlite'}"
    _fill(url, make_trades(5))
    lstarb = Path(sys.executable).with_name("lstarb")
    out = subprocess.run(
        [str(lstarb), "pnl", "--database-url", url, "--json", "--by", ""],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sum(r["trades"] for r in json.loads(out)["totals"]) == 5
