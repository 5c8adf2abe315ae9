"""The executor service end to end on a bus: plans in, one result per plan out, on paper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.bus import Bus, EmbeddedNats, MemoryBus
from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.store import PlanStore
from lstarb_runtime.executor.transaction import TOKEN_ACCOUNT_RENT, TransactionBuilder
from lstarb_runtime.services.executor import DECIDED_AT_STOP, Executor
from lstarb_sdk.events import AccountEvent, ExecutionPlanEvent, SystemCommandEvent
from lstarb_sdk.events.models import Command
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from ..runtime.scanning import CountedDlmm, Plugin, asked, counted_pools
from .executor_testlib import (
    BSOL_EPOCH,
    BSOL_STAKE_POOL,
    LOSING_TRIANGLE,
    SOL,
    STAKE_ROUND_TRIP,
    TABLE_KEY,
    TRIANGLE,
    Observer,
    clock_account,
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


async def _executor(
    bus: Bus,
    observer: Observer | None = None,
    *,
    plugins: Sequence[tuple[str, object]] = (),
    **config: object,
) -> Executor:
    await publish_market(bus, market_accounts())
    fetch = {**kamino_accounts(), **_table_accounts()}
    host = executor_host(fetch, observer, rpc=True)  # type: ignore[arg-type]
    for name, plugin in plugins:
        host.register_object(name, plugin)
    # the tape does not move in these tests: the landing slot's states are the newest ones
    options = {
        "landing_delay_slots": 0,
        "landing_timeout_s": 0.2,
        "lookup_tables": [str(TABLE_KEY)],
        **config,
    }
    executor = Executor(executor_env(bus, host, config=settings(**options)))
    await executor.start()
    return executor


async def test_the_executors_tape_computes_no_pool_states(bus: Bus) -> None:
    """Its book follows the tape (the Clock moving every slot here) and quotes nothing until
    a plan asks: the pool states the scanner publishes are never computed by it."""
    counted = ("counted", Plugin(lstarb_dex_adapters=lambda: [CountedDlmm]))
    executor = await _executor(bus, plugins=[counted])
    tape = executor.tape
    start = tape.read
    held = clock_account()
    for slot in range(2, 12):
        epoch = BSOL_EPOCH
        clock = Clock(epoch * 432_000 + slot, 1_750_000_000, epoch, epoch + 1, 1_750_000_000 + slot)
        moved = Account(held.lamports, clock.encode(), held.owner)
        await bus.publish(
            AccountEvent.from_account(
                SYSVAR_CLOCK_ID, moved, slot=slot, seq=1000 + slot, source="t"
            )
        )
    for _ in range(200):
        if tape.read == start + 10:
            break
        await asyncio.sleep(0.01)
    await executor.stop()
    assert tape.read == start + 10 and tape.slot == 11
    assert counted_pools(tape.book) >= 2  # updated on every Clock, as the scanner's are
    assert asked(tape.book) == {}
    counted = [a for a, pool in tape.book.pools.items() if isinstance(pool, CountedDlmm)]
    assert all(tape.book.summary(a) is not None for a in counted)  # asked, it answers


@pytest.mark.parametrize("prepared", [False, True])
async def test_a_paper_plan_lands_once_with_what_the_market_gives(bus: Bus, prepared: bool) -> None:
    """``prepared``: ``[planner] token_accounts`` unset, the paper wallets hold the accounts
    of the mints of interest (USDC and bSOL among them) as the planner assumes; configured
    empty, the trade creates both and the wallet pays their rent."""
    observer = Observer()
    planner = {} if prepared else {"token_accounts": []}
    executor = await _executor(bus, observer, planner=planner)
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
    wallet = executor.wallets.by_key(Pubkey.from_bytes(result.wallet))
    assert wallet is not None and wallet.trades == 1 and not wallet.busy
    # the simulated balance: the profit, less the rent of the token accounts it created
    created = 0 if prepared else 2
    assert wallet.lamports == 100 * 10**9 + result.realized_profit - created * TOKEN_ACCOUNT_RENT
    assert len(wallet.token_accounts) == 2  # the route's USDC and bSOL accounts, either way
    record_of = await PlanStore(bus, "x").get(plan.id)
    assert record_of is not None and len(record_of.created_accounts) == created
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
    # two messages, and any redelivery of one still in hand (the bus's ack_wait)
    assert executor.stats.counters["duplicate plan messages"] >= 2
    rows = dict(executor.summary())
    decided = executor.stats.counters["duplicate plan messages"]
    assert rows["already decided"].startswith(f"{decided} plan messages for plans recorded")
    assert rows["executions"] == "1 (1 landed)"


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


@pytest.mark.parametrize(("moved_at", "status"), [(2, "failed"), (3, "landed")])
async def test_the_landing_slots_states_decide_a_paper_trade(moved_at: int, status: str) -> None:
    """The plan is signed at slot 1 and lands at slot 2. The bSOL stake pool then reprices
    (total lamports up 1 %: a deposit gives 1 % fewer tokens, below the leg's minimum): at
    slot 2 the trade fails, at slot 3 it landed before the move."""
    bus = MemoryBus()
    await bus.ensure_streams()
    executor = await _executor(bus, landing_delay_slots=1, landing_timeout_s=30)
    plan = make_plan(market_book(), STAKE_ROUND_TRIP, funding="", submitter="rpc", tip=0)
    await bus.publish(plan)
    store = PlanStore(bus, "test")
    for _ in range(1000):  # signed, waiting for its landing slot
        record = await store.get(plan.id)
        if record is not None and record.state != "claimed":
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.state == "signed", record
    assert record.landing_slot == 2
    pool = market_accounts()[BSOL_STAKE_POOL]
    data = bytearray(pool.data)
    total = int.from_bytes(data[258:266], "little")
    data[258:266] = (total * 101 // 100).to_bytes(8, "little")
    moved = Account(pool.lamports, bytes(data), pool.owner)
    seq = 10_000
    await bus.publish(
        AccountEvent.from_account(BSOL_STAKE_POOL, moved, slot=moved_at, seq=seq, source="test")
    )
    clock_key, clock = SYSVAR_CLOCK_ID, market_accounts()[SYSVAR_CLOCK_ID]
    await bus.publish(  # any account of a later slot ends the slots before it
        AccountEvent.from_account(clock_key, clock, slot=4, seq=seq + 1, source="test")
    )
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == status, result.error
    assert result.slot == 2
    if status == "failed":
        assert "below its min_out" in (result.error or "")
        assert result.fee_lamports == plan.base_fee_lamports + plan.priority_fee_lamports
        assert result.realized_profit == -result.fee_lamports  # rpc: a failure pays its fee
    else:
        assert result.legs[0].out_amount == plan.legs[0].out_amount


async def _waiting_to_land(bus: Bus) -> tuple[Executor, ExecutionPlanEvent]:
    """An executor holding one signed paper trade that waits for its landing slot (30 s)."""
    executor = await _executor(bus, landing_delay_slots=1, landing_timeout_s=30)
    plan = make_plan(market_book(), STAKE_ROUND_TRIP, funding="", submitter="rpc", tip=0)
    await bus.publish(plan)
    store = PlanStore(bus, "test")
    for _ in range(1000):
        record = await store.get(plan.id)
        if record is not None and record.state == "signed":
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.state == "signed", record
    return executor, plan


async def test_a_trade_in_flight_when_the_kill_switch_is_thrown_finishes() -> None:
    """Halted: nothing new is sent; what was signed and sent is followed to its outcome."""
    bus = MemoryBus()
    await bus.ensure_streams()
    executor, plan = await _waiting_to_land(bus)
    executor.env.halt.apply(
        SystemCommandEvent(id="k", command=Command.KILL_SWITCH, reason="test", time_ns=1)
    )
    await bus.publish(make_plan(market_book(), TRIANGLE, plan_id="after"))
    clock = market_accounts()[SYSVAR_CLOCK_ID]
    await bus.publish(
        AccountEvent.from_account(SYSVAR_CLOCK_ID, clock, slot=5, seq=10_000, source="test")
    )
    first, second = await results_of(bus, 2)
    await executor.stop()
    assert (first.plan_id, first.status) == (plan.id, "landed")
    assert (second.plan_id, second.status) == ("after", "rejected")
    assert "halted" in (second.error or "")


async def test_a_paper_trade_waiting_when_the_market_stops_is_decided_at_once() -> None:
    """This process's scanner stopped (a run's --duration ended) while a paper trade waited
    for its landing slot: no later slot will come, so the newest states decide it now instead
    of after ``landing_timeout_s``, and that wait is no confirmation time: it is counted
    apart, not observed as the ``land`` stage (which the summary holds against the budget)."""
    bus = MemoryBus()
    await bus.ensure_streams()
    executor, plan = await _waiting_to_land(bus)
    executor.env.market_stopped.set()
    (result,) = await results_of(bus, 1, timeout=5)
    await executor.stop()
    assert (result.plan_id, result.status) == (plan.id, "landed")
    assert executor.stats.counters[DECIDED_AT_STOP] == 1
    assert "land" not in executor.stats.timer.samples


async def test_a_paper_trade_decided_by_its_landing_slot_is_a_confirmation() -> None:
    """The neighbour: the tape passed the landing slot; the market stopped only afterwards."""
    bus = MemoryBus()
    await bus.ensure_streams()
    executor, plan = await _waiting_to_land(bus)
    clock = market_accounts()[SYSVAR_CLOCK_ID]
    await bus.publish(
        AccountEvent.from_account(SYSVAR_CLOCK_ID, clock, slot=5, seq=10_000, source="test")
    )
    (result,) = await results_of(bus, 1, timeout=5)
    executor.env.market_stopped.set()
    await executor.stop()
    assert (result.plan_id, result.status) == (plan.id, "landed")
    assert executor.stats.counters[DECIDED_AT_STOP] == 0
    assert len(executor.stats.timer.samples["land"]) == 1
