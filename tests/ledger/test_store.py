"""The ledger on SQLite and on the real PostgreSQL: one suite, both databases.

Exactly once (duplicates, a restart, concurrent writer processes), P&L sums equal to the rows,
versioned migrations, bad input refused with the field named.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from lstarb_runtime.ledger import (
    DIMENSIONS,
    SOL_MINT,
    InvalidTrade,
    Ledger,
    LedgerError,
    LedgerNotFound,
    TradeFilter,
    TradeLeg,
    TradeRecord,
)
from lstarb_runtime.ledger.drivers import open_driver
from lstarb_runtime.ledger.migrations import LATEST, MIGRATIONS, Migration, migrate

from .conftest import DAY_NS, POSTGRES_URL, T0, TradeFactory

WRITER = Path(__file__).with_name("writer.py")


def _key(t: TradeRecord) -> tuple[str, str]:
    return (t.plan_id, t.outcome)


def test_a_trade_reads_back_field_for_field(ledger_url: str, make_trades: TradeFactory) -> None:
    trades = make_trades(30)
    with Ledger.open(ledger_url) as ledger:
        for t in trades:
            assert ledger.record(t) is True
        stored = ledger.trades()
    assert sorted(stored, key=_key) == sorted(trades, key=_key)
    assert any(t.slot is None and t.signature is None for t in stored)
    assert all(len(t.legs) == 2 for t in stored)


def test_a_duplicate_is_stored_once_with_the_first_sequence(
    ledger_url: str, make_trades: TradeFactory
) -> None:
    first = make_trades(1)[0]
    again = dataclasses.replace(first, stream_seq=first.stream_seq + 500, realized_profit=1)
    other_outcome = dataclasses.replace(first, outcome="expired", stream_seq=9999)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.record(first) is True
        assert ledger.record(again) is False
        assert ledger.record(first) is False
        assert ledger.record(other_outcome) is True
        stored = {_key(t): t for t in ledger.trades()}
    assert len(stored) == 2
    assert stored[_key(first)] == first  # sequence, profit and legs of the first delivery
    assert stored[_key(other_outcome)].stream_seq == 9999


def test_exactly_once_across_a_restart(ledger_url: str, make_trades: TradeFactory) -> None:
    trades = make_trades(60)
    with Ledger.open(ledger_url) as ledger:
        assert sum(ledger.record(t) for t in trades[:40]) == 40
    # The auditor restarts; the stream redelivers everything it had not acknowledged and more.
    with Ledger.open(ledger_url) as ledger:
        assert ledger.schema_version() == LATEST
        assert sum(ledger.record(t) for t in trades[20:]) == 20
        assert sum(ledger.record(t) for t in trades) == 0
        stored = ledger.trades()
    assert Counter(_key(t) for t in stored) == Counter(_key(t) for t in trades)
    assert {t.plan_id: t.stream_seq for t in stored} == {t.plan_id: t.stream_seq for t in trades}


def test_concurrent_writer_processes_store_each_trade_once(
    ledger_url: str, make_trades: TradeFactory
) -> None:
    shared = make_trades(120, seed=1)
    own = [make_trades(20, seed=10 + w) for w in range(3)]
    batches = []
    for w in range(3):
        batch = shared + own[w]
        random.Random(w).shuffle(batch)
        batches.append(json.dumps([dataclasses.asdict(t) for t in batch]))
    # Three processes start on a ledger that does not exist yet: they race to migrate too.
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), ledger_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in batches
    ]
    outs = [p.communicate(b, timeout=120) for p, b in zip(procs, batches, strict=True)]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    stored_by_writer = [json.loads(out)["stored"] for out, _ in outs]
    expected = {_key(t) for t in shared} | {_key(t) for batch in own for t in batch}
    assert sum(stored_by_writer) == len(expected)  # each trade written by exactly one writer
    assert all(n >= 20 for n in stored_by_writer)
    with Ledger.open(ledger_url) as ledger:
        stored = ledger.trades()
        assert ledger.schema_version() == LATEST
    assert len(stored) == len(expected)
    assert {_key(t) for t in stored} == expected


def _sums(trades: list[TradeRecord], by: tuple[str, ...]) -> dict[tuple[object, ...], list[int]]:
    sums: dict[tuple[object, ...], list[int]] = {}
    for t in trades:
        key = (*(getattr(t, d) for d in by), t.paper, t.base_mint)
        acc = sums.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((1, t.realized_profit, t.fee_lamports, t.tip_lamports, t.loan_fee)):
            acc[i] += v
    return sums


def test_pnl_sums_equal_the_rows(ledger_url: str, make_trades: TradeFactory) -> None:
    trades = make_trades(300, seed=7, days=5)
    with Ledger.open(ledger_url) as ledger:
        for t in trades:
            ledger.record(t)
        rows = ledger.trades()
        for n in range(len(DIMENSIONS) + 1):
            for by in itertools.combinations(DIMENSIONS, n):
                got = {
                    (*(r.group[d] for d in by), r.paper, r.base_mint): [
                        r.trades,
                        r.realized_profit,
                        r.fee_lamports,
                        r.tip_lamports,
                        r.loan_fee,
                    ]
                    for r in ledger.pnl(by)
                }
                assert got == _sums(rows, by) == _sums(trades, by), by
        totals = ledger.pnl(())
        sol_paper = sum(t.realized_profit for t in trades if t.paper and t.base_mint == SOL_MINT)
        assert ledger.realized_lamports(paper=True) == sol_paper
    assert sum(r.trades for r in totals) == 300
    assert {r.base_mint for r in totals} == {t.base_mint for t in trades}
    assert len({r.group["day"] for r in ledger_rows_by_day(ledger_url)}) == 5


def ledger_rows_by_day(url: str) -> list[object]:
    with Ledger.open(url, create=False) as ledger:
        return list(ledger.pnl(("day",)))


def test_filters_select_by_time_and_mode(ledger_url: str, make_trades: TradeFactory) -> None:
    trades = make_trades(200, seed=3, days=4)
    since, until = T0 + DAY_NS, T0 + 3 * DAY_NS
    with Ledger.open(ledger_url) as ledger:
        for t in trades:
            ledger.record(t)
        for paper in (None, True, False):
            where = TradeFilter(since_ns=since, until_ns=until, paper=paper)
            want = {
                _key(t)
                for t in trades
                if since <= t.completed_ns < until and paper in (None, t.paper)
            }
            assert want
            assert {_key(t) for t in ledger.trades(where)} == want
            assert sum(r.trades for r in ledger.pnl((), where)) == len(want)
        days = {r.group["day"] for r in ledger.pnl(("day",), TradeFilter(since, until))}
    assert days == {"2026-01-02", "2026-01-03"}


def test_bad_trades_are_refused_naming_the_field(
    ledger_url: str, make_trades: TradeFactory
) -> None:
    good = make_trades(1)[0]
    leg = good.legs[0]
    cases = {
        "trade.plan_id is empty": lambda: dataclasses.replace(good, plan_id=""),
        "trade.fee_lamports = -1": lambda: dataclasses.replace(good, fee_lamports=-1),
        "trade.in_amount = 9223372036854775808": lambda: dataclasses.replace(good, in_amount=2**63),
        "trade.realized_profit must be an integer": lambda: dataclasses.replace(
            good, realized_profit=1.5
        ),
        "trade.paper must be a bool": lambda: dataclasses.replace(good, paper=1),
        "trade.completed_ns must be a time": lambda: dataclasses.replace(good, completed_ns=0),
        "leg.out_amount = -5": lambda: dataclasses.replace(leg, out_amount=-5),
        "leg.dex is empty": lambda: dataclasses.replace(leg, dex=""),
    }
    for message, build in cases.items():
        with pytest.raises(InvalidTrade, match=message.replace(".", r"\.")):
            build()
    with Ledger.open(ledger_url) as ledger:
        assert ledger.record(dataclasses.replace(good, realized_profit=-(2**62))) is True
        assert ledger.trades()[0].realized_profit == -(2**62)


def test_a_reader_never_creates_a_ledger(ledger_url: str) -> None:
    with pytest.raises(LedgerNotFound):
        Ledger.open(ledger_url, create=False)
    if ledger_url.startswith("sqlite:"):
        assert not Path(ledger_url.removeprefix("sqlite:")).exists()
    Ledger.open(ledger_url).close()
    with Ledger.open(ledger_url, create=False) as ledger:
        assert ledger.trades() == []


def test_a_newer_schema_is_refused(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    driver = open_driver(ledger_url, create=False)
    driver.execute(
        "INSERT INTO schema_version (version, description, applied_ns) VALUES (?, ?, ?)",
        [LATEST + 1, "from the future", 1],
    )
    driver.close()
    for create in (True, False):
        with pytest.raises(LedgerError, match=f"schema version {LATEST + 1}, newer"):
            Ledger.open(ledger_url, create=create)


def test_migrations_apply_once_and_upgrade_in_place(
    ledger_url: str, make_trades: TradeFactory
) -> None:
    trade = make_trades(1)[0]
    with Ledger.open(ledger_url) as ledger:
        ledger.record(trade)
    later = Migration(LATEST + 1, "a note per trade", ("ALTER TABLE trades ADD COLUMN note TEXT",))
    driver = open_driver(ledger_url, create=False)
    try:
        assert migrate(driver) == []
        assert migrate(driver, (*MIGRATIONS, later)) == [LATEST + 1]
        assert migrate(driver, (*MIGRATIONS, later)) == []
        assert driver.query("SELECT plan_id, note FROM trades") == [(trade.plan_id, None)]
        versions = driver.query("SELECT version FROM schema_version ORDER BY version")
        assert [v for (v,) in versions] == [*range(1, LATEST + 2)]
    finally:
        driver.close()


def test_a_leg_failure_rolls_the_whole_trade_back(
    ledger_url: str, make_trades: TradeFactory
) -> None:
    trade = make_trades(1)[0]
    with Ledger.open(ledger_url) as ledger:
        driver = ledger._driver
        driver.execute("DROP TABLE trade_legs")  # the legs' insert fails after the trade's
        with pytest.raises(Exception, match="trade_legs"):
            ledger.record(trade)
        assert driver.query("SELECT COUNT(*) FROM trades") == [(0,)]


def test_unknown_grouping_and_bad_urls_are_named(tmp_path: Path) -> None:
    with (
        Ledger.open(f"sqlite:{tmp_path / 'l.sqlite'}") as ledger,
        pytest.raises(LedgerError, match="cannot group P&L by venue"),
    ):
        ledger.pnl(("venue",))
    with pytest.raises(LedgerError, match="unsupported scheme 'mysql'"):
        Ledger.open("mysql://u:hunter2@host/db")
    with pytest.raises(LedgerError, match=r"cannot connect to the ledger database") as info:
        Ledger.open("postgresql://u:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(info.value)


def test_trade_legs_keep_their_order(ledger_url: str, make_trades: TradeFactory) -> None:
    trade = make_trades(1)[0]
    a, b = trade.legs
    c = TradeLeg(a.pool, "raydium-clmm", b.output_mint, a.input_mint, 7, 8, 0)
    triangle = dataclasses.replace(trade, legs=(b, c, a))
    with Ledger.open(ledger_url) as ledger:
        ledger.record(triangle)
        (stored,) = ledger.trades()
    assert stored.legs == (b, c, a)
    assert stored.route == f"{b.dex}:{b.pool} > raydium-clmm:{a.pool} > {a.dex}:{a.pool}"


def test_a_lost_postgresql_connection_fails_the_call_and_the_retry_succeeds(
    postgres_url: str, make_trades: TradeFactory
) -> None:
    first, second = make_trades(2)
    with (
        Ledger.open(postgres_url) as ledger,
        psycopg.connect(POSTGRES_URL, autocommit=True) as admin,
    ):
        assert ledger.record(first)
        pid = ledger._driver._conn.info.backend_pid  # type: ignore[attr-defined]
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(LedgerError, match="lost the ledger database postgresql://"):
            ledger.record(second)
        assert ledger.record(second) is True  # the auditor's redelivery, on a new connection
        assert ledger.record(first) is False
        assert sorted(t.plan_id for t in ledger.trades()) == [first.plan_id, second.plan_id]


def test_a_file_that_is_not_a_ledger_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database at all, just some bytes" * 200)
    with pytest.raises(LedgerError, match=f"cannot open the ledger {path}: file is not a database"):
        Ledger.open(f"sqlite:{path}", create=False)
