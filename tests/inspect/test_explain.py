"""``lstarb explain`` on the story of a real pipeline: the real scanner on the bundled market,
the planner, a paper executor and the auditor on a real nats-server with a SQLite ledger.
Then the story of a planned opportunity, of its plan, and of a rejected opportunity is told,
and every fact in it is checked against the events on the streams and the ledger's rows."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nats.aio.client import Client
from pydantic import SecretStr
from solders.pubkey import Pubkey

from lstarb_runtime.builtin import paper as paper_plugin
from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.bus.connection import connect_nats
from lstarb_runtime.config import AuditorSettings, Settings
from lstarb_runtime.inspect.cli import explain
from lstarb_runtime.inspect.explain import NotFound, story
from lstarb_runtime.ledger import Ledger
from lstarb_runtime.planner.core import REASONS
from lstarb_runtime.planner.settings import PlannerSettings, RiskSettings
from lstarb_runtime.services.auditor import Auditor
from lstarb_runtime.services.executor import Executor
from lstarb_runtime.services.planner import Planner
from lstarb_sdk import PluginContext
from lstarb_sdk.events import (
    ExecutionPlanEvent,
    ExecutionResultEvent,
    MetricEvent,
    OpportunityEvent,
    PoolStateEvent,
)
from lstarb_sdk.solana import COMPUTE_BUDGET_PROGRAM_ID, WSOL_MINT

from ..planner.planner_testlib import LOOSE_RISK, env_for, host_for, read_all, scan_onto

RISK = {**LOOSE_RISK, "min_profit_lamports": 0, "max_trade_lamports": 20 * 10**9}


@dataclass
class Pipeline:
    url: str
    ledger: str
    settings: Settings
    opportunities: list[OpportunityEvent]
    plans: list[ExecutionPlanEvent]
    results: list[ExecutionResultEvent]
    states: list[tuple[int, PoolStateEvent]]
    rejected: Counter[str]
    rejections: list[MetricEvent]


async def _run_pipeline(url: str, ledger: str) -> Pipeline:
    settings = Settings.model_validate(
        {
            "risk": RISK,
            "planner": {"metrics_interval_s": 0.05, "capital": {str(WSOL_MINT): 10**15}},
            "executor": {"landing_delay_slots": 0, "landing_timeout_s": 0.2},
        }
    )
    settings.auditor = AuditorSettings(database_url=SecretStr(ledger))
    bus = await JetStreamBus.connect(url, fetch_timeout=0.2)
    await bus.ensure_streams()
    try:
        await scan_onto(bus)
        services: list[Any] = [
            Planner(env_for(bus, host_for(source=False), settings)),
            Executor(env_for(bus, host_for(("paper", paper_plugin)), settings)),
            Auditor(env_for(bus, host_for(source=False), settings)),
        ]
        runs = []
        for service in services:
            await service.start()
            runs.append(asyncio.create_task(service.run()))
        for service in services:
            assert await service.drain(timeout=60)
        for service in services:
            await service.stop()
        await asyncio.gather(*runs)
        planner = services[0]
        rejected: Counter[str] = Counter()
        for (_, reason), n in planner.rejected.items():
            rejected[reason] += n
        opps = [d.event for d in await read_all(bus, "OPPORTUNITIES", "t-o")]
        plans = [d.event for d in await read_all(bus, "EXECUTION", "t-e")]
        results = [d.event for d in await read_all(bus, "EXECUTED", "t-r")]
        states = [
            (d.sequence, d.event)
            for d in await read_all(bus, "MARKET_DATA", "t-m")
            if isinstance(d.event, PoolStateEvent)
        ]
        rejections = [
            d.event
            for d in await read_all(bus, "METRICS", "t-x")
            if isinstance(d.event, MetricEvent) and d.event.name == "planner.rejection"
        ]
    finally:
        await bus.close()
    return Pipeline(
        url,
        ledger,
        settings,
        [o for o in opps if isinstance(o, OpportunityEvent)],
        [p for p in plans if isinstance(p, ExecutionPlanEvent)],
        [r for r in results if isinstance(r, ExecutionResultEvent)],
        states,
        rejected,
        rejections,
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("explain")
    with EmbeddedNats(free_local_url(), tmp / "nats") as server:
        ledger = f"sqlite:{tmp / 'ledger.sqlite'}"
        yield asyncio.run(_run_pipeline(server.url, ledger))


async def _story(p: Pipeline, wanted: str, *, rebuild: bool = True) -> dict[str, Any]:
    nc: Client = await connect_nats(p.url)
    try:
        return await story(
            nc,
            wanted,
            ledger_url=p.ledger,
            risk=RiskSettings.model_validate(RISK),
            planner=PlannerSettings(),
            host=host_for(source=False) if rebuild else None,
            context=PluginContext(paper=True),
        )
    finally:
        await nc.close()


def _state_at(p: Pipeline, pool: str, slot: int) -> tuple[int, PoolStateEvent]:
    """The tape's last state of ``pool`` at or before ``slot``, read independently."""
    found = [(seq, s) for seq, s in p.states if str(s.pool) == pool and s.slot <= slot]
    return found[-1]


