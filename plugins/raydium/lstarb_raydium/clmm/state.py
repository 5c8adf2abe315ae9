"""Decoders of raydium_clmm accounts, by fixed offsets.

The program's accounts are Anchor zero-copy packed structs, so every field sits
at a fixed offset; ``struct`` reads the scalar runs in one call, which keeps a
pool decode at a few microseconds. The layouts are the 2026 program's (fee_on,
dynamic fee, limit-order fields in ticks): the published IDL (June 2025) still
calls those bytes padding, and the tests check every field here against
anchorpy's IDL decoding, new fields against the raw padding bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from solders.pubkey import Pubkey

from lstarb_raydium.clmm.tick_math import MAX_SQRT_PRICE_X64, MAX_TICK, MIN_SQRT_PRICE_X64, MIN_TICK
from lstarb_sdk.amounts import PPM_DENOMINATOR
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_data, i32, i128, u64, u128

POOL_STATE_DISCRIMINATOR = bytes.fromhex("f7ede3f5d7c3de46")
AMM_CONFIG_DISCRIMINATOR = bytes.fromhex("daf42168cbcb2b6f")
TICK_ARRAY_DISCRIMINATOR = bytes.fromhex("c09b55cd31f9812a")
BITMAP_EXTENSION_DISCRIMINATOR = bytes.fromhex("3c9624db61808b99")

POOL_STATE_LEN = 1544
AMM_CONFIG_LEN = 117
TICK_ARRAY_LEN = 10240
BITMAP_EXTENSION_LEN = 1832

TICK_ARRAY_SIZE = 60
TICK_LEN = 168
TICKS_OFFSET = 44
REWARD_NUM = 3
REWARD_INFO_LEN = 169
REWARD_INFOS_OFFSET = 397
POOL_BITMAP_OFFSET = 904
EXT_POSITIVE_OFFSET = 40
EXT_NEGATIVE_OFFSET = 936
EXT_BITMAP_GROUPS = 14
EXT_GROUP_BYTES = 64

STATUS_SWAP_DISABLED_BIT = 4

_POOL_CORE = struct.Struct("<BBHQQQQi4xQQQQQQ64xBB")  # from offset 233
_POOL_TAIL = struct.Struct("<QQQQ")  # from offset 1064
_DYNAMIC_FEE = struct.Struct("<HHHIIiIIQ")  # from offset 1096
_DYNAMIC_FEE_END = 1096 + _DYNAMIC_FEE.size
_ZERO_DYNAMIC = bytes(_DYNAMIC_FEE.size)
_CONFIG = struct.Struct("<BH32sIIHI4x32s")  # from offset 8
_REWARD = struct.Struct("<BQQQQQQQ32s32s32sQQ")
_TICK_FLAGS = struct.Struct("<" + "20x16s88x16s28x" * TICK_ARRAY_SIZE)
_ZERO16 = bytes(16)


def check_account(data: bytes, name: str, size: int, discriminator: bytes) -> None:
    """Raise DecodeError unless ``data`` has ``size`` bytes and the discriminator."""
    if len(data) != size or data[:8] != discriminator:
        check_data(data, f"raydium clmm {name}", size=size, discriminator=discriminator)


@dataclass(frozen=True, slots=True)
class DynamicFeeInfo:
    """The 2026 dynamic-fee block of a pool; all zero when the pool has no dynamic fee."""

    filter_period: int
    decay_period: int
    reduction_factor: int
    dynamic_fee_control: int
    max_volatility_accumulator: int
    tick_spacing_index_reference: int
    volatility_reference: int
    volatility_accumulator: int
    last_update_timestamp: int

    @property
    def enabled(self) -> bool:
        """The SDK and program treat any non-zero field as a dynamic-fee pool."""
        return any(
            (
                self.filter_period,
                self.decay_period,
                self.reduction_factor,
                self.dynamic_fee_control,
                self.max_volatility_accumulator,
                self.tick_spacing_index_reference,
                self.volatility_reference,
                self.volatility_accumulator,
                self.last_update_timestamp,
            )
        )


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """One of the pool's three reward emitters (decoded on demand, not for quotes)."""

    reward_state: int
    open_time: int
    end_time: int
    last_update_time: int
    emissions_per_second_x64: int
    reward_total_emissioned: int
    reward_claimed: int
    token_mint: Pubkey
    token_vault: Pubkey
    authority: Pubkey
    reward_growth_global_x64: int


