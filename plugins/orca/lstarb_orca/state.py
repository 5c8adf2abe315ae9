"""Decoders for the Whirlpool program's accounts, at fixed offsets.

The hot path decodes the pool account on every price change and tick arrays
whenever liquidity moves, so each decoder reads only ``int.from_bytes`` and
slices; anchorpy decodes the same bytes in the tests, never here. Every
decoder checks owner, discriminator and size first and raises
:class:`~lstarb_sdk.errors.DecodeError` saying which check failed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_orca.tick_math import (
    MAX_SQRT_PRICE,
    MAX_TICK_INDEX,
    MIN_SQRT_PRICE,
    MIN_TICK_INDEX,
    TICK_ARRAY_SIZE,
)
from lstarb_sdk.amounts import BPS_DENOMINATOR
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_data, i32, i128, u16, u32, u64, u128

WHIRLPOOL_PROGRAM_ID = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")

WHIRLPOOL_DISCRIMINATOR = bytes.fromhex("3f95d10ce1806309")
FIXED_TICK_ARRAY_DISCRIMINATOR = bytes.fromhex("4561bdbe6e0742bb")
DYNAMIC_TICK_ARRAY_DISCRIMINATOR = bytes.fromhex("11d8f68ee1c7da38")
ORACLE_DISCRIMINATOR = bytes.fromhex("8bc283b38cb3e5f4")

WHIRLPOOL_LEN = 653
FIXED_TICK_ARRAY_LEN = 9988
DYNAMIC_TICK_ARRAY_MIN_LEN = 148
DYNAMIC_TICK_ARRAY_MAX_LEN = 10004
ORACLE_LEN = 254
TICK_LEN = 113
NUM_REWARDS = 3

# Limits the program enforces when it writes these fields (Whirlpool::update_fee_rate,
# update_protocol_fee_rate; Oracle::validate_constants).
MAX_FEE_RATE = 60_000
MAX_PROTOCOL_FEE_RATE = 2_500
REDUCTION_FACTOR_DENOMINATOR = BPS_DENOMINATOR
ADAPTIVE_FEE_CONTROL_FACTOR_DENOMINATOR = 100_000
_U32_MAX = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """One liquidity-mining reward slot (``extension`` is opaque bytes, not a pubkey)."""

    mint: Pubkey
    vault: Pubkey
    extension: bytes
    emissions_per_second_x64: int
    growth_global_x64: int


@dataclass(frozen=True, slots=True)
class Whirlpool:
    """The Whirlpool account. Reward infos are decoded on demand: quotes never read them."""

    whirlpools_config: Pubkey
    whirlpool_bump: int
    tick_spacing: int
    fee_tier_index_seed: int
    fee_rate: int
    protocol_fee_rate: int
    liquidity: int
    sqrt_price: int
    tick_current_index: int
    protocol_fee_owed_a: int
    protocol_fee_owed_b: int
    token_mint_a: Pubkey
    token_vault_a: Pubkey
    fee_growth_global_a: int
    token_mint_b: Pubkey
    token_vault_b: Pubkey
    fee_growth_global_b: int
    reward_last_updated_timestamp: int
    reward_bytes: bytes

    @property
    def is_adaptive(self) -> bool:
        """Pools created on an adaptive fee tier carry a fee tier index unlike their spacing."""
        return self.fee_tier_index_seed != self.tick_spacing

    @property
    def reward_infos(self) -> tuple[RewardInfo, ...]:
        raw = self.reward_bytes
        out = []
        for i in range(NUM_REWARDS):
            o = i * 128
            out.append(
                RewardInfo(
                    Pubkey.from_bytes(raw[o : o + 32]),
                    Pubkey.from_bytes(raw[o + 32 : o + 64]),
                    raw[o + 64 : o + 96],
                    u128(raw, o + 96),
                    u128(raw, o + 112),
                )
            )
        return tuple(out)


# Everything from byte 8 to the reward infos in one unpack; u128s come as two u64 halves.
_WHIRLPOOL_HEAD = struct.Struct("<32sBHHHHQQQQiQQ32s32sQQ32s32sQQQ")


def decode_whirlpool(data: bytes) -> Whirlpool:
    """Decode Whirlpool account data, checking discriminator, size and what the program
    guarantees of the fields (a quote divides by the tick spacing, for one)."""
    check_data(data, "Whirlpool", size=WHIRLPOOL_LEN, discriminator=WHIRLPOOL_DISCRIMINATOR)
    (
        config,
        bump,
        tick_spacing,
        seed,
        fee_rate,
        protocol_fee_rate,
        liq_lo,
        liq_hi,
        price_lo,
        price_hi,
        tick,
        owed_a,
        owed_b,
        mint_a,
        vault_a,
        growth_a_lo,
        growth_a_hi,
        mint_b,
        vault_b,
        growth_b_lo,
        growth_b_hi,
        reward_ts,
    ) = _WHIRLPOOL_HEAD.unpack_from(data, 8)
    sqrt_price = price_lo | (price_hi << 64)
    _check_whirlpool_fields(tick_spacing, fee_rate, protocol_fee_rate, sqrt_price, tick)
    if mint_a >= mint_b:
        raise DecodeError("Whirlpool: token_mint_a is not below token_mint_b")
    pk = Pubkey.from_bytes
    return Whirlpool(
        whirlpools_config=pk(config),
        whirlpool_bump=bump,
        tick_spacing=tick_spacing,
        fee_tier_index_seed=seed,
        fee_rate=fee_rate,
        protocol_fee_rate=protocol_fee_rate,
        liquidity=liq_lo | (liq_hi << 64),
        sqrt_price=sqrt_price,
        tick_current_index=tick,
        protocol_fee_owed_a=owed_a,
        protocol_fee_owed_b=owed_b,
        token_mint_a=pk(mint_a),
        token_vault_a=pk(vault_a),
        fee_growth_global_a=growth_a_lo | (growth_a_hi << 64),
        token_mint_b=pk(mint_b),
        token_vault_b=pk(vault_b),
        fee_growth_global_b=growth_b_lo | (growth_b_hi << 64),
        reward_last_updated_timestamp=reward_ts,
        reward_bytes=data[269:653],
    )


def _check_whirlpool_fields(
    tick_spacing: int, fee_rate: int, protocol_fee_rate: int, sqrt_price: int, tick: int
) -> None:
    if tick_spacing == 0:
        raise DecodeError("Whirlpool: tick_spacing is 0 (fee tiers require > 0)")
    if fee_rate > MAX_FEE_RATE:
        raise DecodeError(f"Whirlpool: fee_rate {fee_rate} above the maximum {MAX_FEE_RATE}")
    if protocol_fee_rate > MAX_PROTOCOL_FEE_RATE:
        raise DecodeError(
            f"Whirlpool: protocol_fee_rate {protocol_fee_rate} above the maximum "
            f"{MAX_PROTOCOL_FEE_RATE}"
        )
    if not MIN_SQRT_PRICE <= sqrt_price <= MAX_SQRT_PRICE:
        raise DecodeError(f"Whirlpool: sqrt_price {sqrt_price} outside the program's bounds")
    # a swap that ends exactly on the minimum tick stores MIN_TICK_INDEX - 1
    if not MIN_TICK_INDEX - 1 <= tick <= MAX_TICK_INDEX:
        raise DecodeError(f"Whirlpool: tick_current_index {tick} outside the tick range")


@dataclass(frozen=True, slots=True)
class Tick:
    """Every field of one tick (the full decode; quotes use :class:`TickArrayState`)."""

    initialized: bool
    liquidity_net: int
    liquidity_gross: int
    fee_growth_outside_a: int
    fee_growth_outside_b: int
    reward_growths_outside: tuple[int, int, int]


_EMPTY_TICK = Tick(False, 0, 0, 0, 0, (0, 0, 0))


@dataclass(frozen=True, slots=True)
class TickArray:
    """A tick array in full, whichever layout it was stored in."""

    start_tick_index: int
    whirlpool: Pubkey
    ticks: tuple[Tick, ...]
    dynamic: bool
    tick_bitmap: int | None = None


@dataclass(frozen=True, slots=True)
class TickArrayState:
    """What a quote needs from a tick array: its initialized ticks, in order.

    ``offsets`` are positions 0..87 within the array, ``liquidity_net`` their
    signed liquidity deltas. ``exists`` is False for a PDA that holds no
    account: on chain it behaves as 88 uninitialized ticks.
    """

    start_tick_index: int
    offsets: tuple[int, ...]
    liquidity_net: tuple[int, ...]
    exists: bool = True


def _tick_fields(data: bytes, o: int) -> tuple[int, int, int, int, tuple[int, int, int]]:
    return (
        i128(data, o),
        u128(data, o + 16),
        u128(data, o + 32),
        u128(data, o + 48),
        (u128(data, o + 64), u128(data, o + 80), u128(data, o + 96)),
    )


def decode_tick_array(data: bytes) -> TickArray:
    """Every field of a fixed or dynamic tick array (dispatch on the discriminator)."""
    if data[:8] == DYNAMIC_TICK_ARRAY_DISCRIMINATOR:
        return _decode_dynamic_full(data)
    check_data(
        data, "TickArray", size=FIXED_TICK_ARRAY_LEN, discriminator=FIXED_TICK_ARRAY_DISCRIMINATOR
    )
    ticks = []
    for i in range(TICK_ARRAY_SIZE):
        o = 12 + i * TICK_LEN
        ticks.append(Tick(data[o] == 1, *_tick_fields(data, o + 1)))
    return TickArray(i32(data, 8), Pubkey.from_bytes(data[9956:9988]), tuple(ticks), False)


def _decode_dynamic_full(data: bytes) -> TickArray:
    _check_dynamic(data)
    ticks = []
    pos = 60
    for _ in range(TICK_ARRAY_SIZE):
        tag = _dynamic_tag(data, pos)
        if tag == 0:
            ticks.append(_EMPTY_TICK)
            pos += 1
        else:
            ticks.append(Tick(True, *_tick_fields(data, pos + 1)))
            pos += TICK_LEN
    return TickArray(
        i32(data, 8), Pubkey.from_bytes(data[12:44]), tuple(ticks), True, u128(data, 44)
    )


def _check_dynamic(data: bytes) -> None:
    check_data(
        data,
        "DynamicTickArray",
        min_size=DYNAMIC_TICK_ARRAY_MIN_LEN,
        max_size=DYNAMIC_TICK_ARRAY_MAX_LEN,
        discriminator=DYNAMIC_TICK_ARRAY_DISCRIMINATOR,
    )


def _dynamic_tag(data: bytes, pos: int) -> int:
    if pos >= len(data):
        raise DecodeError(f"DynamicTickArray: truncated, tick data ends at byte {len(data)}")
    tag = data[pos]
    if tag > 1:
        raise DecodeError(f"DynamicTickArray: tick tag {tag} at byte {pos} is neither 0 nor 1")
    if tag == 1 and pos + TICK_LEN > len(data):
        raise DecodeError(f"DynamicTickArray: truncated inside the tick at byte {pos}")
    return tag


def decode_tick_array_state(data: bytes) -> tuple[TickArrayState, Pubkey]:
    """The quote's view of a tick array and the whirlpool it belongs to (fast path).

    Liquidity nets are read inline: a reader call per initialized tick would
    cost 15 % of the decode.
    """
    if data[:8] == DYNAMIC_TICK_ARRAY_DISCRIMINATOR:
        _check_dynamic(data)
        offs: list[int] = []
        dyn_nets: list[int] = []
        pos = 60
        for i in range(TICK_ARRAY_SIZE):
            if _dynamic_tag(data, pos):
                offs.append(i)
                dyn_nets.append(int.from_bytes(data[pos + 1 : pos + 17], "little", signed=True))
                pos += TICK_LEN
            else:
                pos += 1
        state = TickArrayState(i32(data, 8), tuple(offs), tuple(dyn_nets))
        return state, Pubkey.from_bytes(data[12:44])
    check_data(
        data, "TickArray", size=FIXED_TICK_ARRAY_LEN, discriminator=FIXED_TICK_ARRAY_DISCRIMINATOR
    )
    # the `initialized` byte of each of the 88 ticks, in one slice
    flags = data[12 : 12 + TICK_ARRAY_SIZE * TICK_LEN : TICK_LEN]
    offsets = tuple(i for i, f in enumerate(flags) if f)
    nets = tuple(
        int.from_bytes(data[13 + i * TICK_LEN : 29 + i * TICK_LEN], "little", signed=True)
        for i in offsets
    )
    return TickArrayState(i32(data, 8), offsets, nets), Pubkey.from_bytes(data[9956:9988])


@dataclass(frozen=True, slots=True)
class AdaptiveFeeConstants:
    """Set by the pool's fee authority; shape the volatility fee."""

    filter_period: int
    decay_period: int
    reduction_factor: int
    adaptive_fee_control_factor: int
    max_volatility_accumulator: int
    tick_group_size: int
    major_swap_threshold_ticks: int