def test_the_pipeline_made_both_plans_and_rejections(pipeline: Pipeline) -> None:
    assert len(pipeline.plans) >= 2 and sum(pipeline.rejected.values()) >= 1
    assert len(pipeline.results) == len(pipeline.plans)
    assert {r.status for r in pipeline.results} <= {"landed", "failed", "rejected", "dropped"}
    # the planner tells of each rejection once, on METRICS
    planned = {p.opportunity_id for p in pipeline.plans}
    told = Counter(m.labels["reason"] for m in pipeline.rejections)
    assert told == pipeline.rejected
    assert {m.labels["opportunity_id"] for m in pipeline.rejections} == {
        o.id for o in pipeline.opportunities if o.id not in planned
    }


async def test_the_story_of_a_plan(pipeline: Pipeline) -> None:
    result = next(r for r in pipeline.results if r.status == "landed")
    plan = next(p for p in pipeline.plans if p.id == result.plan_id)
    opp = next(o for o in pipeline.opportunities if o.id == plan.opportunity_id)
    doc = await _story(pipeline, plan.id)

    assert doc["kind"] == "plan" and doc["opportunity_id"] == opp.id
    assert doc["plan"]["id"] == plan.id and doc["opportunity"]["slot"] == opp.slot
    assert doc["decision"] == {"outcome": "planned", "plan_id": plan.id}
    # every check passed, with the plan's own numbers where it records them
    assert {f["result"] for f in doc["factors"]} == {"passed"}
    by_reason = {f["reason"]: f for f in doc["factors"]}
    assert [f["reason"] for f in doc["factors"]] == list(REASONS)
    assert by_reason["max_loss"]["value"] == plan.max_loss_lamports
    assert by_reason["risk"]["value"] == round(plan.risk_score, 6)
    assert by_reason["below_min_trade"]["value"] == plan.amount_in
    c = doc["costs"]
    assert c["net_lamports"] == (
        plan.gross_profit
        - plan.base_fee_lamports
        - plan.priority_fee_lamports
        - plan.tip_lamports
        - plan.loan_fee
        - plan.rent_lamports
    )
    assert c["actual"]["realized_profit"] == result.realized_profit
    assert c["actual"]["vs_expected"] == result.realized_profit - plan.expected_profit
    # the pool states it was computed on: the tape's, leg by leg
    assert len(doc["pool_states"]) == len(plan.legs)
    for row, leg in zip(doc["pool_states"], plan.legs, strict=True):
        seq, state = _state_at(pipeline, str(leg.pool), opp.slot)
        got = row["computed_on"]
        assert (got["seq"], got["slot"]) == (seq, state.slot)
        assert (got["reserve_a"], got["reserve_b"]) == (state.reserve_a, state.reserve_b)
    # the instructions, rebuilt and decoded
    ixs = doc["instructions"]
    assert ixs, doc["instructions_note"]
    budget = [ix for ix in ixs if ix["program"] == str(COMPUTE_BUDGET_PROGRAM_ID)]
    assert {ix["name"] for ix in budget} <= {"SetComputeUnitLimit", "SetComputeUnitPrice"}
    limit = [ix["args"]["units"] for ix in budget if ix["name"] == "SetComputeUnitLimit"]
    assert limit == ([plan.compute_unit_limit] if plan.compute_unit_limit else [])
    swaps = [ix for ix in ixs if ix["name"].startswith("swap on")]
    assert [ix["args"]["min_out"] for ix in swaps] == [leg.min_out for leg in plan.legs]
    assert f"for wallet {Pubkey.from_bytes(bytes(result.wallet))}" in doc["instructions_note"]
    # the outcome, from EXECUTED and the ledger
    (executed,) = doc["results"]
    assert executed["status"] == "landed" and executed["signature"] == result.signature
    (row,) = doc["ledger"]
    with Ledger.open(pipeline.ledger, create=False) as ledger:
        (trade,) = [t for t in ledger.trades() if t.plan_id == plan.id]
    assert row["realized_profit"] == trade.realized_profit == result.realized_profit
    assert row["stream_seq"] == executed["seq"]
    assert doc["verdict"].startswith(f"landed at slot {result.slot}: realized ")


