"""pytest-benchmark entry points for what the services pay to be observed and audited.

Metrics: one stage-latency observe plus one counter increment, the pair a hot path records per
event, with label children bound once (what services do) and with ``labels()`` looked up on
every call (what they must not do). The ledger: recording one trade (trade and two legs in one
transaction) in SQLite (synchronous=FULL, so every trade is on disk before it is acknowledged)
and in the machine's PostgreSQL; this is the auditor's capacity, far above the seed's
100-200 trades a day.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from lstarb_runtime import metrics
from lstarb_runtime.ledger import SOL_MINT, Ledger, TradeLeg, TradeRecord

POSTGRES_URL = os.environ.get(
    "LSTARB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def test_metrics_bound_observe_and_inc(benchmark: Any) -> None:
    detect = metrics.stage("detect")
    published = metrics.EVENTS_PUBLISHED.labels(stream="OPPORTUNITIES", type="OpportunityEvent")

    def record() -> None:
        detect.observe(0.00031)
        published.inc()

    before = metrics.REGISTRY.get_sample_value(
        "lstarb_stage_latency_seconds_count", {"stage": "detect"}
    )
    benchmark(record)
    after = metrics.REGISTRY.get_sample_value(
        "lstarb_stage_latency_seconds_count", {"stage": "detect"}
    )
    assert (after or 0) > (before or 0)


def test_metrics_labels_each_call(benchmark: Any) -> None:
    def record() -> None:
        metrics.STAGE_LATENCY.labels(stage="detect").observe(0.00031)
        metrics.EVENTS_PUBLISHED.labels(stream="OPPORTUNITIES", type="OpportunityEvent").inc()

    benchmark(record)


TRADE = TradeRecord(
    plan_id="plan-0",
    outcome="landed",
    opportunity_id="opp-0",
    paper=True,
    completed_ns=1_767_225_600 * 10**9,
    strategy="lst-two-hop",
    base_mint=SOL_MINT,
    legs=(
        TradeLeg(
            "8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj",
            "raydium-cpmm",
            SOL_MINT,
            "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn",
            10**9,
            870_000_000,
            2_500_000,
        ),
        TradeLeg(
            "BoeMUkCLHchTD31HdXsbDExuZZfcUppSLpYtV3LZTH6U",
            "meteora-dlmm",
            "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn",
            SOL_MINT,
            870_000_000,
            1_000_210_000,
            1_740_000,
        ),
    ),
    in_amount=10**9,
    out_amount=1_000_210_000,
    fee_lamports=5_000,
    tip_lamports=10_000,
    realized_profit=195_000,
    signature="5" * 88,
    slot=312_000_000,
    submitter="jito",
    stream_seq=1,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        with Ledger.open(f"sqlite:{tmp_path / 'bench.sqlite'}") as opened:
            yield opened
        return
    schema = f"lstarb_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            url = f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
            with Ledger.open(url) as opened:
                yield opened
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def test_ledger_record_trade(benchmark: Any, ledger: Ledger) -> None:
    ids = itertools.count()

    def record() -> bool:
        return ledger.record(dataclasses.replace(TRADE, plan_id=f"plan-{next(ids)}"))

    assert benchmark(record) is True


def test_ledger_skip_duplicate(benchmark: Any, ledger: Ledger) -> None:
    ledger.record(TRADE)
    assert benchmark(ledger.record, TRADE) is False
