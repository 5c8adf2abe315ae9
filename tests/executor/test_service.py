"""The executor service end to end on a bus: plans in, one result per plan out, on paper."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.bus import Bus, EmbeddedNats, MemoryBus
from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.store import PlanStore
from lstarb_runtime.executor.transaction import TransactionBuilder
from lstarb_runtime.services.executor import Executor
from lstarb_sdk.events import ExecutionPlanEvent, SystemCommandEvent
from lstarb_sdk.events.models import Command

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from .executor_testlib import (
    LOSING_TRIANGLE,
    SOL,
    TABLE_KEY,
    TRIANGLE,
    Observer,
    executor_env,
    executor_host,
    kamino,
    kamino_accounts,
    lookup_table_account,
    make_plan,
    market_accounts,
    market_book,
    publish_market,
    results_of,
    route_table,
    settings,
)


@pytest.fixture(params=["memory", "jetstream"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        memory = MemoryBus()
        await memory.ensure_streams()
        yield memory
        await memory.close()
    else:
        server: EmbeddedNats = request.getfixturevalue("nats_server")
        js = await fresh_jetstream_bus(server.url)
        yield js
        await js.close()


def _table_accounts() -> dict[Pubkey, object]:
    """The lookup table an operator made for both triangles' accounts."""
    book = market_book()
    builder = TransactionBuilder(book, {"kamino": kamino()}, LookupTables())
    payer = Pubkey.new_unique()
    keys: set[Pubkey] = set()
    for route in (TRIANGLE, LOSING_TRIANGLE):
        keys.update(route_table(builder, make_plan(book, route), payer))
    return {TABLE_KEY: lookup_table_account(sorted(keys, key=bytes))}


async def _executor(bus: Bus, observer: Observer | None = None, **config: object) -> Executor:
    await publish_market(bus, market_accounts())
    fetch = {**kamino_accounts(), **_table_accounts()}
    host = executor_host(fetch, observer)  # type: ignore[arg-type]
    options = {"landing_delay_slots": 0, "lookup_tables": [str(TABLE_KEY)], **config}
    executor = Executor(executor_env(bus, host, config=settings(**options)))
    await executor.start()
    return executor


async def test_a_paper_plan_lands_once_with_what_the_market_gives(bus: Bus) -> None:
    observer = Observer()
    executor = await _executor(bus, observer)
    plan = make_plan(market_book(), TRIANGLE)
    await bus.publish(plan)
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "landed", result.error
    assert result.paper and result.plan_id == plan.id and result.signature
    assert result.submitter == "jito" and result.funding_provider == "kamino"
    assert result.tip_lamports == plan.tip_lamports == 10_000
    assert result.loan_fee == 10_000  # 1 SOL from the Main market reserve: 1e-5
    assert result.fee_lamports == 5_000 + 3_000  # base + ceil(600,000 x 5,000 / 1e6)
    out = result.legs[-1].out_amount
    assert result.out_amount == out == plan.legs[-1].out_amount  # the market did not move
    assert result.realized_profit == out - plan.amount_in - 10_000 - 8_000 - 10_000
    assert result.wallet and result.traceparent.split("-")[1] == plan.traceparent.split("-")[1]
    assert [r.plan_id for r in observer.results] == [plan.id]
    record = await PlanStore(bus, "x").get(plan.id)
    assert record is not None and record.state == "done" and record.status == "landed"
    assert record.signature == result.signature
    assert await bus.kv("inflight").keys() == []


async def test_a_failed_bundle_costs_nothing_a_failed_transaction_pays_its_fee(bus: Bus) -> None:
    executor = await _executor(bus)
    book = market_book()
    bundle = make_plan(book, LOSING_TRIANGLE, plan_id="bundle")
    # the route cannot repay a loan; as a plain transaction it fails at the repay as well
    await bus.publish(bundle)
    (failed,) = await results_of(bus, 1)
    await executor.stop()
    assert failed.status == "failed" and "flash repay" in (failed.error or "")
    assert (failed.fee_lamports, failed.tip_lamports, failed.realized_profit) == (0, 0, 0)


async def test_duplicate_plan_messages_give_one_submission(bus: Bus) -> None:
    executor = await _executor(bus)
    plan = make_plan(market_book(), TRIANGLE, plan_id="twice")
    for msg_id in ("first", "second", "third"):  # three messages past the stream's de-dup
        await bus.publish(plan, msg_id=msg_id)
    results = await results_of(bus, 1)
    assert await executor.drain(timeout=20)
    await executor.stop()
    again = await results_of(bus, 1)
    assert len(results) == len(again) == 1 and again[0].status == "landed"
    assert executor.outcomes["landed"] == 1 and sum(executor.outcomes.values()) == 1
    assert executor.stats.counters["duplicate plan messages"] == 2


async def test_expired_and_halted_plans_are_refused_with_the_reason(bus: Bus) -> None:
    executor = await _executor(bus)
    book = market_book()
    late = make_plan(book, TRIANGLE, plan_id="late", expiry_s=-1.0)
    await bus.publish(late)
    (expired,) = await results_of(bus, 1)
    assert expired.status == "rejected" and "expired" in (expired.error or "")
    assert expired.signature is None
    executor.env.halt.apply(
        SystemCommandEvent(id="k", command=Command.KILL_SWITCH, reason="test", time_ns=1)
    )
    await bus.publish(make_plan(book, TRIANGLE, plan_id="halted"))
    results = await results_of(bus, 2)
    await executor.stop()
    halted = results[1]
    assert halted.plan_id == "halted" and halted.status == "rejected"
    assert "halted" in (halted.error or "")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"max_loss_lamports": 0}, "max_loss_lamports is not set"),
        ({"max_loss_lamports": 1_000}, "may lose"),
        ({"loan_fee": 1}, "the loan now costs 10000"),
        ({"submitter": "nobody"}, "submitter 'nobody' is not loaded"),
        ({"funding_provider": ""}, "a loan without a funding_provider"),
    ],
)
async def test_a_plan_that_breaks_a_promise_is_refused(
    change: dict[str, object], reason: str
) -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    executor = await _executor(bus)
    plan = make_plan(market_book(), TRIANGLE).model_copy(update=change)
    assert isinstance(plan, ExecutionPlanEvent)
    await bus.publish(plan)
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "rejected" and reason in (result.error or ""), result.error
    assert result.base_mint == bytes(SOL)


async def test_a_transaction_too_large_is_refused_with_its_size() -> None:
    bus = MemoryBus()
    await bus.ensure_streams()
    executor = await _executor(bus, lookup_tables=[])
    await bus.publish(make_plan(market_book(), TRIANGLE))
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "rejected"
    assert "bytes, above the 1232 a validator accepts" in (result.error or "")
