"""Exactly once with the record written after signing, on a real nats-server.

The executor builds and signs without the server, then writes the plan's record once, already
decided. These tests race two executors (each on its own connection) on one plan, crash one
between signing and recording, and count the writes a rejected plan costs. The plan is handed
to the executors' handlers directly (the consumer's own call), so both hold the same message at
once: the race is exactly the one of a redelivery while the first executor still works.

The crashes are injected at a precise point (the store's write raises, as a process dying
there would leave things: nothing after that point happens); a killed subprocess cannot be
stopped between two lines, tests/executor/test_crash_restart.py kills one at the send.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus
from lstarb_runtime.bus.kv import WrongRevision
from lstarb_runtime.bus.streams import subject_of
from lstarb_runtime.executor.store import PlanRecord, PlanStore, plan_key
from lstarb_runtime.services.executor import Executor
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent, SystemCommandEvent
from lstarb_sdk.events.models import Command

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from .executor_testlib import TRIANGLE, Observer, make_plan, market_book, results_of
from .test_service import _executor


class Crash(Exception):
    """The executor process dies here."""


@pytest.fixture
async def bus(nats_server: EmbeddedNats) -> AsyncIterator[JetStreamBus]:  # noqa: F811
    js = await fresh_jetstream_bus(nats_server.url)
    yield js
    await js.close()


async def _other_connection(url: str) -> JetStreamBus:
    other = await JetStreamBus.connect(url, fetch_timeout=0.2, ack_wait=2.0)
    await other.ensure_streams()
    return other


def _delivery(plan: ExecutionPlanEvent, num_delivered: int = 1) -> Delivery:
    """The plan's message as the EXECUTION consumer hands it over (``num_delivered``: the
    server's count, above 1 on a redelivery)."""
    return Delivery(
        "EXECUTION", subject_of(plan), plan, plan.encode(), None, None, 1, num_delivered
    )


async def _record_then_crash(executor: Executor, plan: ExecutionPlanEvent) -> None:
    """``executor`` signs and records ``plan`` (the record reaches the server), then dies
    before sending: its store's write raises once it is done, and the executor stops."""
    record = executor.store.signed

    async def record_then_crash(*args: Any, **kwargs: Any) -> None:
        await record(*args, **kwargs)
        raise Crash

    executor.store.signed = record_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await executor.handle(_delivery(plan))
    await executor.stop()


async def _writes(bus: JetStreamBus, stream: str) -> int:
    """Messages ever stored on ``stream`` (the bucket ``plans`` is ``KV_plans``): a fresh
    stream per test, so its last sequence counts every write."""
    info = await bus.js.stream_info(stream)
    return int(info.state.last_seq)


