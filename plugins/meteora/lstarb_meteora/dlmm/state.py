"""Decoders for the three lb_clmm accounts a quote reads, at fixed offsets.

The accounts are Anchor zero-copy (bytemuck, ``repr(C)`` with explicit
padding), so every field sits at a constant offset and one precompiled
``struct`` call reads a whole record. Bin arrays are 10 KB of which a swap
touches a few bins, so they are validated on decode and their bins read on
demand: decoding stays in the microseconds and quoting pays only for the bins
it crosses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.constants import (
    BIN_ARRAY_DISCRIMINATOR,
    BIN_ARRAY_LEN,
    BIN_LEN,
    BINS_OFFSET,
    BITMAP_EXTENSION_DISCRIMINATOR,
    BITMAP_EXTENSION_LEN,
    EXTENSION_BINARRAY_BITMAP_SIZE,
    FUNCTION_LIMIT_ORDER,
    FUNCTION_LIQUIDITY_MINING,
    LB_PAIR_DISCRIMINATOR,
    LB_PAIR_LEN,
    MAX_BIN_ID,
    MAX_BIN_PER_ARRAY,
    MAX_PROTOCOL_SHARE,
    MIN_BIN_ID,
    PROGRAM_ID,
)
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_data, check_owner

_ZERO_KEY = bytes(32)

# LbPair after its discriminator: StaticParameters (32 bytes), VariableParameters
# (32), the pair's scalars, keys, protocol fee, two RewardInfo (144 each),
# oracle, the 1024-bit bitmap, activation fields, creator, program flags.
_REWARD_FMT = "32s32s32sQQ16sQQ"
_LB_PAIR = struct.Struct(
    "<8x"
    "HHHHIIiiHBBB3x"  # parameters
    "IIi4xq8x"  # v_parameters
    "B2sBiHBB2sBB"  # bump .. creator_pool_on_off_control
    "32s32s32s32s"  # token_x_mint, token_y_mint, reserve_x, reserve_y
    "QQ32x"  # protocol_fee, _padding_1
    + _REWARD_FMT
    + _REWARD_FMT
    + "32s128sq32x"  # oracle, bin_array_bitmap, last_updated_at, _padding_2
    "32s32sQQ8xQ"  # pre_activation_swap_address, base_key, activation, _padding_3/4
    "32sBBB21x"  # creator, program flags, version, _reserved
)
assert _LB_PAIR.size == LB_PAIR_LEN

_BIN_ARRAY_HEAD = struct.Struct("<8xqB7x32s")
_BIN_TOP = struct.Struct("<QQQQ")  # amount_x, amount_y, price (lo, hi)
_BIN_ORDERS = struct.Struct("<Q8xQ")  # open_order_amount, processed_order_remaining_amount
_BIN_FULL = struct.Struct("<QQ16s16sQQQQ16s16sQQQIB3x")
assert _BIN_FULL.size == BIN_LEN


@dataclass(slots=True)
class StaticParameters:
    """Fee configuration; changes only by admin instruction."""

    base_factor: int
    filter_period: int
    decay_period: int
    reduction_factor: int
    variable_fee_control: int
    max_volatility_accumulator: int
    min_bin_id: int
    max_bin_id: int
    protocol_share: int
    base_fee_power_factor: int
    function_type: int
    collect_fee_mode: int


@dataclass(slots=True)
class VariableParameters:
    """Volatility state the variable fee is computed from; every swap moves it."""

    volatility_accumulator: int
    volatility_reference: int
    index_reference: int
    last_update_timestamp: int


@dataclass(slots=True)
class RewardInfo:
    """One farming reward slot; a set mint makes the pair a farming pair."""

    mint: Pubkey
    vault: Pubkey
    funder: Pubkey
    reward_duration: int
    reward_duration_end: int
    reward_rate: int
    last_update_time: int
    cumulative_seconds_with_empty_liquidity_reward: int

    @property
    def initialized(self) -> bool:
        return bytes(self.mint) != _ZERO_KEY


def _reward(v: tuple[Any, ...]) -> RewardInfo:
    return RewardInfo(
        Pubkey.from_bytes(v[0]),
        Pubkey.from_bytes(v[1]),
        Pubkey.from_bytes(v[2]),
        v[3],
        v[4],
        int.from_bytes(v[5], "little"),
        v[6],
        v[7],
    )


@dataclass(slots=True)
class LbPair:
    """The pair account (every IDL field but padding).

    ``bin_array_bitmap`` is the IDL's ``[u64; 16]`` as one 1024-bit integer
    (bit ``index + 512`` set = bin array ``index`` initialized), the form the
    bitmap search works on.
    """

    parameters: StaticParameters
    v_parameters: VariableParameters
    bump_seed: int
    bin_step_seed: bytes
    pair_type: int
    active_id: int
    bin_step: int
    status: int
    require_base_factor_seed: int
    base_factor_seed: bytes
    activation_type: int
    creator_pool_on_off_control: int
    token_x_mint: Pubkey
    token_y_mint: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    protocol_fee_amount_x: int
    protocol_fee_amount_y: int
    reward_infos: tuple[RewardInfo, RewardInfo]
    oracle: Pubkey
    bin_array_bitmap: int
    last_updated_at: int
    pre_activation_swap_address: Pubkey
    base_key: Pubkey
    activation_point: int
    pre_activation_duration: int
    creator: Pubkey
    token_mint_x_program_flag: int
    token_mint_y_program_flag: int
    version: int

    @classmethod
    def decode(cls, data: bytes) -> LbPair:
        check_data(data, "LbPair", size=LB_PAIR_LEN, discriminator=LB_PAIR_DISCRIMINATOR)
        v = _LB_PAIR.unpack(data)
        problem = _pair_problem(v)
        if problem:
            raise DecodeError(f"LbPair: {problem}")
        return cls(
            StaticParameters(*v[0:12]),
            VariableParameters(*v[12:16]),
            v[16],
            v[17],
            v[18],
            v[19],
            v[20],
            v[21],
            v[22],
            v[23],
            v[24],
            v[25],
            Pubkey.from_bytes(v[26]),
            Pubkey.from_bytes(v[27]),
            Pubkey.from_bytes(v[28]),
            Pubkey.from_bytes(v[29]),
            v[30],
            v[31],
            (_reward(v[32:40]), _reward(v[40:48])),
            Pubkey.from_bytes(v[48]),
            int.from_bytes(v[49], "little"),
            v[50],
            Pubkey.from_bytes(v[51]),
            Pubkey.from_bytes(v[52]),
            v[53],
            v[54],
            Pubkey.from_bytes(v[56]),
            v[57],
            v[58],
            v[59],
        )

    @classmethod
    def from_account(cls, account: Account) -> LbPair:
        check_owner(account, PROGRAM_ID, "LbPair")
        return cls.decode(account.data)

    @property
    def supports_limit_orders(self) -> bool:
        """Whether bins' limit-order amounts take part in swaps.

        Mirrors the program: explicit for limit-order and liquidity-mining
        pairs; undetermined pairs support orders unless they farm rewards.
        """
        ft = self.parameters.function_type
        if ft == FUNCTION_LIMIT_ORDER:
            return True
        if ft == FUNCTION_LIQUIDITY_MINING:
            return False
        return not (self.reward_infos[0].initialized or self.reward_infos[1].initialized)


def _pair_problem(v: tuple[Any, ...]) -> str:
    """What the program never writes into these fields (empty when all is well)."""
    if not MIN_BIN_ID <= v[19] <= MAX_BIN_ID:
        return f"active_id {v[19]} outside {MIN_BIN_ID}..{MAX_BIN_ID}"
    if v[8] > MAX_PROTOCOL_SHARE:
        return f"protocol_share {v[8]} above {MAX_PROTOCOL_SHARE}"
    if v[11] > 1 or v[24] > 1 or v[57] > 1 or v[58] > 1:  # one test on the hot path
        for name, value in (
            ("collect_fee_mode", v[11]),
            ("activation_type", v[24]),
            ("token_mint_x_program_flag", v[57]),
            ("token_mint_y_program_flag", v[58]),
        ):
            if value > 1:
                return f"{name} {value} is neither 0 nor 1"
    return ""


@dataclass(slots=True)
class Bin:
    """One bin with every IDL field (for inspection and the IDL cross-check).

    The swap reads bins through :meth:`BinArray.swap_view` instead.
    """

    amount_x: int
    amount_y: int
    price: int
    liquidity_supply: int
    fulfilled_order_amount_x: int
    fulfilled_order_amount_y: int
    limit_order_fee_ask_side: int
    limit_order_fee_bid_side: int
    fee_amount_x_per_token_stored: int
    fee_amount_y_per_token_stored: int
    open_order_amount: int
    total_processing_order_amount: int
    processed_order_remaining_amount: int
    order_age: int
    limit_order_ask_side: int


class BinArray:
    """70 consecutive bins; bin ``k`` is bin id ``index * 70 + k``.

    Version-1 arrays (written before limit orders existed) hold legacy
    counters where version 2 keeps order amounts. The production program reads
    those bytes as orders whatever the version (run on the fixtures: it pays
    them out), so :meth:`swap_view` reads them the same way for every version.
    """

    __slots__ = ("_data", "_plain_views", "_views", "index", "lb_pair", "lower_bin_id", "version")

    def __init__(self, index: int, version: int, lb_pair: Pubkey, data: bytes) -> None:
        self.index = index
        self.version = version
        self.lb_pair = lb_pair
        self._data = data
        self.lower_bin_id = index * MAX_BIN_PER_ARRAY
        self._views: list[tuple[int, int, int, int, int, bool] | None] = [None] * MAX_BIN_PER_ARRAY
        self._plain_views: list[tuple[int, int, int, int, int, bool] | None] = [
            None
        ] * MAX_BIN_PER_ARRAY

    @classmethod
    def decode(cls, data: bytes) -> BinArray:
        check_data(data, "BinArray", size=BIN_ARRAY_LEN, discriminator=BIN_ARRAY_DISCRIMINATOR)
        index, version, lb_pair = _BIN_ARRAY_HEAD.unpack_from(data)
        return cls(index, version, Pubkey.from_bytes(lb_pair), data)

    @classmethod
    def from_account(cls, account: Account) -> BinArray:
        check_owner(account, PROGRAM_ID, "BinArray")
        return cls.decode(account.data)

    @property
    def upper_bin_id(self) -> int:
        return self.lower_bin_id + MAX_BIN_PER_ARRAY - 1

    def bin(self, k: int) -> Bin:
        """Bin ``k`` (0..69) with every field, as stored."""
        if not 0 <= k < MAX_BIN_PER_ARRAY:
            raise IndexError(f"bin offset {k} outside 0..69")
        v = _BIN_FULL.unpack_from(self._data, BINS_OFFSET + k * BIN_LEN)
        le = int.from_bytes
        return Bin(
            v[0],
            v[1],
            le(v[2], "little"),
            le(v[3], "little"),
            v[4],
            v[5],
            v[6],
            v[7],
            le(v[8], "little"),
            le(v[9], "little"),
            v[10],
            v[11],
            v[12],
            v[13],
            v[14],
        )

    def swap_view(self, k: int, limit_orders: bool) -> tuple[int, int, int, int, int, bool]:
        """What a swap reads of bin ``k``: amount_x, amount_y, stored price,
        open_order_amount, processed_order_remaining_amount, ask side.

        Order amounts are zero unless the pair supports limit orders; on
        version-1 arrays they are the legacy bytes at the same offsets, as the
        program reads them. Views are cached: an array is immutable until the
        next update replaces it, and quotes revisit the same bins.
        """
        cache = self._views if limit_orders else self._plain_views
        view = cache[k]
        if view is None:
            off = BINS_OFFSET + k * BIN_LEN
            ax, ay, plo, phi = _BIN_TOP.unpack_from(self._data, off)
            if limit_orders:
                open_amt, processed = _BIN_ORDERS.unpack_from(self._data, off + 112)
                ask = self._data[off + 140] != 0
                view = (ax, ay, plo | (phi << 64), open_amt, processed, ask)
            else:
                view = (ax, ay, plo | (phi << 64), 0, 0, False)
            cache[k] = view
        return view


class BinArrayBitmapExtension:
    """Which bin arrays beyond indexes -512..511 are initialized.

    ``positive[c]`` and ``negative[c]`` are the IDL's ``[u64; 8]`` chunks as
    512-bit integers. For the search the chunks are also joined into one
    6144-bit integer per side: bit ``index - 512`` for index >= 512, bit
    ``-index - 513`` for index <= -513.
    """

    __slots__ = ("lb_pair", "negative", "negative_bits", "positive", "positive_bits")

    def __init__(self, lb_pair: Pubkey, positive: list[int], negative: list[int]) -> None:
        self.lb_pair = lb_pair
        self.positive = positive
        self.negative = negative
        self.positive_bits = sum(c << (512 * i) for i, c in enumerate(positive))
        self.negative_bits = sum(c << (512 * i) for i, c in enumerate(negative))

    @classmethod
    def decode(cls, data: bytes) -> BinArrayBitmapExtension:
        check_data(
            data,
            "BinArrayBitmapExtension",
            size=BITMAP_EXTENSION_LEN,
            discriminator=BITMAP_EXTENSION_DISCRIMINATOR,
        )
        n = EXTENSION_BINARRAY_BITMAP_SIZE
        pos_raw = data[40 : 40 + 64 * n]
        neg_raw = data[40 + 64 * n : 40 + 128 * n]
        # One 6144-bit integer per side is exactly the chunks in order.
        pos_all = int.from_bytes(pos_raw, "little")
        neg_all = int.from_bytes(neg_raw, "little")
        mask = (1 << 512) - 1
        self = cls.__new__(cls)
        self.lb_pair = Pubkey.from_bytes(data[8:40])
        self.positive = [(pos_all >> (512 * i)) & mask for i in range(n)]
        self.negative = [(neg_all >> (512 * i)) & mask for i in range(n)]
        self.positive_bits = pos_all
        self.negative_bits = neg_all
        return self

    @classmethod
    def from_account(cls, account: Account) -> BinArrayBitmapExtension:
        check_owner(account, PROGRAM_ID, "BinArrayBitmapExtension")
        return cls.decode(account.data)
