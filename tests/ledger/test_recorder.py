"""EXECUTED on a real nats-server -> TradeRecorder -> ledger (SQLite and PostgreSQL).

The auditor's path without its service shell: a durable consumer whose handler records and
returns (the bus acknowledges). The auditor dies once between writing a trade and acknowledging
it, and restarts with a new connection and a new ledger handle; the stream also holds a result
published twice outside JetStream's de-duplication. Every result ends up in the ledger once,
with the stream sequence of its first message, and the P&L gauges equal the ledger's sums.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from lstarb_runtime import metrics
from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.ledger import SOL_MINT, Ledger, TradeFilter
from lstarb_runtime.ledger.recorder import TradeRecorder
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent
from lstarb_sdk.events.examples import example_plan, example_result


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as server:
        yield server


def _results(n: int) -> list[ExecutionResultEvent]:
    rng = random.Random(4)
    base = example_result()
    out = []
    for i in range(n):
        status = rng.choice(("landed", "failed", "paper", "dropped"))
        out.append(
            base.model_copy(
                update={
                    "plan_id": f"plan-{i:04d}",
                    "opportunity_id": f"opp-{i:04d}",
                    "status": status,
                    "paper": status == "paper",
                    "realized_profit": rng.randrange(-30_000, 500_000),
                    "completed_ns": base.completed_ns + i * 10**9,
                }
            )
        )
    return out


def _plans(results: list[ExecutionResultEvent]) -> dict[str, ExecutionPlanEvent]:
    """The plan of each result, as the auditor finds it on the EXECUTION stream."""
    base = example_plan()
    return {
        r.plan_id: base.model_copy(update={"id": r.plan_id, "opportunity_id": r.opportunity_id})
        for r in results
    }


def _sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def _bus(url: str) -> JetStreamBus:
    nc_bus = await JetStreamBus.connect(url, fetch_timeout=0.2, ack_wait=1.0, batch=4)
    await nc_bus.ensure_streams()
    return nc_bus


async def _until(predicate: object, timeout: float = 20.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_every_result_once_across_an_auditor_restart(
    nats: EmbeddedNats, ledger_url: str
) -> None:
    results = _results(40)
    plans = _plans(results)
    bus = await _bus(nats.url)
    first_seq: dict[str, int] = {}
    for r in results:
        ack = await bus.publish(r)
        first_seq[r.plan_id] = ack.sequence
    for r in results[:5]:  # re-sent within the window: JetStream drops them
        assert (await bus.publish(r)).duplicate
    for r in results[5:8]:  # re-sent by a publisher with other message ids: stored twice
        assert not (await bus.publish(r, msg_id=f"again:{r.plan_id}")).duplicate
    duplicates_before = _sample("lstarb_ledger_duplicates_total")
    recorded_before = sum(
        _sample("lstarb_trades_recorded_total", outcome=o, mode=m)
        for o in ("landed", "failed", "paper", "dropped")
        for m in ("paper", "live")
    )

    # Run 1: the auditor writes trade 12 and dies before acknowledging it.
    ledger = Ledger.open(ledger_url)
    recorder = TradeRecorder(ledger)
    handled: list[int] = []
    crashed = asyncio.Event()

    async def run1(delivery: Delivery) -> None:
        if crashed.is_set():
            raise RuntimeError("the process is gone")
        event = delivery.event
        assert isinstance(event, ExecutionResultEvent)
        await recorder.record(event, stream_seq=delivery.sequence, plan=plans[event.plan_id])
        handled.append(delivery.sequence)
        if len(handled) == 12:
            crashed.set()
            raise RuntimeError("killed between the ledger write and the ack")

    consumer = await bus.consume("EXECUTED", "auditor", run1)
    await asyncio.wait_for(crashed.wait(), 20)
    await consumer.stop()
    await bus.close()
    ledger.close()
    assert len(handled) == 12

    # Run 2: a new process: new connection, new ledger handle, the same durable consumer.
    bus = await _bus(nats.url)
    ledger = Ledger.open(ledger_url)
    recorder = TradeRecorder(ledger)
    for paper in (True, False):
        recorder.refresh(paper)
    seen: list[int] = []

    async def run2(delivery: Delivery) -> None:
        event = delivery.event
        assert isinstance(event, ExecutionResultEvent)
        await recorder.record(event, stream_seq=delivery.sequence, plan=plans[event.plan_id])
        seen.append(delivery.sequence)

    consumer = await bus.consume("EXECUTED", "auditor", run2)
    total = len(results) + 3
    await _until(lambda: len(set(handled[:11]) | set(seen)) >= total)
    await consumer.stop()
    await bus.close()

    stored = ledger.trades()
    assert sorted(t.plan_id for t in stored) == sorted(r.plan_id for r in results)
    assert {t.plan_id: t.stream_seq for t in stored} == first_seq
    assert {t.plan_id: (t.outcome, t.realized_profit) for t in stored} == {
        r.plan_id: (r.status, r.realized_profit) for r in results
    }
    # One redelivery after the crash plus three copies published under other ids.
    assert _sample("lstarb_ledger_duplicates_total") - duplicates_before == 4
    recorded = sum(
        _sample("lstarb_trades_recorded_total", outcome=o, mode=m)
        for o in ("landed", "failed", "paper", "dropped")
        for m in ("paper", "live")
    )
    assert recorded - recorded_before == 40
    assert {t.base_mint for t in stored} == {SOL_MINT}
    for paper in (True, False):
        lamports = sum(t.realized_profit for t in ledger.trades(TradeFilter(paper=paper)))
        assert lamports != 0
        assert _sample("profit_realized_sol", mode=metrics.mode_label(paper)) == lamports / 1e9
    ledger.close()


async def test_plan_fields_fill_what_the_result_lacks(ledger_url: str) -> None:
    plan: ExecutionPlanEvent = example_plan()
    result = example_result()
    with Ledger.open(ledger_url) as ledger:
        recorder = TradeRecorder(ledger)
        assert await recorder.record(result, stream_seq=7, plan=plan) is True
        assert await recorder.record(result, stream_seq=8, plan=plan) is False
        (trade,) = ledger.trades()
    assert trade.strategy == plan.strategy and trade.base_mint == str(plan.base_mint)
    assert [leg.pool for leg in trade.legs] == [str(leg.pool) for leg in plan.legs]
    assert trade.submitter == plan.submitter and trade.stream_seq == 7
    assert trade.signature == result.signature and trade.slot == result.slot


async def test_a_result_the_ledger_cannot_take_is_logged_not_retried(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = example_result().model_copy(update={"realized_profit": 2**63 - 1, "in_amount": 2**63})
    before = _sample(
        "lstarb_handler_errors_total", stream="EXECUTED", consumer="auditor", kind="invalid"
    )
    with Ledger.open(ledger_url) as ledger:
        recorder = TradeRecorder(ledger)
        assert await recorder.record(bad, stream_seq=3) is False
        assert ledger.trades() == []
        assert await recorder.record(example_result(), stream_seq=4) is True
    after = _sample(
        "lstarb_handler_errors_total", stream="EXECUTED", consumer="auditor", kind="invalid"
    )
    assert after - before == 1
    assert "EXECUTED message 3 (plan plan-312345678-0001) not recorded: trade.in_amount" in (
        caplog.text
    )


def test_today_starts_at_utc_midnight() -> None:
    from lstarb_runtime.ledger.recorder import start_of_day_ns

    noon = 1_767_268_800 * 10**9  # 2026-01-01T12:00:00Z
    assert start_of_day_ns(noon) == 1_767_225_600 * 10**9
    assert start_of_day_ns(1_767_225_600 * 10**9) == 1_767_225_600 * 10**9