async def test_two_executors_racing_on_one_plan_send_it_once_and_the_loser_follows(
    bus: JetStreamBus,
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    other = await _other_connection(nats_server.url)
    a = await _executor(bus, name="a")
    b = await _executor(other, name="b")
    try:
        plan = make_plan(market_book(), TRIANGLE, plan_id="raced")
        message = _delivery(plan)
        await asyncio.gather(a.handle(message), b.handle(message))
        (result,) = await results_of(bus, 1)
    finally:
        await a.stop()
        await b.stop()
        await other.close()
    counters = {e.store.owner: e.stats.counters for e in (a, b)}
    assert sum(c["plans sent"] for c in counters.values()) == 1, counters
    winner = next(name for name, c in counters.items() if c["plans sent"])
    loser = counters["b" if winner == "a" else "a"]
    assert loser["plans lost to another executor"] == 1 and loser["plans followed"] == 1
    record = await PlanStore(bus, "test").get(plan.id)
    assert record is not None and record.owner == winner
    assert (record.state, record.status) == ("done", "landed") == ("done", result.status)
    assert record.signature == result.signature  # the loser's transaction went nowhere
    assert await bus.kv("inflight").keys() == []
    assert await _writes(bus, "EXECUTED") == 1  # one result
    assert await _writes(bus, "KV_plans") == 2  # recorded signed, then done: nothing more


async def test_a_rejection_racing_a_signature_one_decision_stands(
    bus: JetStreamBus,
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    """One executor is halted (it rejects), the other signs: whichever records first decides,
    and the other follows that decision: sent once and landed, or rejected and never sent."""
    other = await _other_connection(nats_server.url)
    a = await _executor(bus, name="a")
    b = await _executor(other, name="b")
    b.env.halt.apply(
        SystemCommandEvent(id="k", command=Command.KILL_SWITCH, reason="test", time_ns=1)
    )
    try:
        plan = make_plan(market_book(), TRIANGLE, plan_id="split-decision")
        message = _delivery(plan)
        await asyncio.gather(b.handle(message), a.handle(message))
        (result,) = await results_of(bus, 1)
    finally:
        await a.stop()
        await b.stop()
        await other.close()
    record = await PlanStore(bus, "test").get(plan.id)
    assert record is not None and record.state == "done" and record.status == result.status
    sent = a.stats.counters["plans sent"] + b.stats.counters["plans sent"]
    if result.status == "rejected":
        assert record.owner == "b" and "halted" in (result.error or "") and sent == 0
    else:
        assert (record.owner, result.status, sent) == ("a", "landed", 1)
        assert record.signature == result.signature
    lost = [e.stats.counters["plans lost to another executor"] for e in (a, b)]
    assert sorted(lost) == [0, 1]
    assert await _writes(bus, "EXECUTED") == 1
    assert await bus.kv("inflight").keys() == []


async def test_a_crash_after_signing_before_the_record_executes_the_plan_once_after_restart(
    bus: JetStreamBus,
) -> None:
    plan = make_plan(market_book(), TRIANGLE, plan_id="crashed-before")
    first = await _executor(bus, name="x")

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    first.store.signed = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await first.handle(_delivery(plan))
    await first.stop()
    assert first.stats.counters["plans sent"] == 0
    assert await PlanStore(bus, "test").get(plan.id) is None  # nothing was written

    restarted = await _executor(bus, name="x")
    try:
        await restarted.handle(_delivery(plan, num_delivered=2))  # the server redelivers
        (result,) = await results_of(bus, 1)
    finally:
        await restarted.stop()
    assert result.status == "landed" and restarted.stats.counters["plans sent"] == 1
    record = await PlanStore(bus, "test").get(plan.id)
    assert record is not None and record.signature == result.signature
    assert await _writes(bus, "EXECUTED") == 1
    assert await bus.kv("inflight").keys() == []


async def test_a_crash_after_the_record_before_sending_is_followed_never_signed_again(
    bus: JetStreamBus,
) -> None:
    """The record (and its listing) reached the server, the process died before sending: the
    restart follows that signature (paper: the landing simulator) and signs nothing new."""
    plan = make_plan(market_book(), TRIANGLE, plan_id="crashed-after")
    await _record_then_crash(await _executor(bus, name="x"), plan)
    held = await PlanStore(bus, "test").get(plan.id)
    assert held is not None and held.state == "signed"

    restarted = await _executor(bus, name="x")  # follows what its listing says first
    try:
        await restarted.handle(_delivery(plan, num_delivered=2))
        (result,) = await results_of(bus, 1)
    finally:
        await restarted.stop()
    counters = restarted.stats.counters
    assert counters["plans followed after a restart"] == 1 and counters["plans sent"] == 0
    assert result.status == "landed" and result.signature == held.signature
    assert await _writes(bus, "EXECUTED") == 1
    assert await bus.kv("inflight").keys() == []


async def test_a_rejected_plan_is_recorded_once_and_its_result_survives_a_crash(
    bus: JetStreamBus,
) -> None:
    executor = await _executor(bus, name="x")
    late = make_plan(market_book(), TRIANGLE, plan_id="late", expiry_s=-1.0)
    await bus.publish(late)  # through the consumer, as in a run
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "rejected" and "expired" in (result.error or "")
    record = await PlanStore(bus, "test").get(late.id)
    assert record is not None and (record.state, record.status) == ("done", "rejected")
    assert record.error == result.error and record.signature == ""
    assert await _writes(bus, "KV_plans") == 1  # one create, already decided
    assert await bus.kv("inflight").keys() == []

    # recorded, then the process died before publishing: the redelivery publishes the result
    lost = make_plan(market_book(), TRIANGLE, plan_id="lost-result")
    await PlanStore(bus, "x").rejected(lost.id, "halted: test")
    restarted = await _executor(bus, name="x")
    try:
        await restarted.handle(_delivery(lost, num_delivered=2))
        results = await results_of(bus, 2)
    finally:
        await restarted.stop()
    assert (results[1].plan_id, results[1].status) == (lost.id, "rejected")
    assert results[1].error == "halted: test"
    assert await _writes(bus, "KV_plans") == 2  # the redelivery wrote nothing


async def test_a_claim_left_by_an_earlier_version_is_taken_over_once(bus: JetStreamBus) -> None:
    """Before this version the executor claimed a plan (state ``claimed``) before building; a
    claimer that died left such a record. Its redelivered plan is decided by this executor and
    recorded over the claim; the claimer, were it alive, would lose its update."""
    plan = make_plan(market_book(), TRIANGLE, plan_id="claimed-by-old")
    claim = b'{"plan_id":"%s","state":"claimed","owner":"old","claimed_ns":1}' % plan.id.encode()
    revision = await bus.kv("plans").create(plan_key(plan.id), claim)
    executor = await _executor(bus, name="x")
    try:
        await executor.handle(_delivery(plan, num_delivered=2))
        (result,) = await results_of(bus, 1)
    finally:
        await executor.stop()
    counters = executor.stats.counters
    assert counters["plans taken over"] == 1 and counters["plans sent"] == 1
    record = await PlanStore(bus, "test").get(plan.id)
    assert record is not None and (record.owner, record.state) == ("x", "done")
    assert result.status == "landed" and record.signature == result.signature
    with pytest.raises(WrongRevision):  # the old claimer's write at its claim's revision
        await bus.kv("plans").update(plan_key(plan.id), b"{}", revision)
    assert await bus.kv("inflight").keys() == []


async def test_a_signature_listed_by_an_earlier_version_is_followed_after_restart(
    bus: JetStreamBus,
) -> None:
    """An earlier version listed a signed plan in ``inflight`` under the plan's key alone and
    died: the restart follows it, never signs again, and removes the listing when done."""
    plan = make_plan(market_book(), TRIANGLE, plan_id="listed-by-old")
    signed = PlanRecord(
        plan.id,
        "signed",
        "x",
        1,
        wallet="",
        signature="old-signature",
        submitter="jito",
        paper=True,
        signed_ns=time.time_ns(),
        plan_b64=base64.b64encode(plan.encode()).decode(),
    )
    value = signed.encode().replace(b',"error":"","inflight":""', b"")  # the old layout
    assert b'"inflight"' not in value
    await bus.kv("plans").create(plan_key(plan.id), value)
    await bus.kv("inflight").put(plan_key(plan.id), value)
    executor = await _executor(bus, name="x")
    try:
        (result,) = await results_of(bus, 1)
    finally:
        await executor.stop()
    counters = executor.stats.counters
    assert counters["plans followed after a restart"] == 1 and counters["plans sent"] == 0
    assert result.signature == "old-signature" and result.status == "landed"
    record = await PlanStore(bus, "test").get(plan.id)
    assert record is not None and record.state == "done"
    assert await bus.kv("inflight").keys() == []


async def test_two_executors_following_one_signed_record_count_its_outcome_once(
    bus: JetStreamBus,
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    """Executor a signs, records and sends (paper: hands it to the simulator), then dies before
    acknowledging: the server redelivers the plan to b, which follows the record, while a
    restarts and follows its ``inflight`` listing. Both reach the end of the same trade; one
    of them decides its outcome: one result, one outcome counted, the P&L counted once."""
    plan = make_plan(market_book(), TRIANGLE, plan_id="followed-twice")
    first = await _executor(bus, name="a")
    await _record_then_crash(first, plan)
    other = await _other_connection(nats_server.url)
    observer = Observer()  # the plugins' hook, in both processes
    # the tape does not move: each follower's simulated landing waits for its timeout, long
    # enough for both to have read the record signed before either finishes
    slow = {"landing_timeout_s": 3.0}
    b = await _executor(other, observer, name="b", **slow)
    a = None
    try:
        a = await _executor(bus, observer, name="a", **slow)  # restarted: follows its listing
        await b.handle(_delivery(plan, num_delivered=2))  # meanwhile b follows the redelivery
        (result,) = await results_of(bus, 1)
        while a._active:  # a's recovery runs in a task of its own
            await asyncio.sleep(0.02)
    finally:
        if a is not None:
            await a.stop()
        await b.stop()
        await other.close()
    assert a.stats.counters["plans followed after a restart"] == 1
    assert b.stats.counters["plans followed"] == 1
    executors = (a, b)
    assert sum(sum(e.outcomes.values()) for e in executors) == 1, [e.outcomes for e in executors]
    assert sum(e.outcomes["landed"] for e in executors) == 1 and result.status == "landed"
    assert sum(e.pnl for e in executors) == result.realized_profit
    assert sum(e.stats.counters["outcomes decided by another executor"] for e in executors) == 1
    assert [r.plan_id for r in observer.results] == [plan.id]
    stored = await PlanStore(bus, "test").get(plan.id)
    assert stored is not None and (stored.state, stored.status) == ("done", "landed")
    assert stored.signature == result.signature
    assert await _writes(bus, "EXECUTED") == 1
    assert await _writes(bus, "KV_plans") == 2  # signed, then done once: the loser wrote nothing
    assert await bus.kv("inflight").keys() == []


async def test_a_signer_still_alive_and_a_follower_of_its_redelivery_count_the_outcome_once(
    bus: JetStreamBus,
    nats_server: EmbeddedNats,  # noqa: F811
) -> None:
    """The signer is slow past the ack wait (its landing takes long), the server redelivers the
    plan to another executor, which follows the record: both reach the outcome, one decides
    it; the signer's wallet is settled once, whichever decided."""
    other = await _other_connection(nats_server.url)
    slow = {"landing_timeout_s": 1.0}
    a = await _executor(bus, name="a", **slow)
    b = await _executor(other, name="b", **slow)
    plan = make_plan(market_book(), TRIANGLE, plan_id="slow-signer")
    try:
        await asyncio.gather(a.handle(_delivery(plan)), b.handle(_delivery(plan, 2)))
        (result,) = await results_of(bus, 1)
    finally:
        await a.stop()
        await b.stop()
        await other.close()
    executors = {e.store.owner: e for e in (a, b)}
    assert sum(sum(e.outcomes.values()) for e in executors.values()) == 1
    assert sum(e.pnl for e in executors.values()) == result.realized_profit
    decided = [e.stats.counters["outcomes decided by another executor"] for e in (a, b)]
    assert sum(decided) == 1
    stored = await PlanStore(bus, "test").get(plan.id)
    assert stored is not None and (stored.state, stored.status) == ("done", result.status)
    signer = executors[stored.owner]
    assert signer.stats.counters["plans sent"] == 1
    wallet = signer.wallets.by_key(Pubkey.from_string(stored.wallet))
    assert wallet is not None and not wallet.busy and wallet.trades == 1
    assert await _writes(bus, "EXECUTED") == 1
    assert await bus.kv("inflight").keys() == []


async def test_a_crash_between_deciding_and_publishing_publishes_the_decided_result_once(
    bus: JetStreamBus,
) -> None:
    """The outcome is recorded done (with the result), the process dies before publishing: its
    restart publishes the recorded result from its listing, a redelivery publishes the same
    message again (de-duplicated), and neither decides, counts or sends anything anew."""
    plan = make_plan(market_book(), TRIANGLE, plan_id="decided-unpublished")
    first = await _executor(bus, name="x")
    publish = first.publish

    async def crash_on_result(event: Any) -> Any:
        if isinstance(event, ExecutionResultEvent):
            raise Crash
        return await publish(event)

    first.publish = crash_on_result  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await first.handle(_delivery(plan))
    await first.stop()
    decided = await PlanStore(bus, "test").get(plan.id)
    assert decided is not None and (decided.state, decided.status) == ("done", "landed")
    assert await _writes(bus, "EXECUTED") == 0 and len(await bus.kv("inflight").keys()) == 1
    assert sum(first.outcomes.values()) == 0  # died before counting

    restarted = await _executor(bus, name="x")
    try:
        (result,) = await results_of(bus, 1)
        await restarted.handle(_delivery(plan, num_delivered=2))  # the plan, redelivered
    finally:
        await restarted.stop()
    assert result.plan_id == plan.id and result.status == "landed"
    assert result.signature == decided.signature and result == decided.result()
    counters = restarted.stats.counters
    assert counters["results published again after a restart"] == 1
    assert counters["plans sent"] == 0 and sum(restarted.outcomes.values()) == 0
    assert await _writes(bus, "EXECUTED") == 1  # the redelivery's copy was de-duplicated
    assert await _writes(bus, "KV_plans") == 2
    assert await bus.kv("inflight").keys() == []
