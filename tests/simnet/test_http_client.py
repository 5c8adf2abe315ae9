"""solana-py's AsyncClient, unchanged, against the peer: every read method and its shapes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
import zstandard
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import DataSliceOpts, MemcmpOpts
from solders.pubkey import Pubkey
from solders.rpc.responses import GetAccountInfoResp

from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.simnet import Simnet

AMM_V4_POOL = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
AMM_V4 = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
WHIRLPOOL = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
MISSING = Pubkey.from_string("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")


def _dumps() -> dict[str, dict[str, object]]:
    """The bundled dumps read straight from the files: what a node holding them would have."""
    out = {}
    for path in bundled_market().rglob("*.json"):
        if path.name != "MANIFEST.json":
            doc = json.loads(path.read_text())
            out[doc["pubkey"]] = doc
    return out


DUMPS = _dumps()


async def test_account_info_base64_zstd_and_slices(net: Simnet) -> None:
    raw = base64.b64decode(DUMPS[str(AMM_V4_POOL)]["data_base64"])  # type: ignore[arg-type]
    async with AsyncClient(net.http_url) as client:
        plain = await client.get_account_info(AMM_V4_POOL, commitment=Confirmed)
        assert plain.value is not None and plain.value.data == raw
        assert plain.value.owner == AMM_V4 and plain.context.slot == net.chain.slot
        zstd = await client.get_account_info(AMM_V4_POOL, encoding="base64+zstd")
        assert zstd.value is not None and zstd.value.data == raw
        sliced = await client.get_account_info(
            AMM_V4_POOL, data_slice=DataSliceOpts(offset=336, length=64)
        )
        assert sliced.value is not None and sliced.value.data == raw[336:400]
        beyond = await client.get_account_info(
            AMM_V4_POOL, data_slice=DataSliceOpts(offset=10_000, length=8)
        )
        assert beyond.value is not None and beyond.value.data == b""
        missing = await client.get_account_info(MISSING)
        assert missing.value is None


async def test_zstd_payload_is_real_zstd(net: Simnet) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "getAccountInfo",
        "params": [str(AMM_V4_POOL), {"encoding": "base64+zstd"}],
    }
    async with httpx.AsyncClient() as http:
        reply = (await http.post(net.http_url, json=body)).json()
    data, encoding = reply["result"]["value"]["data"]
    assert encoding == "base64+zstd"
    raw = zstandard.ZstdDecompressor().decompress(base64.b64decode(data))
    assert raw == base64.b64decode(DUMPS[str(AMM_V4_POOL)]["data_base64"])  # type: ignore[arg-type]
    assert reply["result"]["value"]["space"] == 752
    assert reply["result"]["value"]["rentEpoch"] == DUMPS[str(AMM_V4_POOL)]["rent_epoch"]
    assert reply["result"]["context"]["apiVersion"]
    assert GetAccountInfoResp.from_json(json.dumps(reply)).value is not None


async def test_multiple_accounts_keep_order_and_null_for_missing(net: Simnet) -> None:
    keys = [AMM_V4_POOL, MISSING, WSOL]
    async with AsyncClient(net.http_url) as client:
        reply = await client.get_multiple_accounts(keys, commitment=Processed)
        zstd = await client.get_multiple_accounts(keys, encoding="base64+zstd")
    assert reply.value[1] is None and zstd.value[1] is None
    for got, key in ((reply.value[0], AMM_V4_POOL), (reply.value[2], WSOL)):
        assert got is not None
        assert got.data == base64.b64decode(DUMPS[str(key)]["data_base64"])  # type: ignore[arg-type]
    assert [a.data if a else None for a in zstd.value] == [
        a.data if a else None for a in reply.value
    ]


def _expected(program: str, size: int | None, memcmp: tuple[int, bytes] | None) -> set[str]:
    """Brute force over the dump files, independent of the peer's code."""
    out = set()
    for key, doc in DUMPS.items():
        if doc["owner"] != program:
            continue
        data = base64.b64decode(doc["data_base64"])  # type: ignore[arg-type]
        if size is not None and len(data) != size:
            continue
        if memcmp is not None:
            offset, raw = memcmp
            if data[offset : offset + len(raw)] != raw:
                continue
        out.add(key)
    return out


