"""Decoders and instructions of AMM V4 and CPMM against the IDLs, decoded by anchorpy.

CPMM: raydium_cp_swap.json (Anchor 0.30 format) via ``anchor_legacy_idl``; the creator
fee fields are still padding there and are checked against the padding words.

AMM V4: raydium_amm_v4.json is a hand-written, non-Anchor IDL in the legacy format,
read through the ``amm_v4_idl`` fixture (conftest.py: ``Fees`` moved among the types,
SwapBaseInV2/OutV2 added as the program defines them). The account has no
discriminator, so the AmmInfo layout is applied to the raw bytes, and the instruction
args are parsed with the IDL's layouts after the one-byte tag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Idl
from anchorpy.coder.accounts import AccountsCoder
from anchorpy.coder.instruction import InstructionCoder
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.amm_v4.state import AmmInfo
from lstarb_raydium.cpmm import CpmmPool
from lstarb_raydium.cpmm.state import AmmConfig, PoolState
from lstarb_sdk.solana import TOKEN_PROGRAM_ID
from lstarb_sdk.testing import anchor_legacy_idl, load_account, load_dir
from lstarb_sdk.types import SwapParams, max_in_with_slippage, min_out_with_slippage

HERE = Path(__file__).parent
IDL_DIR = HERE / "fixtures" / "idl"
AMM_FIX = HERE / "fixtures" / "amm_v4"
CP_FIX = HERE / "fixtures" / "cpmm"
AMM_POOL = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
CP_POOL = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")


def _data(path: Path) -> bytes:
    return bytes(load_account(path)[1].data)


def _le(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(8, "little") for w in words)


# -- AMM V4 ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def amm_idl(amm_v4_idl: dict[str, Any]) -> Idl:
    return Idl.from_json(json.dumps(amm_v4_idl))


def test_amm_info_every_field(amm_idl: Idl) -> None:
    data = _data(AMM_FIX / "pool.json")
    layout = AccountsCoder(amm_idl)._accounts_layout["AmmInfo"]
    assert layout.sizeof() == len(data) == 752
    ref = layout.parse(data)
    ours = AmmInfo.decode(data)
    f, o = ref.fees, ref.out_put
    pairs = {
        "status": ref.status,
        "nonce": ref.nonce,
        "coin_decimals": ref.coin_decimals,
        "pc_decimals": ref.pc_decimals,
        "trade_fee_numerator": f.trade_fee_numerator,
        "trade_fee_denominator": f.trade_fee_denominator,
        "swap_fee_numerator": f.swap_fee_numerator,
        "swap_fee_denominator": f.swap_fee_denominator,
        "need_take_pnl_coin": o.need_take_pnl_coin,
        "need_take_pnl_pc": o.need_take_pnl_pc,
        "pool_open_time": o.pool_open_time,
        "orderbook_to_init_time": o.orderbook_to_init_time,
        "coin_vault": ref.token_coin,
        "pc_vault": ref.token_pc,
        "coin_vault_mint": ref.coin_mint,
        "pc_vault_mint": ref.pc_mint,
        "lp_mint": ref.lp_mint,
        "open_orders": ref.open_orders,
        "market": ref.market,
        "market_program": ref.serum_dex,
        "target_orders": ref.target_orders,
        "amm_owner": ref.amm_owner,
        "lp_amount": ref.lp_amount,
        "client_order_id": ref.client_order_id,
        "recent_epoch": ref.padding[0],  # the IDL's padding[2] = recent_epoch, padding2
    }
    for name, value in pairs.items():
        assert getattr(ours, name) == value, name
    assert ours.status == 6 and (ours.swap_fee_numerator, ours.swap_fee_denominator) == (25, 10000)
    accounts = load_dir(AMM_FIX)
    assert ours.coin_vault in accounts and ours.pc_vault in accounts


def test_amm_authority_is_the_programs_pda() -> None:
    pool = AmmV4Pool.from_account(AMM_POOL, load_account(AMM_FIX / "pool.json")[1])
    pda, bump = Pubkey.find_program_address([b"amm authority"], AmmV4Pool.program_id)
    assert pool.authority == pda
    assert bump == pool.amm_info.nonce
    assert str(pda) == "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"


@pytest.mark.parametrize(
    ("coin_in", "exact_in", "amount"),
    [(True, True, 10**9), (False, True, 5 * 10**6), (True, False, 10**7), (False, False, 10**8)],
)
def test_amm_v2_swap_decodes_back(
    amm_idl: Idl, amm_v4_idl: dict[str, Any], coin_in: bool, exact_in: bool, amount: int
) -> None:
    accounts = load_dir(AMM_FIX)
    pool = AmmV4Pool.from_account(AMM_POOL, accounts[AMM_POOL])
    pool.update(accounts)
    info = pool.amm_info
    mint_in = info.coin_vault_mint if coin_in else info.pc_vault_mint
    q = pool.quote(amount, mint_in, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    user, src, dst = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    (ix,) = pool.swap_instruction(
        SwapParams(mint_in, amount, threshold, user, src, dst, exact_in)
    ).instructions
    assert ix.program_id == AmmV4Pool.program_id
    data = bytes(ix.data)
    layouts = InstructionCoder(amm_idl).ix_layout
    assert len(data) == 17
    if exact_in:
        assert data[0] == 16
        args = layouts["swap_base_in_v2"].parse(data[1:])
        assert (args.amount_in, args.minimum_amount_out) == (amount, threshold)
        v2 = "swapBaseInV2"
    else:
        assert data[0] == 17
        args = layouts["swap_base_out_v2"].parse(data[1:])
        assert (args.max_amount_in, args.amount_out) == (threshold, amount)
        v2 = "swapBaseOutV2"
    kept = next(i for i in amm_v4_idl["instructions"] if i["name"] == v2)["accounts"]
    expected = {
        "tokenProgram": TOKEN_PROGRAM_ID,
        "amm": AMM_POOL,
        "ammAuthority": pool.authority,
        "poolCoinTokenAccount": info.coin_vault,
        "poolPcTokenAccount": info.pc_vault,
        "uerSourceTokenAccount": src,
        "uerDestinationTokenAccount": dst,
        "userSourceOwner": user,
    }
    assert [a["name"] for a in kept] == list(expected)
    assert len(ix.accounts) == len(kept) == 8
    for meta, acc in zip(ix.accounts, kept, strict=True):
        assert meta.pubkey == expected[acc["name"]], acc["name"]
        assert meta.is_signer == acc["isSigner"], acc["name"]
        assert meta.is_writable == acc["isMut"], acc["name"]


# -- CPMM -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cp_raw() -> dict[str, Any]:
    return json.loads((IDL_DIR / "raydium_cp_swap.json").read_text())


@pytest.fixture(scope="module")
def cp_idl(cp_raw: dict[str, Any]) -> Idl:
    return Idl.from_json(json.dumps(anchor_legacy_idl(cp_raw)))


def test_cpmm_discriminators(cp_raw: dict[str, Any]) -> None:
    from lstarb_raydium.cpmm import state

    by_name = {a["name"]: bytes(a["discriminator"]) for a in cp_raw["accounts"]}
    assert by_name["PoolState"] == state.POOL_STATE_DISCRIMINATOR
    assert by_name["AmmConfig"] == state.AMM_CONFIG_DISCRIMINATOR


def test_cpmm_pool_state_every_field(cp_idl: Idl) -> None:
    data = _data(CP_FIX / "pool.json")
    ours = PoolState.decode(data)
    ref = AccountsCoder(cp_idl).decode(data)
    for name in (
        "amm_config",
        "pool_creator",
        "token_0_vault",
        "token_1_vault",
        "lp_mint",
        "token_0_mint",
        "token_1_mint",
        "token_0_program",
        "token_1_program",
        "observation_key",
        "auth_bump",
        "status",
        "lp_mint_decimals",
        "mint_0_decimals",
        "mint_1_decimals",
        "lp_supply",
        "protocol_fees_token_0",
        "protocol_fees_token_1",
        "fund_fees_token_0",
        "fund_fees_token_1",
        "open_time",
        "recent_epoch",
    ):
        assert getattr(ours, name) == getattr(ref, name), name
    pad = _le(list(ref.padding))
    assert ours.creator_fee_on == pad[0]
    assert ours.enable_creator_fee == bool(pad[1])
    assert ours.creator_fees_token_0 == int.from_bytes(pad[8:16], "little")
    assert ours.creator_fees_token_1 == int.from_bytes(pad[16:24], "little")


def test_cpmm_amm_config_every_field(cp_idl: Idl) -> None:
    data = _data(CP_FIX / "amm_config.json")
    ours = AmmConfig.decode(data)
    ref = AccountsCoder(cp_idl).decode(data)
    for name in (
        "bump",
        "disable_create_pool",
        "index",
        "trade_fee_rate",
        "protocol_fee_rate",
        "fund_fee_rate",
        "create_pool_fee",
        "protocol_owner",
        "fund_owner",
    ):
        assert getattr(ours, name) == getattr(ref, name), name
    assert ours.creator_fee_rate == ref.padding[0]
    assert ours.creator_fee_share_rate == ref.padding[1]
    assert (ours.trade_fee_rate, ours.creator_fee_rate) == (2500, 500)


@pytest.mark.parametrize(
    ("token0_in", "exact_in", "amount"),
    [(True, True, 10**7), (False, True, 10**6), (True, False, 10**6), (False, False, 10**7)],
)
def test_cpmm_swap_decodes_back(
    cp_idl: Idl, cp_raw: dict[str, Any], token0_in: bool, exact_in: bool, amount: int
) -> None:
    accounts = load_dir(CP_FIX)
    pool = CpmmPool.from_account(CP_POOL, accounts[CP_POOL])
    pool.update(accounts)
    s = pool.pool_state
    mints, vaults = [s.token_0_mint, s.token_1_mint], [s.token_0_vault, s.token_1_vault]
    progs = [s.token_0_program, s.token_1_program]
    if not token0_in:
        mints, vaults, progs = mints[::-1], vaults[::-1], progs[::-1]
    q = pool.quote(amount, mints[0], exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 30)
        if exact_in
        else max_in_with_slippage(q.in_amount, 30)
    )
    user, src, dst = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    (ix,) = pool.swap_instruction(
        SwapParams(mints[0], amount, threshold, user, src, dst, exact_in)
    ).instructions
    assert ix.program_id == CpmmPool.program_id
    coder = InstructionCoder(cp_idl)
    parsed = coder.parse(bytes(ix.data))
    name = "swap_base_input" if exact_in else "swap_base_output"
    assert parsed.name == name
    args = (
        {"amount_in": amount, "minimum_amount_out": threshold}
        if exact_in
        else {"max_amount_in": threshold, "amount_out": amount}
    )
    for k, v in args.items():
        assert getattr(parsed.data, k) == v, k
    assert bytes(ix.data) == coder.encode(name, args)
    spec = next(i for i in cp_raw["instructions"] if i["name"] == name)["accounts"]
    auth, _ = Pubkey.find_program_address([b"vault_and_lp_mint_auth_seed"], CpmmPool.program_id)
    expected = {
        "payer": user,
        "authority": auth,
        "amm_config": s.amm_config,
        "pool_state": CP_POOL,
        "input_token_account": src,
        "output_token_account": dst,
        "input_vault": vaults[0],
        "output_vault": vaults[1],
        "input_token_program": progs[0],
        "output_token_program": progs[1],
        "input_token_mint": mints[0],
        "output_token_mint": mints[1],
        "observation_state": s.observation_key,
    }
    assert len(ix.accounts) == len(spec) == 13
    for meta, acc in zip(ix.accounts, spec, strict=True):
        assert meta.pubkey == expected[acc["name"]], acc["name"]
        assert meta.is_signer == bool(acc.get("signer")), acc["name"]
        assert meta.is_writable == bool(acc.get("writable")), acc["name"]
    assert str(auth) == "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL"
