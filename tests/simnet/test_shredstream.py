"""The peer's ShredStream (``--shredstream-port``): each slot's swaps as the proxy serves them.

Read here with grpcio's generic client and decoded independently of the peer's encoder: the
protobuf fields by hand, the bincode entries with solders' transaction parser (which takes
trailing bytes and says how many it used). What must hold: one message per slot, with that
slot; the slot's transactions are signed swaps of the driven market, each naming its
pool's program, and writing every vault the slot's trades moved.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import websockets
from solders.transaction import VersionedTransaction

from lstarb_runtime.simnet import Simnet
from lstarb_runtime.simnet.store import Entry

from .conftest import manual

METHOD = "/shredstream.ShredstreamProxy/SubscribeEntries"
TOKEN_PROGRAMS = {
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAxS8pGptLTE6HKfPN2hM7Nh",
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def parse_entry_message(buf: bytes) -> tuple[int, bytes]:
    """(slot, entries) of one ``Entry`` message, checking its two fields' tags."""
    assert buf[0] == 0x08
    slot, pos = _varint(buf, 1)
    assert buf[pos] == 0x12
    size, pos = _varint(buf, pos + 1)
    assert pos + size == len(buf)
    return slot, buf[pos:]


def parse_entries(buf: bytes) -> list[tuple[int, bytes, list[VersionedTransaction]]]:
    (count,) = struct.unpack_from("<Q", buf, 0)
    pos, entries = 8, []
    for _ in range(count):
        num_hashes, poh, txs = struct.unpack_from("<Q", buf, pos)[0], buf[pos + 8 : pos + 40], []
        (n,) = struct.unpack_from("<Q", buf, pos + 40)
        pos += 48
        for _ in range(n):
            tx = VersionedTransaction.from_bytes(buf[pos:])
            pos += len(bytes(tx))
            txs.append(tx)
        entries.append((num_hashes, poh, txs))
    assert pos == len(buf), "bytes left after the last entry"
    return entries


@pytest.fixture
async def peer() -> AsyncIterator[Simnet]:
    async with Simnet(manual(drive=True, seed=11, shredstream_port=0)) as net:
        yield net


async def _subscribe(url: str) -> tuple[Any, Any]:
    channel = grpc.aio.insecure_channel(url)
    call = channel.unary_stream(
        METHOD, request_serializer=lambda r: r, response_deserializer=lambda b: b
    )(b"")
    return channel, call


async def _until_subscribed(peer: Simnet) -> None:
    assert peer.shredstream is not None
    for _ in range(200):
        if peer.shredstream.subscribers:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the client never subscribed")


async def test_each_slot_serves_its_swaps_signed_and_writing_the_moved_vaults(
    peer: Simnet,
) -> None:
    assert peer.shredstream is not None and peer.driver is not None
    channel, call = await _subscribe(peer.shredstream.url)
    await _until_subscribed(peer)
    moved: dict[int, set[str]] = {}
    token_owned: dict[str, bool] = {}

    def changed(entry: Entry, slot: int) -> None:
        token_owned[entry.key] = entry.owner in TOKEN_PROGRAMS
        moved.setdefault(slot, set()).add(entry.key)

    peer.store.listeners.append(changed)
    book = peer.driver.market.book
    slots = [peer.step() for _ in range(12)]
    messages = [await asyncio.wait_for(call.read(), 5) for _ in slots]
    await channel.close()

    swaps = 0
    for slot, message in zip(slots, messages, strict=True):
        served_slot, raw = parse_entry_message(message)
        assert served_slot == slot
        entries = parse_entries(raw)
        assert entries[0][2] == [], "each slot starts with a tick"
        assert len({poh for _, poh, _ in entries}) == len(entries)
        txs = [tx for _, _, group in entries for tx in group]
        vaults_moved = {k for k in moved.get(slot, ()) if token_owned[k]}
        written: set[str] = set()
        for tx in txs:
            message_keys = tx.message.account_keys
            assert tx.verify_with_results() == [True], "signed by the trader it names"
            swap = tx.message.instructions[-1]
            program = message_keys[swap.program_id_index]
            pools = {
                address
                for address in book.pools
                if book.pools[address].program_id == program
                and address in {message_keys[i] for i in swap.accounts}
            }
            assert len(pools) == 1, "the swap names one pool of its program"
            written |= {
                str(key) for i, key in enumerate(message_keys) if tx.message.is_maybe_writable(i)
            }
            swaps += 1
        assert vaults_moved <= written, f"slot {slot}: a moved vault no transaction writes"
    assert swaps >= 12, "the driven market trades a few times a slot"


async def test_a_late_subscriber_gets_the_slots_after_it_and_stop_ends_the_stream(
    peer: Simnet,
) -> None:
    assert peer.shredstream is not None
    peer.step()  # before anyone listens: served to no one
    assert peer.shredstream.served == 0
    channel, call = await _subscribe(peer.shredstream.url)
    await _until_subscribed(peer)
    slot = peer.step()
    served_slot, _ = parse_entry_message(await asyncio.wait_for(call.read(), 5))
    assert served_slot == slot
    await peer.shredstream.stop()
    assert await asyncio.wait_for(call.read(), 5) is grpc.aio.EOF
    await channel.close()


def test_no_port_no_server() -> None:
    net = Simnet(manual(drive=True))
    assert net.shredstream is None and net.driver is not None
    assert net.driver.trader.on_trade is None  # no transactions built for no one


async def test_a_slots_entries_go_out_before_its_account_notifications(peer: Simnet) -> None:
    """A node notifies account states after the leader's shreds of them went out: here the
    slot's entries first, its account notifications ``shred_lead_ms`` later."""
    assert peer.shredstream is not None and peer.driver is not None
    market = peer.driver.market
    vaults = sorted(
        {
            vault
            for pool in [*market.cp.values(), *market.clmm.values()]
            for vault in (pool.vault_a, pool.vault_b)
        }
    )
    arrivals: list[tuple[str, int]] = []
    channel, call = await _subscribe(peer.shredstream.url)
    async with websockets.connect(peer.ws_url, max_size=None) as ws:
        for i, vault in enumerate(vaults):
            request = {"jsonrpc": "2.0", "id": i, "method": "accountSubscribe"}
            await ws.send(json.dumps({**request, "params": [vault, {"encoding": "base64"}]}))
            assert "result" in json.loads(await ws.recv())
        await _until_subscribed(peer)

        async def notifications() -> None:
            while True:
                message = json.loads(await ws.recv())
                if message.get("method") == "accountNotification":
                    arrivals.append(("account", time.monotonic_ns()))

        async def entries() -> None:
            while True:
                await call.read()
                arrivals.append(("entries", time.monotonic_ns()))

        readers = [asyncio.create_task(notifications()), asyncio.create_task(entries())]
        slot = peer.step()
        async with asyncio.timeout(5):
            while not any(kind == "account" for kind, _ in arrivals):
                await asyncio.sleep(0.005)
        for reader in readers:
            reader.cancel()
    await channel.close()
    assert arrivals[0][0] == "entries", f"slot {slot}: {arrivals[:3]}"