@dataclass(frozen=True, slots=True)
class PoolState:
    """The CLMM PoolState fields that quotes and swap instructions read."""

    bump: int
    amm_config: Pubkey
    owner: Pubkey
    token_mint_0: Pubkey
    token_mint_1: Pubkey
    token_vault_0: Pubkey
    token_vault_1: Pubkey
    observation_key: Pubkey
    mint_decimals_0: int
    mint_decimals_1: int
    tick_spacing: int
    liquidity: int
    sqrt_price_x64: int
    tick_current: int
    fee_growth_global_0_x64: int
    fee_growth_global_1_x64: int
    protocol_fees_token_0: int
    protocol_fees_token_1: int
    status: int
    fee_on: int
    tick_array_bitmap: int
    fund_fees_token_0: int
    fund_fees_token_1: int
    open_time: int
    recent_epoch: int
    dynamic_fee_enabled: bool
    raw: bytes

    @classmethod
    def decode(cls, data: bytes, previous: PoolState | None = None) -> PoolState:
        """Decode; ``previous`` (the same pool's last state) lends its address objects.

        The seven pubkeys of a pool never change, and building them is a third
        of the decode time, so a refresh reuses them when the bytes agree.
        """
        check_account(data, "PoolState", POOL_STATE_LEN, POOL_STATE_DISCRIMINATOR)
        if previous is not None and previous.raw[9:233] == data[9:233]:
            keys = (
                previous.amm_config,
                previous.owner,
                previous.token_mint_0,
                previous.token_mint_1,
                previous.token_vault_0,
                previous.token_vault_1,
                previous.observation_key,
            )
        else:
            keys = tuple(Pubkey.from_bytes(data[o : o + 32]) for o in range(9, 233, 32))
            if keys[2] == keys[3] or keys[4] == keys[5]:
                raise DecodeError("raydium clmm PoolState: both sides name the same mint or vault")
        (
            dec0,
            dec1,
            spacing,
            liq_lo,
            liq_hi,
            sp_lo,
            sp_hi,
            tick,
            fg0_lo,
            fg0_hi,
            fg1_lo,
            fg1_hi,
            pf0,
            pf1,
            status,
            fee_on,
        ) = _POOL_CORE.unpack_from(data, 233)
        t = _POOL_TAIL.unpack_from(data, 1064)
        # What the program guarantees of every pool it writes; anything else is not a pool.
        if spacing == 0:
            raise DecodeError("raydium clmm PoolState: tick_spacing is 0")
        if not MIN_TICK <= tick <= MAX_TICK:
            raise DecodeError(f"raydium clmm PoolState: tick_current {tick} outside the tick range")
        sqrt_price = sp_lo | sp_hi << 64
        if not MIN_SQRT_PRICE_X64 <= sqrt_price < MAX_SQRT_PRICE_X64:
            raise DecodeError(
                f"raydium clmm PoolState: sqrt_price_x64 {sqrt_price} outside the program's range"
            )
        if fee_on > 2:
            raise DecodeError(f"raydium clmm PoolState: fee_on {fee_on} is not 0, 1 or 2")
        return cls(
            data[8],
            *keys,
            dec0,
            dec1,
            spacing,
            liq_lo | liq_hi << 64,
            sqrt_price,
            tick,
            fg0_lo | fg0_hi << 64,
            fg1_lo | fg1_hi << 64,
            pf0,
            pf1,
            status,
            fee_on,
            int.from_bytes(data[904:1032], "little"),
            t[0],
            t[1],
            t[2],
            t[3],
            data[1096:_DYNAMIC_FEE_END] != _ZERO_DYNAMIC,
            bytes(data),
        )

    @property
    def dynamic_fee(self) -> DynamicFeeInfo:
        """The dynamic-fee block (decoded on demand; quotes only ask whether it is on)."""
        return DynamicFeeInfo(*_DYNAMIC_FEE.unpack_from(self.raw, 1096))

    @property
    def swap_disabled(self) -> bool:
        return bool(self.status >> STATUS_SWAP_DISABLED_BIT & 1)

    def bitmap_words(self) -> list[int]:
        """The 16 u64 words of ``tick_array_bitmap`` (as the IDL shows them)."""
        return [(self.tick_array_bitmap >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(16)]

    def reward_infos(self) -> list[RewardInfo]:
        """The three reward emitters; swaps do not need them, so they are not decoded eagerly."""
        out = []
        for i in range(REWARD_NUM):
            v = _REWARD.unpack_from(self.raw, REWARD_INFOS_OFFSET + i * REWARD_INFO_LEN)
            out.append(
                RewardInfo(
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    v[4] | v[5] << 64,
                    v[6],
                    v[7],
                    Pubkey.from_bytes(v[8]),
                    Pubkey.from_bytes(v[9]),
                    Pubkey.from_bytes(v[10]),
                    v[11] | v[12] << 64,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class AmmConfig:
    """A fee tier: rates per 1_000_000; protocol and fund rates are shares of the trade fee."""

    bump: int
    index: int
    owner: Pubkey
    protocol_fee_rate: int
    trade_fee_rate: int
    tick_spacing: int
    fund_fee_rate: int
    fund_owner: Pubkey

    @classmethod
    def decode(cls, data: bytes) -> AmmConfig:
        check_account(data, "AmmConfig", AMM_CONFIG_LEN, AMM_CONFIG_DISCRIMINATOR)
        bump, index, owner, proto, trade, spacing, fund, fund_owner = _CONFIG.unpack_from(data, 8)
        # The bounds ``create_amm_config`` / ``update_amm_config`` assert.
        if trade >= PPM_DENOMINATOR or proto > PPM_DENOMINATOR or fund > PPM_DENOMINATOR:
            raise DecodeError(
                f"raydium clmm AmmConfig: fee rates out of bounds (trade {trade}, "
                f"protocol {proto}, fund {fund} per million)"
            )
        if spacing == 0:
            raise DecodeError("raydium clmm AmmConfig: tick_spacing is 0")
        return cls(
            bump,
            index,
            Pubkey.from_bytes(owner),
            proto,
            trade,
            spacing,
            fund,
            Pubkey.from_bytes(fund_owner),
        )


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick record (decoded on demand; the swap loop reads only what it crosses)."""

    tick: int
    liquidity_net: int
    liquidity_gross: int
    fee_growth_outside_0_x64: int
    fee_growth_outside_1_x64: int
    reward_growths_outside_x64: tuple[int, int, int]
    order_phase: int
    orders_amount: int
    part_filled_orders_remaining: int
    unfilled_ratio_x64: int

    @property
    def has_limit_orders(self) -> bool:
        return self.orders_amount != 0 or self.part_filled_orders_remaining != 0


class TickArray:
    """A TickArrayState: 60 ticks from ``start_tick_index``.

    Decoding checks the header only; the list of initialized ticks is built on
    first use and kept, because a quote touches one or two arrays of the
    several an adapter holds, and every update brings a fresh object.
    """

    __slots__ = ("__dict__", "data", "pool_id", "start_tick_index")

    def __init__(self, data: bytes, pool_id: Pubkey, start_tick_index: int) -> None:
        self.data = data
        self.pool_id = pool_id
        self.start_tick_index = start_tick_index

    @classmethod
    def decode(cls, data: bytes) -> TickArray:
        check_account(data, "TickArrayState", TICK_ARRAY_LEN, TICK_ARRAY_DISCRIMINATOR)
        if data[10124] > TICK_ARRAY_SIZE:
            raise DecodeError(
                f"raydium clmm TickArrayState: initialized_tick_count {data[10124]} > 60"
            )
        return cls(
            bytes(data),
            Pubkey.from_bytes(data[8:40]),
            i32(data, 40),
        )

    @property
    def initialized_tick_count(self) -> int:
        return self.data[10124]

    @property
    def recent_epoch(self) -> int:
        return u64(self.data, 10125)

    def tick(self, i: int) -> Tick:
        """Tick record ``i`` (0..59), every field."""
        d = self.data
        p = TICKS_OFFSET + TICK_LEN * i
        return Tick(
            i32(d, p),
            i128(d, p + 4),
            u128(d, p + 20),
            u128(d, p + 36),
            u128(d, p + 52),
            (u128(d, p + 68), u128(d, p + 84), u128(d, p + 100)),
            u64(d, p + 116),
            u64(d, p + 124),
            u64(d, p + 132),
            u128(d, p + 140),
        )

    @cached_property
    def initialized(self) -> tuple[list[int], list[int], frozenset[int]]:
        """``(offsets, liquidity_nets, offsets_with_orders)`` of initialized ticks, ascending.

        A tick is initialized when it has liquidity or resting limit orders
        (the ``tick`` field survives clearing, so it is not the flag).
        """
        fields = _TICK_FLAGS.unpack_from(self.data, TICKS_OFFSET)
        d = self.data
        offsets: list[int] = []
        nets: list[int] = []
        orders: set[int] = set()
        z = _ZERO16
        for i in range(TICK_ARRAY_SIZE):
            gross = fields[2 * i]
            order = fields[2 * i + 1]
            if gross != z or order != z:
                offsets.append(i)
                p = TICKS_OFFSET + TICK_LEN * i + 4
                nets.append(i128(d, p))
                if order != z:
                    orders.add(i)
        return offsets, nets, frozenset(orders)


@dataclass(frozen=True, slots=True)
class BitmapExtension:
    """TickArrayBitmapExtension: which tick arrays beyond the pool's own bitmap exist."""

    pool_id: Pubkey
    positive: int
    negative: int
    raw: bytes

    @classmethod
    def decode(cls, data: bytes) -> BitmapExtension:
        check_account(
            data, "TickArrayBitmapExtension", BITMAP_EXTENSION_LEN, BITMAP_EXTENSION_DISCRIMINATOR
        )
        return cls(
            Pubkey.from_bytes(data[8:40]),
            int.from_bytes(data[EXT_POSITIVE_OFFSET:EXT_NEGATIVE_OFFSET], "little"),
            int.from_bytes(data[EXT_NEGATIVE_OFFSET:BITMAP_EXTENSION_LEN], "little"),
            bytes(data),
        )

    def words(self, negative: bool) -> list[list[int]]:
        """The ``[[u64; 8]; 14]`` view the IDL shows."""
        base = EXT_NEGATIVE_OFFSET if negative else EXT_POSITIVE_OFFSET
        d = self.raw
        return [[u64(d, base + 64 * g + 8 * w) for w in range(8)] for g in range(EXT_BITMAP_GROUPS)]