@dataclass(frozen=True, slots=True)
class AdaptiveFeeVariables:
    """Written back by every swap; a quote works on a copy."""

    last_reference_update_timestamp: int
    last_major_swap_timestamp: int
    volatility_reference: int
    tick_group_index_reference: int
    volatility_accumulator: int


@dataclass(frozen=True, slots=True)
class Oracle:
    """The adaptive-fee Oracle account of a pool."""

    whirlpool: Pubkey
    trade_enable_timestamp: int
    constants: AdaptiveFeeConstants
    variables: AdaptiveFeeVariables


def decode_oracle(data: bytes, tick_spacing: int) -> Oracle:
    """Decode Oracle account data; its constants must be ones the program accepts for a
    pool of ``tick_spacing`` (the fee math divides by the tick group size)."""
    check_data(data, "Oracle", size=ORACLE_LEN, discriminator=ORACLE_DISCRIMINATOR)
    constants = AdaptiveFeeConstants(
        filter_period=u16(data, 48),
        decay_period=u16(data, 50),
        reduction_factor=u16(data, 52),
        adaptive_fee_control_factor=u32(data, 54),
        max_volatility_accumulator=u32(data, 58),
        tick_group_size=u16(data, 62),
        major_swap_threshold_ticks=u16(data, 64),
    )
    problem = _oracle_constants_problem(constants, tick_spacing)
    if problem:
        raise DecodeError(f"Oracle: {problem}")
    return Oracle(
        whirlpool=Pubkey.from_bytes(data[8:40]),
        trade_enable_timestamp=u64(data, 40),
        constants=constants,
        variables=AdaptiveFeeVariables(
            last_reference_update_timestamp=u64(data, 82),
            last_major_swap_timestamp=u64(data, 90),
            volatility_reference=u32(data, 98),
            tick_group_index_reference=i32(data, 102),
            volatility_accumulator=u32(data, 106),
        ),
    )


