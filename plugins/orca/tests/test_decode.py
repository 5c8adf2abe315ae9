"""Every decoded field equals anchorpy's IDL decoding, on every fixture account."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from anchorpy import Idl
from anchorpy.coder.accounts import AccountsCoder
from orca_testlib import FIXTURES, legacy_idl_json

from lstarb_orca.state import (
    DYNAMIC_TICK_ARRAY_DISCRIMINATOR,
    FIXED_TICK_ARRAY_DISCRIMINATOR,
    ORACLE_DISCRIMINATOR,
    WHIRLPOOL_DISCRIMINATOR,
    TickArray,
    decode_oracle,
    decode_tick_array,
    decode_tick_array_state,
    decode_whirlpool,
)
from lstarb_sdk.testing import load_account

WHIRLPOOLS = sorted(p for p in FIXTURES.glob("*/whirlpool.json") if p.parent.name != "idl")
TICK_ARRAYS = sorted(FIXTURES.glob("*/tick_array_*.json"))
ORACLES = sorted(FIXTURES.glob("synthetic/*-oracle.json"))
DYNAMIC = sorted(FIXTURES.glob("synthetic/*-dynamic_tick_array_*.json"))


@cache
def coder() -> AccountsCoder:
    return AccountsCoder(Idl.from_json(legacy_idl_json()))


def _data(path: Path) -> bytes:
    return bytes(load_account(path)[1].data)


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def test_discriminators_match_the_idl() -> None:
    idl = json.loads((FIXTURES / "idl" / "whirlpool.json").read_text())
    disc = {a["name"]: bytes(a["discriminator"]) for a in idl["accounts"]}
    assert disc["Whirlpool"] == WHIRLPOOL_DISCRIMINATOR
    assert disc["TickArray"] == FIXED_TICK_ARRAY_DISCRIMINATOR
    assert disc["DynamicTickArray"] == DYNAMIC_TICK_ARRAY_DISCRIMINATOR
    assert disc["Oracle"] == ORACLE_DISCRIMINATOR


@pytest.mark.parametrize("path", WHIRLPOOLS, ids=_ids(WHIRLPOOLS))
def test_whirlpool_fields(path: Path) -> None:
    data = _data(path)
    ours = decode_whirlpool(data)
    ref = coder().decode(data)
    assert ours.whirlpools_config == ref.whirlpools_config
    assert [ours.whirlpool_bump] == list(ref.whirlpool_bump)
    assert ours.tick_spacing == ref.tick_spacing
    assert ours.fee_tier_index_seed == int.from_bytes(bytes(ref.fee_tier_index_seed), "little")
    for name in (
        "fee_rate",
        "protocol_fee_rate",
        "liquidity",
        "sqrt_price",
        "tick_current_index",
        "protocol_fee_owed_a",
        "protocol_fee_owed_b",
        "token_mint_a",
        "token_vault_a",
        "fee_growth_global_a",
        "token_mint_b",
        "token_vault_b",
        "fee_growth_global_b",
        "reward_last_updated_timestamp",
    ):
        assert getattr(ours, name) == getattr(ref, name), name
    assert len(ours.reward_infos) == len(ref.reward_infos) == 3
    for mine, theirs in zip(ours.reward_infos, ref.reward_infos, strict=True):
        assert mine.mint == theirs.mint
        assert mine.vault == theirs.vault
        assert mine.extension == bytes(theirs.extension)
        assert mine.emissions_per_second_x64 == theirs.emissions_per_second_x64
        assert mine.growth_global_x64 == theirs.growth_global_x64
    # the manifest's summary agrees too
    assert not ours.is_adaptive


def _check_ticks(ours: TickArray, ticks: list, dynamic: bool) -> None:
    assert len(ours.ticks) == len(ticks) == 88
    for mine, theirs in zip(ours.ticks, ticks, strict=True):
        if dynamic:
            if type(theirs).__name__ == "Uninitialized":
                assert not mine.initialized
                assert mine.liquidity_net == mine.liquidity_gross == 0
                continue
            assert mine.initialized
            theirs = theirs.tuple_data[0]
        else:
            assert mine.initialized == theirs.initialized
        assert mine.liquidity_net == theirs.liquidity_net
        assert mine.liquidity_gross == theirs.liquidity_gross
        assert mine.fee_growth_outside_a == theirs.fee_growth_outside_a
        assert mine.fee_growth_outside_b == theirs.fee_growth_outside_b
        assert list(mine.reward_growths_outside) == list(theirs.reward_growths_outside)


@pytest.mark.parametrize("path", TICK_ARRAYS, ids=_ids(TICK_ARRAYS))
def test_fixed_tick_array_fields(path: Path) -> None:
    data = _data(path)
    ours = decode_tick_array(data)
    ref = coder().decode(data)
    assert not ours.dynamic
    assert ours.start_tick_index == ref.start_tick_index
    assert ours.whirlpool == ref.whirlpool
    _check_ticks(ours, list(ref.ticks), dynamic=False)
    state, whirlpool = decode_tick_array_state(data)
    assert whirlpool == ref.whirlpool
    assert state.start_tick_index == ref.start_tick_index
    init = [(i, t.liquidity_net) for i, t in enumerate(ref.ticks) if t.initialized]
    assert list(zip(state.offsets, state.liquidity_net, strict=True)) == init


@pytest.mark.parametrize("path", DYNAMIC, ids=_ids(DYNAMIC))
def test_dynamic_tick_array_fields(path: Path) -> None:
    data = _data(path)
    ours = decode_tick_array(data)
    ref = coder().decode(data)
    assert ours.dynamic
    assert ours.start_tick_index == ref.start_tick_index
    assert ours.whirlpool == ref.whirlpool
    assert ours.tick_bitmap == ref.tick_bitmap
    _check_ticks(ours, list(ref.ticks), dynamic=True)
    # same ticks as the fixed array it was re-encoded from
    start = ref.start_tick_index
    label = path.stem.split("-dynamic")[0]
    fixed = decode_tick_array(_data(FIXTURES / label / f"tick_array_{start}.json"))
    assert ours.ticks == fixed.ticks
    assert (
        decode_tick_array_state(data)[0]
        == decode_tick_array_state(_data(FIXTURES / label / f"tick_array_{start}.json"))[0]
    )


def _pool_spacing(oracle_path: Path) -> int:
    label = oracle_path.name.removesuffix("-oracle.json")
    return decode_whirlpool(_data(FIXTURES / label / "whirlpool.json")).tick_spacing


@pytest.mark.parametrize("path", ORACLES, ids=_ids(ORACLES))
def test_oracle_fields(path: Path) -> None:
    data = _data(path)
    ours = decode_oracle(data, ref_spacing := _pool_spacing(path))
    assert ours.constants.tick_group_size <= ref_spacing
    ref = coder().decode(data)
    assert ours.whirlpool == ref.whirlpool
    assert ours.trade_enable_timestamp == ref.trade_enable_timestamp
    rc, rv = ref.adaptive_fee_constants, ref.adaptive_fee_variables
    for name in (
        "filter_period",
        "decay_period",
        "reduction_factor",
        "adaptive_fee_control_factor",
        "max_volatility_accumulator",
        "tick_group_size",
        "major_swap_threshold_ticks",
    ):
        assert getattr(ours.constants, name) == getattr(rc, name), name
    for name in (
        "last_reference_update_timestamp",
        "last_major_swap_timestamp",
        "volatility_reference",
        "tick_group_index_reference",
        "volatility_accumulator",
    ):
        assert getattr(ours.variables, name) == getattr(rv, name), name
