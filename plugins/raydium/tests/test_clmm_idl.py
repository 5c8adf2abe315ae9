"""Cross-checks of the CLMM decoders and swap_v2 encoder against anchorpy's IDL coders.

The IDL (raydium-idl, June 2025) is in the Anchor 0.30 format, which anchorpy
0.21 does not read, so it is converted to the legacy format here (same
layouts, names and discriminators). Bytes the 2026 program reuses (fee_on,
dynamic fee, limit-order fields) are still padding in that IDL: they are
checked against the padding bytes anchorpy returns.
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

from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.clmm.bitmap import bitmap_extension_address, tick_array_address
from lstarb_raydium.clmm.state import AmmConfig, BitmapExtension, PoolState, TickArray
from lstarb_sdk.solana import MEMO_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from lstarb_sdk.testing import anchor_legacy_idl, load_account, load_dir
from lstarb_sdk.types import SwapParams, max_in_with_slippage, min_out_with_slippage

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "clmm"
IDL_PATH = HERE / "fixtures" / "idl" / "raydium_clmm.json"
POOL = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")


@pytest.fixture(scope="module")
def raw_idl() -> dict[str, Any]:
    return json.loads(IDL_PATH.read_text())


@pytest.fixture(scope="module")
def idl(raw_idl: dict[str, Any]) -> Idl:
    return Idl.from_json(json.dumps(anchor_legacy_idl(raw_idl)))


@pytest.fixture(scope="module")
def coder(idl: Idl) -> AccountsCoder:
    return AccountsCoder(idl)


def _data(name: str) -> bytes:
    return bytes(load_account(FIXTURES / name)[1].data)


def _le(words: list[int], size: int) -> bytes:
    return b"".join(w.to_bytes(size, "little") for w in words)


def test_idl_discriminators_match_decoders(raw_idl: dict[str, Any]) -> None:
    from lstarb_raydium.clmm import state

    by_name = {a["name"]: bytes(a["discriminator"]) for a in raw_idl["accounts"]}
    assert by_name["PoolState"] == state.POOL_STATE_DISCRIMINATOR
    assert by_name["AmmConfig"] == state.AMM_CONFIG_DISCRIMINATOR
    assert by_name["TickArrayState"] == state.TICK_ARRAY_DISCRIMINATOR
    assert by_name["TickArrayBitmapExtension"] == state.BITMAP_EXTENSION_DISCRIMINATOR


def test_pool_state_every_field(coder: AccountsCoder) -> None:
    data = _data("pool.json")
    ours = PoolState.decode(data)
    ref = coder.decode(data)
    assert ours.bump == ref.bump[0]
    for name in (
        "amm_config",
        "owner",
        "token_mint_0",
        "token_mint_1",
        "token_vault_0",
        "token_vault_1",
        "observation_key",
        "mint_decimals_0",
        "mint_decimals_1",
        "tick_spacing",
        "liquidity",
        "sqrt_price_x64",
        "tick_current",
        "fee_growth_global_0_x64",
        "fee_growth_global_1_x64",
        "protocol_fees_token_0",
        "protocol_fees_token_1",
        "status",
        "fund_fees_token_0",
        "fund_fees_token_1",
        "open_time",
        "recent_epoch",
    ):
        assert getattr(ours, name) == getattr(ref, name), name
    assert ours.bitmap_words() == list(ref.tick_array_bitmap)
    # fee_on is the first byte of the IDL's 7-byte padding after status.
    assert ours.fee_on == ref.padding[0]
    # dynamic_fee_info occupies the start of the IDL's padding1 ([u64; 24] from offset 1096).
    dyn = _le(list(ref.padding1), 8)
    d = ours.dynamic_fee
    assert d.filter_period == int.from_bytes(dyn[0:2], "little")
    assert d.decay_period == int.from_bytes(dyn[2:4], "little")
    assert d.reduction_factor == int.from_bytes(dyn[4:6], "little")
    assert d.dynamic_fee_control == int.from_bytes(dyn[6:10], "little")
    assert d.max_volatility_accumulator == int.from_bytes(dyn[10:14], "little")
    assert d.tick_spacing_index_reference == int.from_bytes(dyn[14:18], "little", signed=True)
    assert d.volatility_reference == int.from_bytes(dyn[18:22], "little")
    assert d.volatility_accumulator == int.from_bytes(dyn[22:26], "little")
    assert d.last_update_timestamp == int.from_bytes(dyn[26:34], "little")
    assert not d.enabled
    rewards = ours.reward_infos()
    assert len(rewards) == len(ref.reward_infos) == 3
    for mine, theirs in zip(rewards, ref.reward_infos, strict=True):
        for name in (
            "reward_state",
            "open_time",
            "end_time",
            "last_update_time",
            "emissions_per_second_x64",
            "reward_total_emissioned",
            "reward_claimed",
            "token_mint",
            "token_vault",
            "authority",
            "reward_growth_global_x64",
        ):
            assert getattr(mine, name) == getattr(theirs, name), name


def test_amm_config_every_field(coder: AccountsCoder) -> None:
    data = _data("amm_config.json")
    ours = AmmConfig.decode(data)
    ref = coder.decode(data)
    for name in (
        "bump",
        "index",
        "owner",
        "protocol_fee_rate",
        "trade_fee_rate",
        "tick_spacing",
        "fund_fee_rate",
        "fund_owner",
    ):
        assert getattr(ours, name) == getattr(ref, name), name
    assert (ours.trade_fee_rate, ours.tick_spacing) == (200, 1)


@pytest.mark.parametrize("start", [-25200, -25140, -25080, -25020])
def test_tick_array_every_field_of_every_tick(coder: AccountsCoder, start: int) -> None:
    data = _data(f"tick_array_{start}.json")
    ours = TickArray.decode(data)
    ref = coder.decode(data)
    assert ours.pool_id == ref.pool_id == POOL
    assert ours.start_tick_index == ref.start_tick_index == start
    assert ours.initialized_tick_count == ref.initialized_tick_count
    assert ours.recent_epoch == ref.recent_epoch
    expected_offsets = []
    for i, rt in enumerate(ref.ticks):
        t = ours.tick(i)
        assert t.tick == rt.tick
        assert t.liquidity_net == rt.liquidity_net
        assert t.liquidity_gross == rt.liquidity_gross
        assert t.fee_growth_outside_0_x64 == rt.fee_growth_outside_0_x64
        assert t.fee_growth_outside_1_x64 == rt.fee_growth_outside_1_x64
        assert list(t.reward_growths_outside_x64) == list(rt.reward_growths_outside_x64)
        pad = _le(list(rt.padding), 4)  # the limit-order fields live in the IDL's [u32; 13]
        assert t.order_phase == int.from_bytes(pad[0:8], "little")
        assert t.orders_amount == int.from_bytes(pad[8:16], "little")
        assert t.part_filled_orders_remaining == int.from_bytes(pad[16:24], "little")
        assert t.unfilled_ratio_x64 == int.from_bytes(pad[24:40], "little")
        if rt.liquidity_gross or t.has_limit_orders:
            expected_offsets.append(i)
            assert rt.tick == start + i  # tick_spacing 1
    offsets, nets, orders = ours.initialized
    assert offsets == expected_offsets
    assert nets == [ref.ticks[i].liquidity_net for i in offsets]
    assert orders == frozenset()
    assert len(offsets) == ref.initialized_tick_count


def test_bitmap_extension_every_field(coder: AccountsCoder) -> None:
    data = _data("bitmap_extension.json")
    ours = BitmapExtension.decode(data)
    ref = coder.decode(data)
    assert ours.pool_id == ref.pool_id == POOL
    assert ours.words(negative=False) == [list(g) for g in ref.positive_tick_array_bitmap]
    assert ours.words(negative=True) == [list(g) for g in ref.negative_tick_array_bitmap]


def test_fixture_addresses_are_the_pdas() -> None:
    accounts = load_dir(FIXTURES)
    for start in (-25200, -25140, -25080, -25020):
        key = tick_array_address(POOL, start)
        assert TickArray.decode(accounts[key].data).start_tick_index == start
    assert bitmap_extension_address(POOL) in accounts


@pytest.fixture()
def pool() -> ClmmPool:
    accounts = load_dir(FIXTURES)
    p = ClmmPool.from_account(POOL, accounts[POOL])
    p.update(accounts)
    return p


@pytest.mark.parametrize(
    ("token0_in", "exact_in", "amount"),
    [
        (True, True, 1_000_000_000),
        (True, True, 300_000_000_000),  # crosses into the arrays below
        (False, True, 1_000_000),
        (False, True, 15_000_000_000),  # crosses into the array above
        (True, False, 20_000_000_000),
        (False, False, 5_000_000_000),
    ],
)
def test_swap_v2_decodes_back(
    idl: Idl, raw_idl: dict[str, Any], pool: ClmmPool, token0_in: bool, exact_in: bool, amount: int
) -> None:
    state = pool.pool_state
    mint_in, mint_out = state.token_mint_0, state.token_mint_1
    vault_in, vault_out = state.token_vault_0, state.token_vault_1
    if not token0_in:
        mint_in, mint_out, vault_in, vault_out = mint_out, mint_in, vault_out, vault_in
    q = pool.quote(amount, mint_in, exact_in=exact_in)
    threshold = (
        min_out_with_slippage(q.out_amount, 50)
        if exact_in
        else max_in_with_slippage(q.in_amount, 50)
    )
    user = Pubkey.new_unique()
    src, dst = Pubkey.new_unique(), Pubkey.new_unique()
    params = SwapParams(mint_in, amount, threshold, user, src, dst, exact_in)
    (ix,) = pool.swap_instruction(params).instructions
    assert ix.program_id == ClmmPool.program_id

    parsed = InstructionCoder(idl).parse(bytes(ix.data))
    assert parsed.name == "swap_v2"
    assert parsed.data.amount == amount
    assert parsed.data.other_amount_threshold == threshold
    assert parsed.data.sqrt_price_limit_x64 == 0
    assert parsed.data.is_base_input is exact_in
    args = {
        "amount": amount,
        "other_amount_threshold": threshold,
        "sqrt_price_limit_x64": 0,
        "is_base_input": exact_in,
    }
    assert bytes(ix.data) == InstructionCoder(idl).encode("swap_v2", args)

    spec = next(i for i in raw_idl["instructions"] if i["name"] == "swap_v2")
    expected = {
        "payer": user,
        "amm_config": state.amm_config,
        "pool_state": POOL,
        "input_token_account": src,
        "output_token_account": dst,
        "input_vault": vault_in,
        "output_vault": vault_out,
        "observation_state": state.observation_key,
        "token_program": TOKEN_PROGRAM_ID,
        "token_program_2022": TOKEN_2022_PROGRAM_ID,
        "memo_program": MEMO_PROGRAM_ID,
        "input_vault_mint": mint_in,
        "output_vault_mint": mint_out,
    }
    named = spec["accounts"]
    assert len(ix.accounts) > len(named)
    for meta, acc in zip(ix.accounts, named, strict=False):
        assert meta.pubkey == expected[acc["name"]], acc["name"]
        assert meta.is_signer == bool(acc.get("signer")), acc["name"]
        assert meta.is_writable == bool(acc.get("writable")), acc["name"]
        if "address" in acc:
            assert str(meta.pubkey) == acc["address"]

    remaining = ix.accounts[len(named) :]
    assert remaining[0].pubkey == pool.bitmap_extension_key
    assert all(m.is_writable and not m.is_signer for m in remaining)
    _, used = pool._quote_path(amount, token0_in, exact_in)
    # The array on the other side of the price first (the current one, -25080, is the first
    # one a price-down swap uses), then the walked arrays, then one spare past them.
    step = -60 if token0_in else 60
    other_side = [-25020] if token0_in else [-25140]
    starts = [*other_side, *used, used[-1] + step]
    assert pool.swap_tick_arrays(used, token0_in) == starts
    assert [m.pubkey for m in remaining[1:]] == [tick_array_address(POOL, s) for s in starts]
