"""The source against a real gRPC server speaking the proxy's protocol on loopback: what it
keeps and drops, slot ticks, duplicates, bad input, a proxy that goes away, and close()."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from shred_testlib import (
    WHIRLPOOL_PROGRAM,
    Proxy,
    encode_entries,
    message,
    swap,
    transaction,
    vote,
    whirlpool_keys,
)
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_sdk import PendingTransaction, SlotUpdate
from lstarb_shredstream import ShredstreamConfig, ShredstreamSource
from lstarb_shredstream.protobuf import encode_entry

POOL, VAULT_A, VAULT_B = whirlpool_keys()
Item = SlotUpdate | PendingTransaction


OPEN: list[ShredstreamSource] = []
"""Sources a test opened: closed after it whatever happened (a grpc channel left open would
hold the interpreter at exit)."""


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    proxy = await Proxy().start()
    yield proxy
    while OPEN:
        await OPEN.pop().close()
    await proxy.stop(0.1)


def config(url: str, **kw: object) -> ShredstreamConfig:
    values: dict[str, object] = {"url": url, "backoff_initial_s": 0.05, "backoff_max_s": 0.2}
    return ShredstreamConfig.model_validate(values | kw)


class Reader:
    """Reads a source's stream in a task of its own, so a test can wait for what arrives."""

    def __init__(self, source: ShredstreamSource) -> None:
        self.source = source
        OPEN.append(source)
        self.items: list[Item] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for item in self.source.stream():
            assert isinstance(item, SlotUpdate | PendingTransaction)
            self.items.append(item)

    @property
    def pending(self) -> list[PendingTransaction]:
        return [i for i in self.items if isinstance(i, PendingTransaction)]

    @property
    def slots(self) -> list[int]:
        return [i.slot for i in self.items if isinstance(i, SlotUpdate)]

    async def until(self, count: int, kind: type = PendingTransaction, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while sum(isinstance(i, kind) for i in self.items) < count:
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self.source.close()
        await asyncio.wait_for(self.task, 2)


def unrelated(v0: bool = False) -> VersionedTransaction:
    """A transaction that touches none of the followed accounts, and names no table."""
    metas = [AccountMeta(Pubkey.new_unique(), False, True) for _ in range(3)]
    return transaction(Keypair(), [Instruction(Pubkey.new_unique(), b"x", metas)], v0=v0)


def reading(v0: bool = False) -> VersionedTransaction:
    """A transaction that names the followed pool and vault read-only (as every swap names
    the mints it trades): it moves none of them."""
    metas = [
        AccountMeta(POOL, False, False),
        AccountMeta(VAULT_A, False, False),
        AccountMeta(Pubkey.new_unique(), False, True),
    ]
    return transaction(Keypair(), [Instruction(Pubkey.new_unique(), b"r", metas)], v0=v0)


async def following(proxy: Proxy, **kw: object) -> Reader:
    source = ShredstreamSource(config(proxy.url, **kw))
    before = len(proxy.requests)
    await source.subscribe([POOL, VAULT_A, VAULT_B])
    reader = Reader(source)
    await proxy.connected(before + 1)
    return reader


async def test_swaps_on_followed_pools_arrive_votes_and_others_do_not(proxy: Proxy) -> None:
    reader = await following(proxy)
    payer = Keypair()
    legacy = swap(payer, POOL, VAULT_A, VAULT_B)
    v0 = swap(payer, POOL, VAULT_A, VAULT_B, v0=True)
    elsewhere = [unrelated(v0=i % 2 == 0) for i in range(4)] + [reading(v0=True)]
    proxy.send(message(500, [[vote(), legacy, *elsewhere], [], [vote()], [v0]]))
    await reader.until(2)
    proxy.send(message(501, [[]]))  # a tick entry: the slot ticks, nothing else
    await reader.until(2, SlotUpdate)
    got = reader.pending
    assert [p.signature for p in got] == [legacy.signatures[0], v0.signatures[0]]
    for pending, tx in zip(got, (legacy, v0), strict=True):
        assert pending.slot == 500 and pending.source == "shredstream" and pending.received_ns
        assert pending.account_keys == tuple(tx.message.account_keys)
        assert set(pending.writable) == {payer.pubkey(), POOL, VAULT_A, VAULT_B}
        assert pending.program_ids == (WHIRLPOOL_PROGRAM,)
        assert pending.lookup_tables == ()
    assert reader.slots == [500, 501]
    ticks = [i for i in reader.items if isinstance(i, SlotUpdate)]
    assert {t.status for t in ticks} == {"first_shred_received"}
    assert reader.items.index(ticks[0]) == 0  # a slot's tick comes before its transactions
    counts = reader.source.counters()
    assert (counts["votes"], counts["not_followed"], counts["pending"]) == (2, 5, 2)
    assert (counts["ticks"], counts["entries"], counts["transactions"]) == (2, 5, 9)
    assert proxy.requests == [b""]  # SubscribeEntriesRequest has no fields
    health = reader.source.endpoint_health()[0]
    assert (health.name, health.connected, health.slot) == (proxy.url, True, 501)
    await reader.close()


async def test_a_slot_ticks_once_and_a_transaction_arrives_once(proxy: Proxy) -> None:
    reader = await following(proxy)
    tx = swap(Keypair(), POOL, VAULT_A, VAULT_B)
    other = swap(Keypair(), POOL, VAULT_A, VAULT_B)
    for raw in (message(7, [[tx]]), message(7, [[tx], []]), message(8, [[tx, other]])):
        proxy.send(raw)
    proxy.send(message(7, [[]]))  # a late batch of slot 7
    proxy.send(message(9, [[]]))
    await reader.until(3, SlotUpdate)
    assert reader.slots == [7, 8, 9]
    assert [p.signature for p in reader.pending] == [tx.signatures[0], other.signatures[0]]
    assert reader.source.counters()["duplicates"] == 2
    await reader.close()


async def test_a_transaction_naming_a_lookup_table_may_touch_followed_accounts(
    proxy: Proxy,
) -> None:
    reader = await following(proxy, lookup_table_transactions=True)
    table = AddressLookupTableAccount(Pubkey.new_unique(), [VAULT_A, VAULT_B])
    metas = [AccountMeta(VAULT_A, False, True), AccountMeta(VAULT_B, False, True)]
    ix = Instruction(Pubkey.new_unique(), b"", metas)
    through_table = transaction(Keypair(), [ix], v0=True, tables=[table])
    assert VAULT_A not in through_table.message.account_keys  # loaded from the table
    proxy.send(message(3, [[through_table]]))
    await reader.until(1)
    assert reader.pending[0].lookup_tables == (table.key,)
    assert reader.source.counters()["lookup_table_only"] == 1
    await reader.close()

    # off (the default): only static keys count
    off = await following(proxy)
    proxy.send(message(4, [[through_table]]))
    await off.until(1, SlotUpdate)
    await asyncio.sleep(0.05)
    assert off.pending == [] and off.source.counters()["not_followed"] == 1
    await off.close()


async def test_malformed_input_is_counted_logged_once_and_the_next_good_one_arrives(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    reader = await following(proxy)
    good = message(10, [[swap(Keypair(), POOL, VAULT_A, VAULT_B)]])
    batch = encode_entries([[swap(Keypair(), POOL, VAULT_A, VAULT_B)]])
    too_many = encode_entry(12, (2**63).to_bytes(8, "little") + b"\x00" * 64)
    caplog.set_level(logging.WARNING, "lstarb.plugin.shredstream")
    bad = [
        good[:-3],  # cut: field 2 runs past the end
        b"\x08" + b"\xff" * 11,  # a varint that never ends
        encode_entry(11, batch[: len(batch) - 30]),  # a batch cut in a transaction
        too_many,  # a count no buffer could hold
        b"\x08\x05\x12\x00",  # an empty batch: not even the entry count
    ]
    for raw in bad:
        proxy.send(raw)
    proxy.send(good)
    await reader.until(1)
    counts = reader.source.counters()
    assert (counts["malformed_messages"], counts["malformed_batches"]) == (2, 3)
    assert counts["messages"] == 6 and reader.slots == [10]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # one per kind
    assert "at byte" in warnings[0] and "expected" in warnings[0]
    assert "slot 11" in warnings[1] and "at byte" in warnings[1]
    await reader.close()


async def test_the_source_reconnects_when_the_proxy_goes_away_and_comes_back(
    proxy: Proxy,
) -> None:
    reader = await following(proxy)
    first = swap(Keypair(), POOL, VAULT_A, VAULT_B)
    proxy.send(message(20, [[first]]))
    await reader.until(1)
    await proxy.stop()  # mid-stream
    await asyncio.sleep(0.3)  # down for a few attempts
    assert not reader.source.endpoint_health()[0].connected
    again = await Proxy(proxy.port).start()  # on the same port
    try:
        await again.connected()
        second = swap(Keypair(), POOL, VAULT_A, VAULT_B)
        again.send(message(21, [[first, second]]))  # the first again: a replay
        await reader.until(2)
        assert [p.signature for p in reader.pending] == [first.signatures[0], second.signatures[0]]
        counts = reader.source.counters()
        assert counts["connects"] == 2 and counts["disconnects"] == 1
        assert counts["connection_errors"] >= 1 and counts["duplicates"] == 1
        # a proxy that ends the stream normally: reconnected too
        again.end_streams()
        await again.connected(2)
        third = swap(Keypair(), POOL, VAULT_A, VAULT_B)
        again.send(message(22, [[third]]))
        await reader.until(3)
        assert reader.source.counters()["connects"] == 3
    finally:
        await reader.close()
        await again.stop()


async def test_close_ends_the_stream_promptly_whatever_it_waits_for(proxy: Proxy) -> None:
    # waiting for news on a live stream
    reader = await following(proxy)
    t0 = time.monotonic()
    await reader.close()
    assert time.monotonic() - t0 < 1

    # waiting out a backoff: nothing listens on the port
    await proxy.stop()
    down = ShredstreamSource(
        config(proxy.url, backoff_initial_s=30, backoff_max_s=30, connect_timeout_s=0.2)
    )
    reader = Reader(down)
    async with asyncio.timeout(10):
        while not down.counters()["connection_errors"]:
            await asyncio.sleep(0.01)
    t0 = time.monotonic()
    await reader.close()
    assert time.monotonic() - t0 < 1 and reader.items == []

    # closed before anyone streamed: stream() ends at once
    closed = ShredstreamSource(config(proxy.url))
    await closed.close()
    assert [i async for i in closed.stream()] == []


async def test_an_idle_proxy_is_left_and_reconnected(proxy: Proxy) -> None:
    reader = await following(proxy, idle_timeout_s=0.2)
    await asyncio.sleep(0.5)
    counts = reader.source.counters()
    assert counts["idle_timeouts"] >= 1 and counts["connects"] >= 2
    news = message(30, [[swap(Keypair(), POOL, VAULT_A, VAULT_B)]])
    async with asyncio.timeout(10):
        while not reader.pending:  # sent to whichever subscription is open, until one has it
            proxy.send(news)
            await asyncio.sleep(0.05)
    assert len(reader.pending) == 1
    await reader.close()
