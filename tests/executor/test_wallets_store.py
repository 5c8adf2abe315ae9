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
from lstarb_runtime.executor.store import Lost, PlanStore
from lstarb_runtime.executor.wallets import NoWallet, Wallet, WalletPool, load_wallets
from lstarb_runtime.logs import configure_logging
from lstarb_sdk.errors import ConfigError
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


async def test_claims_race_and_one_executor_signs(bus: Bus) -> None:
    a, b = PlanStore(bus, "a"), PlanStore(bus, "b")
    plan = example_plan()
    first = await a.claim(plan.id)
    assert first is not None and await b.claim(plan.id) is None
    held = await b.get(plan.id)
    assert held is not None and held.owner == "a" and held.state == "claimed"
    taken = await b.take_over(held)  # "a" died before signing, says "b"
    with pytest.raises(Lost):  # ... but "a" was alive: its write loses, it sends nothing
        await a.signed(first, plan, signature="sig-a")
    signed = await b.signed(taken, plan, signature="sig-b", wallet="w")
    assert [r.plan_id for r in await a.in_flight()] == [plan.id]
    assert (await a.get(plan.id)).signature == "sig-b"  # type: ignore[union-attr]
    assert signed.plan() == plan
    done = await b.done(signed, "landed")
    assert done.state == "done" and await bus.kv("inflight").keys() == []
    with pytest.raises(Lost):
        await a.done(signed, "landed")  # a stale copy cannot overwrite the outcome


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