async def test_program_accounts_filters_select_what_a_node_selects(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        everything = await client.get_program_accounts(WHIRLPOOL, encoding="base64")
        whirlpools = await client.get_program_accounts(WHIRLPOOL, encoding="base64", filters=[653])
        with_wsol = await client.get_program_accounts(
            WHIRLPOOL, encoding="base64", filters=[653, MemcmpOpts(offset=101, bytes=str(WSOL))]
        )
        usdc_vaults = await client.get_program_accounts(
            TOKEN, encoding="base64", filters=[165, MemcmpOpts(offset=0, bytes=str(USDC))]
        )
    program = str(WHIRLPOOL)
    assert {str(a.pubkey) for a in everything.value} == _expected(program, None, None)
    assert {str(a.pubkey) for a in whirlpools.value} == _expected(program, 653, None)
    assert len(whirlpools.value) == 3
    assert {str(a.pubkey) for a in with_wsol.value} == _expected(program, 653, (101, bytes(WSOL)))
    assert with_wsol.value and len(with_wsol.value) < len(whirlpools.value) + 1
    assert {str(a.pubkey) for a in usdc_vaults.value} == _expected(
        str(TOKEN), 165, (0, bytes(USDC))
    )
    assert usdc_vaults.value


async def test_program_accounts_base64_memcmp_token_state_and_context(net: Simnet) -> None:
    needle = base64.b64encode(bytes(USDC)).decode()
    params = [
        str(TOKEN),
        {
            "encoding": "base64",
            "withContext": True,
            "dataSlice": {"offset": 64, "length": 8},
            "filters": [
                {"memcmp": {"offset": 0, "bytes": needle, "encoding": "base64"}},
                "tokenAccountState",
            ],
        },
    ]
    body = {"jsonrpc": "2.0", "id": 1, "method": "getProgramAccounts", "params": params}
    async with httpx.AsyncClient() as http:
        reply = (await http.post(net.http_url, json=body)).json()["result"]
    assert reply["context"]["slot"] == net.chain.slot
    got = {item["pubkey"]: base64.b64decode(item["account"]["data"][0]) for item in reply["value"]}
    expected = _expected(str(TOKEN), 165, (0, bytes(USDC)))
    assert set(got) == expected
    for key, amount in got.items():
        full = base64.b64decode(DUMPS[key]["data_base64"])  # type: ignore[arg-type]
        assert amount == full[64:72]


async def test_slots_epochs_blockhashes_and_small_methods(net: Simnet) -> None:
    async with AsyncClient(net.http_url) as client:
        slot = (await client.get_slot()).value
        net.step()
        assert (await client.get_slot()).value == slot + 1
        info = (await client.get_epoch_info()).value
        assert info.absolute_slot == slot + 1 and info.slots_in_epoch == 432_000
        assert info.epoch == (slot + 1) // 432_000 and info.slot_index == (slot + 1) % 432_000
        blockhash = (await client.get_latest_blockhash()).value
        assert blockhash.last_valid_block_height == (await client.get_block_height()).value + 150
        assert net.chain.blockhash_valid(str(blockhash.blockhash))
        schedule = (await client.get_epoch_schedule()).value
        assert schedule.slots_per_epoch == 432_000
        assert (await client.get_minimum_balance_for_rent_exemption(611)).value == 5_143_440
        assert (await client.get_minimum_balance_for_rent_exemption(2616)).value == 19_098_240
        assert (await client.get_genesis_hash()).value == (await client.get_genesis_hash()).value
        assert (await client.get_version()).value.solana_core
        assert await client.is_connected()  # getHealth
        assert (await client.get_balance(AMM_V4_POOL)).value == DUMPS[str(AMM_V4_POOL)]["lamports"]
        assert (await client.get_balance(MISSING)).value == 0
        identity = (await client.get_identity()).value
        assert identity.identity == Pubkey.from_string(net.identity)


async def test_token_balances(net: Simnet) -> None:
    vault = next(
        k
        for k, d in DUMPS.items()
        if d["owner"] == str(TOKEN) and base64.b64decode(d["data_base64"])[:32] == bytes(USDC)  # type: ignore[arg-type]
    )
    raw = base64.b64decode(DUMPS[vault]["data_base64"])  # type: ignore[arg-type]
    amount = int.from_bytes(raw[64:72], "little")
    async with AsyncClient(net.http_url) as client:
        balance = (await client.get_token_account_balance(Pubkey.from_string(vault))).value
        supply = (await client.get_token_supply(USDC)).value
        with pytest.raises(RPCException, match="not a Token account"):
            await client.get_token_account_balance(AMM_V4_POOL)
    assert balance.amount == str(amount) and balance.decimals == 6
    assert balance.ui_amount_string == f"{amount / 10**6:f}".rstrip("0").rstrip(".")
    assert int(supply.amount) > 0 and supply.decimals == 6


async def test_prioritization_fees_and_min_context_slot(net: Simnet) -> None:
    async with httpx.AsyncClient() as http:
        fees = (
            await http.post(
                net.http_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "getRecentPrioritizationFees"},
            )
        ).json()["result"]
        ahead = (
            await http.post(
                net.http_url,
                json={
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "getSlot",
                    "params": [{"minContextSlot": net.chain.slot + 5}],
                },
            )
        ).json()
    slot = net.chain.slot
    assert fees == [{"slot": slot, "prioritizationFee": net.chain.background_fee(slot)}]
    assert ahead["error"] == {
        "code": -32016,
        "message": "Minimum context slot has not been reached",
        "data": {"contextSlot": net.chain.slot},
    }


def test_bundled_dumps_are_copies_inside_the_project() -> None:
    assert Path(str(bundled_market())).is_dir()
    assert "Jito4APyf642JPZPx3hGc6WWJ8zPKtRbRs4P815Awbb" in DUMPS
