"""solana-py's websocket client, unchanged, against the PubSub port."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solana.rpc.types import MemcmpOpts
from solana.rpc.websocket_api import SolanaWsClientProtocol, connect
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    AccountNotification,
    ProgramNotification,
    SignatureNotification,
    SlotNotification,
)
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from lstarb_runtime.simnet import Simnet

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
SOL = 10**9


async def _recv(ws: SolanaWsClientProtocol, timeout: float = 2.0) -> list[object]:
    return list(await asyncio.wait_for(ws.recv(), timeout))


async def _transfer(client: AsyncClient, payer: Keypair, to: Pubkey, lamports: int) -> str:
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    tx = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])
    return str((await client.send_raw_transaction(bytes(tx))).value)


async def test_account_program_signature_and_slot_notifications(net: Simnet) -> None:
    payer, to = Keypair(), Keypair().pubkey()
    async with AsyncClient(net.http_url) as client, connect(net.ws_url) as ws:
        await client.request_airdrop(payer.pubkey(), 2 * SOL)
        await ws.account_subscribe(to, commitment=Processed, encoding="base64")
        account_sub = (await _recv(ws))[0].result  # type: ignore[attr-defined]
        await ws.program_subscribe(SYSTEM, Processed, "base64", filters=[0])
        program_sub = (await _recv(ws))[0].result  # type: ignore[attr-defined]
        signature = await _transfer(client, payer, to, SOL)
        notes = await _recv(ws) + await _recv(ws)
        by_kind = {type(n).__name__: n for n in notes}
        account = by_kind["AccountNotification"]
        assert isinstance(account, AccountNotification)
        assert account.subscription == account_sub
        assert account.result.value.lamports == SOL
        assert account.result.context.slot == net.chain.slot
        program = by_kind["ProgramNotification"]
        assert isinstance(program, ProgramNotification) and program.subscription == program_sub
        # dataSize 0 selects both system accounts the transfer wrote
        assert program.result.value.account.owner == SYSTEM
        more = await _recv(ws)
        assert isinstance(more[0], ProgramNotification)
        assert {program.result.value.pubkey, more[0].result.value.pubkey} == {to, payer.pubkey()}
        from solders.signature import Signature

        await ws.signature_subscribe(Signature.from_string(signature), Processed)
        sub = await _recv(ws)
        note = await _recv(ws)
        assert isinstance(note[0], SignatureNotification) and note[0].result.value.err is None
        assert sub[0].result == note[0].subscription  # type: ignore[attr-defined]
        await ws.slot_subscribe()
        await _recv(ws)
        net.step()
        slot_notes = [n for n in await _recv(ws) if isinstance(n, SlotNotification)]
        assert slot_notes and slot_notes[0].result.slot == net.chain.slot
        assert slot_notes[0].result.parent == net.chain.slot - 1
        await ws.account_unsubscribe(account_sub)
        assert (await _recv(ws))[0].result is True  # type: ignore[attr-defined]


async def test_program_filters_select_exactly(net: Simnet) -> None:
    """Only accounts passing every filter are notified (memcmp on the vault's mint)."""
    usdc = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    token = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
    vaults = [e for e in net.store.owned_by(str(token)) if len(e.data) == 165]
    usdc_vault = next(e for e in vaults if e.data[:32] == bytes(Pubkey.from_string(usdc)))
    other_vault = next(e for e in vaults if e.data[:32] != bytes(Pubkey.from_string(usdc)))
    async with connect(net.ws_url) as ws:
        await ws.program_subscribe(
            token, Processed, "base64", filters=[165, MemcmpOpts(offset=0, bytes=usdc)]
        )
        await _recv(ws)
        for entry in (other_vault, usdc_vault):
            changed = entry.data[:64] + (12345).to_bytes(8, "little") + entry.data[72:]
            net.store.put(entry.with_data(changed), net.chain.slot)
        note = await _recv(ws)
        assert len(note) == 1 and isinstance(note[0], ProgramNotification)
        assert str(note[0].result.value.pubkey) == usdc_vault.key
        with pytest.raises(asyncio.TimeoutError):
            await _recv(ws, timeout=0.3)


async def test_same_subscription_shares_an_id_and_bad_unsubscribe_errors(net: Simnet) -> None:
    key = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
    async with websockets.connect(net.ws_url) as a, websockets.connect(net.ws_url) as b:
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "accountSubscribe",
            "params": [str(key), {"encoding": "base64", "commitment": "confirmed"}],
        }
        await a.send(json.dumps(request))
        await b.send(json.dumps(request))
        id_a = json.loads(await a.recv())["result"]
        id_b = json.loads(await b.recv())["result"]
        assert id_a == id_b
        await a.send(
            json.dumps({"jsonrpc": "2.0", "id": 2, "method": "slotUnsubscribe", "params": [999]})
        )
        assert json.loads(await a.recv()) == {
            "jsonrpc": "2.0",
            "error": {"code": -32602, "message": "Invalid subscription id."},
            "id": 2,
        }
        await a.send("{not json")
        assert json.loads(await a.recv())["error"] == {"code": -32700, "message": "Parse error"}
        await a.send(
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "blockSubscribe", "params": []})
        )
        assert json.loads(await a.recv())["error"]["code"] == -32601
        entry = net.store.get(str(key))
        assert entry is not None
        net.store.put(entry.with_data(entry.data[:-1] + b"\x07"), net.chain.slot)
        for ws in (a, b):
            note = json.loads(await asyncio.wait_for(ws.recv(), 2))
            assert note["method"] == "accountNotification"
            assert note["params"]["subscription"] == id_a
            assert note["params"]["result"]["context"] == {"slot": net.chain.slot}


async def test_a_client_dropping_mid_stream_does_not_disturb_the_others(net: Simnet) -> None:
    key = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
    async with connect(net.ws_url) as steady:
        await steady.account_subscribe(key, Processed, "base64")
        await _recv(steady)
        leaver = await websockets.connect(net.ws_url)
        await leaver.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "accountSubscribe",
                    "params": [str(key), {"encoding": "base64", "commitment": "processed"}],
                }
            )
        )
        await leaver.recv()
        entry = net.store.get(str(key))
        assert entry is not None
        written = 0
        for i in range(1, 51):
            data = entry.data[:-1] + bytes([(entry.data[-1] + i) % 256])
            written += net.store.put(entry.with_data(data), net.chain.slot)
            if i == 10:
                leaver.transport.abort()  # gone without a close frame, mid-stream
        received = 0
        while received < written:
            received += len(await _recv(steady))
        assert received == written == 50
        await asyncio.sleep(0.1)
        assert len(net.pubsub.connections) == 1
        assert all(len(s.connections) == 1 for s in net.pubsub._accounts[str(key)])