async def test_the_story_of_an_opportunity_is_the_same_story(pipeline: Pipeline) -> None:
    plan = pipeline.plans[0]
    by_plan = await _story(pipeline, plan.id, rebuild=False)
    by_opp = await _story(pipeline, plan.opportunity_id, rebuild=False)
    assert by_opp["kind"] == "opportunity" and by_opp["plan_ids"] == [plan.id]
    for key in ("verdict", "plan", "results", "ledger", "factors", "pool_states", "costs"):
        assert by_opp[key] == by_plan[key], key


async def test_the_story_of_a_rejected_opportunity(pipeline: Pipeline) -> None:
    planned = {p.opportunity_id for p in pipeline.plans}
    opp = next(o for o in pipeline.opportunities if o.id not in planned)
    doc = await _story(pipeline, opp.id)
    decision = doc["decision"]
    assert decision["outcome"] == "rejected" and decision["reason"] in pipeline.rejected
    failed = [f for f in doc["factors"] if f["result"] == "failed"]
    assert [f["reason"] for f in failed] == [decision["reason"]]
    at = REASONS.index(decision["reason"])
    assert {f["result"] for f in doc["factors"][:at]} <= {"passed"}
    assert {f["result"] for f in doc["factors"][at + 1 :]} <= {"not reached"}
    assert doc["verdict"] == (
        f"rejected by the planner: {decision['reason']}: {decision['detail']}"
    )
    assert doc["plan"] is None and doc["results"] == [] and doc["ledger"] == []
    assert doc["instructions_note"] == "no plan: no transaction was built"
    for row, leg in zip(doc["pool_states"], opp.legs, strict=True):
        seq, _ = _state_at(pipeline, str(leg.pool), opp.slot)
        assert row["computed_on"]["seq"] == seq


async def test_an_unknown_id_is_not_found(pipeline: Pipeline) -> None:
    with pytest.raises(NotFound, match="no opportunity or plan 'opp-nowhere'"):
        await _story(pipeline, "opp-nowhere")


def test_the_command_prints_the_story_and_json(pipeline: Pipeline, tmp_path: Path) -> None:
    plan = pipeline.plans[0]
    runner = CliRunner()
    base = ["--nats-url", pipeline.url, "--database-url", pipeline.ledger]
    result = runner.invoke(explain, [plan.id, *base, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["plan"]["id"] == plan.id and doc["instructions"]
    text = runner.invoke(explain, [plan.id, *base], catch_exceptions=False).output
    assert f"plan {plan.id}" in text and "verdict:" in text and "SetComputeUnit" in text
    missing = runner.invoke(explain, ["plan-nowhere", *base])
    assert missing.exit_code == 1 and "no opportunity or plan 'plan-nowhere'" in missing.output


async def test_the_story_of_a_plan_the_executor_refused(pipeline: Pipeline) -> None:
    result = next(r for r in pipeline.results if r.status == "rejected")
    doc = await _story(pipeline, result.plan_id, rebuild=False)
    assert doc["verdict"] == f"refused by the executor, nothing sent: {result.error}"
    (row,) = doc["ledger"]
    assert row["outcome"] == "rejected" and row["error"] == result.error
    assert doc["instructions_note"] == "not rebuilt (no plugins loaded)"
