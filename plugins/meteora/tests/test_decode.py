"""Fixed-offset decoders against anchorpy's IDL decoding, field by field, on every fixture."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from meteora_testlib import FIXTURES, LABELS, fixture_doc, idl_coder
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.bin_math import price_from_id
from lstarb_meteora.dlmm.constants import MAX_BIN_PER_ARRAY
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair


def _raw(label: str, name: str) -> bytes:
    return base64.b64decode(fixture_doc(label, name)["data_base64"])


def _u64s_to_int(words: list[int]) -> int:
    return sum(w << (64 * i) for i, w in enumerate(words))


def _same(ours: Any, theirs: Any, path: str) -> None:
    if isinstance(theirs, Pubkey):
        assert ours == theirs, path
    elif isinstance(theirs, list):
        assert list(ours) == list(theirs), path
    else:
        assert ours == theirs, path


def _compare_struct(ours: Any, theirs: Any, fields: list[str], path: str) -> None:
    for f in fields:
        _same(getattr(ours, f), getattr(theirs, f), f"{path}.{f}")


_STATIC = [
    "base_factor", "filter_period", "decay_period", "reduction_factor", "variable_fee_control",
    "max_volatility_accumulator", "min_bin_id", "max_bin_id", "protocol_share",
    "base_fee_power_factor", "function_type", "collect_fee_mode",
]  # fmt: skip
_VARIABLE = [
    "volatility_accumulator", "volatility_reference", "index_reference", "last_update_timestamp"
]  # fmt: skip
_REWARD = [
    "mint", "vault", "funder", "reward_duration", "reward_duration_end", "reward_rate",
    "last_update_time", "cumulative_seconds_with_empty_liquidity_reward",
]  # fmt: skip
_PAIR_SCALARS = [
    "pair_type", "active_id", "bin_step", "status", "require_base_factor_seed",
    "activation_type", "creator_pool_on_off_control", "token_x_mint", "token_y_mint",
    "reserve_x", "reserve_y", "oracle", "last_updated_at", "pre_activation_swap_address",
    "base_key", "activation_point", "pre_activation_duration", "creator",
    "token_mint_x_program_flag", "token_mint_y_program_flag", "version",
]  # fmt: skip
_BIN = [
    "amount_x", "amount_y", "price", "liquidity_supply", "fulfilled_order_amount_x",
    "fulfilled_order_amount_y", "limit_order_fee_ask_side", "limit_order_fee_bid_side",
    "fee_amount_x_per_token_stored", "fee_amount_y_per_token_stored", "open_order_amount",
    "total_processing_order_amount", "processed_order_remaining_amount", "order_age",
    "limit_order_ask_side",
]  # fmt: skip


@pytest.mark.parametrize("label", LABELS)
def test_lb_pair_every_field_matches_idl(label: str) -> None:
    raw = _raw(label, "lb_pair.json")
    ours = LbPair.decode(raw)
    theirs = idl_coder().accounts.decode(raw)
    _compare_struct(ours.parameters, theirs.parameters, _STATIC, "parameters")
    _compare_struct(ours.v_parameters, theirs.v_parameters, _VARIABLE, "v_parameters")
    _compare_struct(ours, theirs, _PAIR_SCALARS, "lb_pair")
    assert ours.bump_seed == theirs.bump_seed[0]
    assert list(ours.bin_step_seed) == list(theirs.bin_step_seed)
    assert list(ours.base_factor_seed) == list(theirs.base_factor_seed)
    assert ours.protocol_fee_amount_x == theirs.protocol_fee.amount_x
    assert ours.protocol_fee_amount_y == theirs.protocol_fee.amount_y
    for i in range(2):
        _compare_struct(ours.reward_infos[i], theirs.reward_infos[i], _REWARD, f"reward[{i}]")
    assert ours.bin_array_bitmap == _u64s_to_int(list(theirs.bin_array_bitmap))


def _bin_array_files(label: str) -> list[str]:
    return sorted(
        p.name for p in (FIXTURES / label).glob("bin_array_*.json") if "bitmap" not in p.name
    )


ARRAYS = [(label, name) for label in LABELS for name in _bin_array_files(label)]


@pytest.mark.parametrize(("label", "name"), ARRAYS)
def test_bin_array_every_bin_matches_idl(label: str, name: str) -> None:
    raw = _raw(label, name)
    ours = BinArray.decode(raw)
    theirs = idl_coder().accounts.decode(raw)
    assert ours.index == theirs.index
    assert ours.version == theirs.version
    assert ours.lb_pair == theirs.lb_pair
    assert len(theirs.bins) == MAX_BIN_PER_ARRAY
    for k, bin_ in enumerate(theirs.bins):
        _compare_struct(ours.bin(k), bin_, _BIN, f"bins[{k}]")


@pytest.mark.parametrize(("label", "name"), ARRAYS)
def test_stored_bin_prices_equal_the_program_pow(label: str, name: str) -> None:
    """Every stored price the program wrote equals our price_from_id."""
    pair = LbPair.decode(_raw(label, "lb_pair.json"))
    arr = BinArray.decode(_raw(label, name))
    checked = 0
    for k in range(MAX_BIN_PER_ARRAY):
        stored = arr.bin(k).price
        if stored:
            assert stored == price_from_id(arr.lower_bin_id + k, pair.bin_step), k
            checked += 1
    assert checked > 0


def test_swap_view_reads_legacy_bytes_of_version_1_arrays_as_orders() -> None:
    """As the production program does (tests/test_program_oracle.py): the bytes at the
    limit-order offsets are orders whatever the array's version; only a pair without
    limit orders leaves them out."""
    arr = BinArray.decode(_raw("pump-sol-bs250", "bin_array_0.json"))
    assert arr.version == 1
    legacy = [k for k in range(70) if arr.bin(k).open_order_amount]
    assert legacy, "fixture should carry legacy counters at the order offsets"
    for k in legacy:
        b = arr.bin(k)
        orders = (b.open_order_amount, b.processed_order_remaining_amount)
        assert arr.swap_view(k, True)[3:] == (*orders, b.limit_order_ask_side != 0)
        assert arr.swap_view(k, False)[3:] == (0, 0, False)


def test_bitmap_extension_matches_idl() -> None:
    raw = _raw("sol-usdc-bs4", "bin_array_bitmap_extension.json")
    ours = BinArrayBitmapExtension.decode(raw)
    theirs = idl_coder().accounts.decode(raw)
    assert ours.lb_pair == theirs.lb_pair
    assert ours.positive == [_u64s_to_int(list(c)) for c in theirs.positive_bin_array_bitmap]
    assert ours.negative == [_u64s_to_int(list(c)) for c in theirs.negative_bin_array_bitmap]


def test_bitmap_extension_bits_round_trip_with_idl() -> None:
    """The fixture's extension is empty; set bits and check the layout both ways."""
    raw = bytearray(_raw("sol-usdc-bs4", "bin_array_bitmap_extension.json"))
    # positive chunk 3, word 5, bit 7; negative chunk 11, word 0, bit 63
    raw[40 + 3 * 64 + 5 * 8] |= 1 << 7
    raw[40 + 768 + 11 * 64 + 7] |= 1 << 7
    ours = BinArrayBitmapExtension.decode(bytes(raw))
    theirs = idl_coder().accounts.decode(bytes(raw))
    assert ours.positive == [_u64s_to_int(list(c)) for c in theirs.positive_bin_array_bitmap]
    assert ours.negative == [_u64s_to_int(list(c)) for c in theirs.negative_bin_array_bitmap]
    assert ours.positive[3] == 1 << (5 * 64 + 7)
    assert ours.negative[11] == 1 << 63
