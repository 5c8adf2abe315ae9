"""Wallets (keys loaded safely and never logged, one plan per wallet, balances), the
exactly-once store's races, and the state fingerprint."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from lstarb_runtime.bus import Bus, EmbeddedNats, MemoryBus
from lstarb_runtime.executor.fingerprint import state_fingerprint
from lstarb_runtime.executor.store import Lost, PlanRecord, PlanStore, plan_key
from lstarb_runtime.executor.wallets import NoWallet, Wallet, WalletPool, load_wallets
from lstarb_runtime.logs import configure_logging
from lstarb_sdk.errors import ConfigError, DecodeError
from lstarb_sdk.events.examples import example_plan

from ..bus.conftest import fresh_jetstream_bus, nats_server  # noqa: F401 (fixtures)
from .executor_testlib import ORCA_BSOL_SOL, TRIANGLE, market_accounts, market_book


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


def _key_file(path: Path, mode: int) -> Keypair:
    keypair = Keypair()
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(mode)
    return keypair


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    _key_file(tmp_path / "w.json", mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_wallets([tmp_path / "w.json"])


def test_keys_load_and_are_never_logged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = [_key_file(tmp_path / f"w{i}.json", 0o600) for i in range(2)]
    wallets = load_wallets([tmp_path / "w0.json", tmp_path / "w1.json"])
    assert [w.pubkey for w in wallets] == [k.pubkey() for k in keys]
    with pytest.raises(ConfigError, match="listed twice"):
        load_wallets([tmp_path / "w0.json", tmp_path / "w0.json"])
    stream = io.StringIO()
    handler = configure_logging("INFO", "text", service="executor", stream=stream)
    try:
        log = logging.getLogger("lstarb.executor")
        log.info("wallet %s with key %s", wallets[0], keys[0])
        log.info("raw %s", list(bytes(keys[1])))
    finally:
        logging.getLogger().removeHandler(handler)
    err = stream.getvalue()
    assert str(keys[0].pubkey()) in err
    for key in keys:
        assert str(key) not in err and str(list(bytes(key))) not in err
    assert str(keys[0]) not in repr(wallets[0])


async def test_one_plan_per_wallet_at_a_time_and_the_richest_first() -> None:
    poor, rich = Wallet(Keypair(), 1_000), Wallet(Keypair(), 10**9)
    pool = WalletPool([poor, rich])
    soon = time.monotonic() + 0.3
    first = await pool.acquire(500, deadline=soon)
    second = await pool.acquire(500, deadline=soon)
    assert (first, second) == (rich, poor)
    with pytest.raises(NoWallet, match="stayed busy"):
        await pool.acquire(500, deadline=time.monotonic() + 0.1)
    waiting = asyncio.create_task(pool.acquire(500, deadline=time.monotonic() + 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await pool.release(poor)
    assert await waiting is poor
    await pool.release(rich)
    await pool.release(poor)
    with pytest.raises(NoWallet, match="no wallet holds the 2000000000 lamports"):
        await pool.acquire(2 * 10**9, deadline=time.monotonic() + 5)


async def test_records_race_and_one_executor_signs(bus: Bus) -> None:
    """Two executors signed the same plan and record it at once: one create wins, the other's
    listing is withdrawn, and neither the loser nor a stale copy can overwrite the outcome."""
    a, b = PlanStore(bus, "a"), PlanStore(bus, "b")
    plan = example_plan()
    won, lost = await asyncio.gather(
        a.signed(plan, signature="sig-a", wallet="wa"),
        b.signed(plan, signature="sig-b", wallet="wb"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in (won, lost)) == ["Lost", "PlanRecord"]
    signed = won if isinstance(won, PlanRecord) else lost
    assert isinstance(signed, PlanRecord) and signed.state == "signed"
    held = await a.get(plan.id)
    assert held is not None and held.signature == signed.signature and held.plan() == plan
    listed = await a.in_flight()  # the loser's listing is gone, the winner's stays
    assert [(r.plan_id, r.signature) for r in listed] == [(plan.id, signed.signature)]
    loser = b if signed.owner == "a" else a
    with pytest.raises(Lost):  # a late write of the loser, at what it last saw, loses again
        await loser.rejected(plan.id, "too late", over=PlanRecord(plan.id, "claimed", "x", 0))
    winner = a if signed.owner == "a" else b
    done = await winner.done(signed, "landed", b"the result")
    assert done.state == "done" and done.result_b64 and done.plan_b64 == ""
    assert await a.get(plan.id) == done
    # listed until the result is published: a restart publishes the result of a dead winner
    assert len(await bus.kv("inflight").keys()) == 1
    with pytest.raises(Lost):  # a stale copy (a second follower) cannot decide it again
        await loser.done(signed, "failed", b"another result")
    await winner.forget(done)
    assert await bus.kv("inflight").keys() == []


async def test_a_rejected_plan_is_recorded_done_with_its_reason(bus: Bus) -> None:
    store = PlanStore(bus, "a")
    plan = example_plan()
    record = await store.rejected(plan.id, "expired before sending")
    held = await store.get(plan.id)
    assert held == record and held.state == "done" and held.status == "rejected"
    assert held.error == "expired before sending" and held.signature == ""
    assert await bus.kv("inflight").keys() == []
    with pytest.raises(Lost):
        await PlanStore(bus, "b").signed(plan, signature="sig-b")
    assert await bus.kv("inflight").keys() == []


async def test_a_claim_of_the_earlier_version_is_read_and_taken_over(bus: Bus) -> None:
    """A ``claimed`` record (what executors wrote before building) is read; its plan is
    recorded over it at the claim's revision, once: a second writer at that revision loses."""
    plan = example_plan()
    claim = b'{"plan_id":"%s","state":"claimed","owner":"old","claimed_ns":1}' % plan.id.encode()
    await bus.kv("plans").create(plan_key(plan.id), claim)
    a, b = PlanStore(bus, "a"), PlanStore(bus, "b")
    old = await a.get(plan.id)
    assert old is not None and (old.state, old.owner, old.inflight) == ("claimed", "old", "")
    signed = await a.signed(plan, signature="sig-a", over=old)
    assert (signed.state, signed.owner) == ("signed", "a")
    with pytest.raises(Lost):
        await b.signed(plan, signature="sig-b", over=old)
    assert [r.signature for r in await b.in_flight()] == ["sig-a"]


def test_the_fingerprint_is_of_the_pools_account_versions() -> None:
    book = market_book()
    one = state_fingerprint(book, TRIANGLE)
    assert len(one) == 16
    assert state_fingerprint(book, reversed(TRIANGLE)) == one  # order does not matter
    assert state_fingerprint(book, [*TRIANGLE, TRIANGLE[0]]) == one
    tick_array = next(
        k for k in book.pools[ORCA_BSOL_SOL].accounts_to_update() if k != ORCA_BSOL_SOL
    )
    account = market_accounts()[tick_array]
    book.apply(tick_array, account, (5, 1))  # the same bytes at a later slot: taken
    assert state_fingerprint(book, TRIANGLE) != one
    assert state_fingerprint(book, TRIANGLE[:1]) == state_fingerprint(market_book(), TRIANGLE[:1])


def test_a_record_with_a_field_of_a_later_version_still_decodes() -> None:
    record = PlanRecord("p", "done", "a", 1, status="landed", result_b64="cmVzdWx0")
    later = record.encode().replace(b'{"plan_id"', b'{"next_version_field":[1],"plan_id"')
    assert PlanRecord.decode(later, 7) == record
    with pytest.raises(DecodeError):  # a required field missing is still an error
        PlanRecord.decode(b'{"plan_id":"p"}', 1)