def _oracle_constants_problem(c: AdaptiveFeeConstants, tick_spacing: int) -> str:
    """What ``Oracle::validate_constants`` would reject, or an empty string."""
    if c.filter_period == 0:
        return "filter_period is 0"
    if c.decay_period <= c.filter_period:
        return f"decay_period {c.decay_period} is not above filter_period {c.filter_period}"
    if c.adaptive_fee_control_factor >= ADAPTIVE_FEE_CONTROL_FACTOR_DENOMINATOR:
        return f"adaptive_fee_control_factor {c.adaptive_fee_control_factor} too large"
    if c.max_volatility_accumulator * c.tick_group_size > _U32_MAX:
        return "max_volatility_accumulator * tick_group_size overflows u32"
    if c.reduction_factor >= REDUCTION_FACTOR_DENOMINATOR:
        return f"reduction_factor {c.reduction_factor} too large"
    if (
        c.tick_group_size == 0
        or c.tick_group_size > tick_spacing
        or tick_spacing % c.tick_group_size
    ):
        return f"tick_group_size {c.tick_group_size} does not divide tick spacing {tick_spacing}"
    if not 0 < c.major_swap_threshold_ticks <= tick_spacing * TICK_ARRAY_SIZE:
        return f"major_swap_threshold_ticks {c.major_swap_threshold_ticks} out of range"
    return ""
