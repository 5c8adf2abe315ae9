"""The source against the project's own peer: ``lstarb simnet --drive --shredstream-port``.

The peer's driver trades the bundled market and serves each trade as the swap transaction
the pool's adapter builds; the source, following the pools' accounts, must yield each of
those swaps once, as a PendingTransaction naming the pool and writing the vaults the trade
moved, with a first-shred tick for every slot; nothing else the peer serves is followed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_runtime.simnet.store import Entry
from lstarb_sdk import PendingTransaction, SlotUpdate
from lstarb_shredstream import ShredstreamConfig, ShredstreamSource

TOKEN_PROGRAMS = {
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAxS8pGptLTE6HKfPN2hM7Nh",
}


@pytest.fixture
async def peer() -> AsyncIterator[Simnet]:
    config = SimnetConfig(port=0, slot_ms=0, drive=True, seed=23, shredstream_port=0)
    async with Simnet(config) as net:
        yield net


async def _items(source: ShredstreamSource, until: int) -> list[SlotUpdate | PendingTransaction]:
    """What the source yields up to (and including) the tick of slot ``until`` + 1."""
    items: list[SlotUpdate | PendingTransaction] = []
    async with asyncio.timeout(10):
        async for item in source.stream():
            if isinstance(item, SlotUpdate) and item.slot > until:
                return items
            items.append(item)
    return items


async def test_the_drivers_swaps_arrive_pending_on_the_followed_pools(peer: Simnet) -> None:
    assert peer.driver is not None and peer.shredstream is not None
    book = peer.driver.market.book
    traded = sorted({*peer.driver.market.cp, *peer.driver.market.clmm})
    pools = [Pubkey.from_string(address) for address in traded]
    followed = {key for pool in pools for key in book.pools[pool].accounts_to_update()}
    source = ShredstreamSource(ShredstreamConfig(url=peer.shredstream.url))
    moved: dict[int, set[str]] = {}

    def changed(entry: Entry, slot: int) -> None:
        if entry.owner in TOKEN_PROGRAMS:
            moved.setdefault(slot, set()).add(entry.key)

    try:
        await source.subscribe(followed)
        async with asyncio.timeout(10):
            while not peer.shredstream.subscribers:
                await asyncio.sleep(0.01)
        peer.store.listeners.append(changed)
        slots = [peer.step() for _ in range(10)]
        told = peer.trade_transactions.refused if peer.trade_transactions else -1
        peer.step()  # its tick ends the reading
        items = await _items(source, slots[-1])
    finally:
        await source.close()

    ticks = [item.slot for item in items if isinstance(item, SlotUpdate)]
    assert ticks == slots, "one first-shred tick per slot, in order"
    pending = [item for item in items if isinstance(item, PendingTransaction)]
    assert len({p.signature for p in pending}) == len(pending), "each swap once"
    assert told == 0, "the peer built every trade's transaction"
    for slot in slots:
        this_slot = [p for p in pending if p.slot == slot]
        writes = {str(key) for p in this_slot for key in p.writable}
        assert moved.get(slot, set()) <= writes, f"slot {slot}: a moved vault came unannounced"
        for p in this_slot:
            assert set(p.account_keys) & set(pools), "each names a pool the driver trades"
            program = next(book.pools[k].program_id for k in p.account_keys if k in book.pools)
            assert program in p.program_ids
    assert len(pending) >= 10, "the driven market trades a few times a slot"
