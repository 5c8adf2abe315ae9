"""Decoders of the PumpSwap accounts a quote reads: Pool, GlobalConfig, FeeConfig.

Pool and GlobalConfig are Borsh structs with only fixed-size fields, so every
field sits at a fixed offset and one ``struct`` call reads the scalars. Both
structs grew by appending fields; accounts written before a field existed are
shorter and read the missing tail as zero, exactly as the SDK's ``padTrailing``
and the program's versioned readers do. FeeConfig (owned by the fee program)
holds Borsh vectors, so offsets after the first vector depend on its length,
and the account length decides which trailing parts exist (the SDK's
``versionedFeeConfigData``). The tests check every field against anchorpy's
IDL decoding on every fixture.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError

POOL_DISCRIMINATOR = bytes.fromhex("f19a6d0411b16dbc")
GLOBAL_CONFIG_DISCRIMINATOR = bytes.fromhex("95089ccaa0fcb0d9")
FEE_CONFIG_DISCRIMINATOR = bytes.fromhex("8f3492bbdb7b4c9b")

#: Current serialized sizes, discriminator included (SDK ``POOL_SIZE``, ``GLOBAL_CONFIG_SIZE``).
POOL_SIZE = 270
GLOBAL_CONFIG_SIZE = 949
#: Shortest accepted: a pool must reach ``lp_supply`` (the oldest layout), a
#: GlobalConfig ``coin_creator_fee_basis_points`` (the last fee rate it holds).
POOL_MIN_SIZE = 211
GLOBAL_CONFIG_MIN_SIZE = 321

#: FeeConfig layout versions by account length (SDK ``FEE_CONFIG_SIZE_*``).
FEE_CONFIG_SIZE_PRE_STABLE = 2512
FEE_CONFIG_SIZE_POST_STABLE = 4073
FEE_CONFIG_SIZE_POST_EXOTIC = 4097
FEE_TIERS_OFFSET = 8 + 1 + 32 + 24
#: Where a Pool account holds its mints (discovery filters compare them there).
BASE_MINT_OFFSET = 43
QUOTE_MINT_OFFSET = 75
FEE_TIER_SIZE = 40

DISABLE_BUY_BIT = 1 << 3
DISABLE_SELL_BIT = 1 << 4

_POOL = struct.Struct("<BH32s32s32s32s32s32sQ32s??16sQ?")  # from offset 8
_GLOBAL_HEAD = struct.Struct("<32sQQB")  # admin, lp, protocol, disable_flags @8
_GLOBAL_MID = struct.Struct("<Q32s32s32s?")  # coin creator fee .. mayhem_mode_enabled @313
_GLOBAL_TAIL = struct.Struct("<Q32s??Q")  # buyback bps .. max creator fee @899
_FEES = struct.Struct("<QQQ")
_TIER = struct.Struct("<QQQQQ")


def _check(data: bytes, name: str, discriminator: bytes, min_size: int) -> None:
    if len(data) < 8:
        raise DecodeError(f"pumpswap {name}: truncated, {len(data)} bytes (no discriminator)")
    if data[:8] != discriminator:
        raise DecodeError(
            f"pumpswap {name}: wrong discriminator {bytes(data[:8]).hex()}, "
            f"expected {discriminator.hex()}"
        )
    if len(data) < min_size:
        raise DecodeError(
            f"pumpswap {name}: truncated, {len(data)} bytes (at least {min_size} expected)"
        )


def _keys(raw: bytes, offset: int, count: int) -> tuple[Pubkey, ...]:
    return tuple(Pubkey.from_bytes(raw[o : o + 32]) for o in range(offset, offset + 32 * count, 32))


@dataclass(frozen=True, slots=True)
class Pool:
    """The pump_amm ``Pool`` account."""

    pool_bump: int
    index: int
    creator: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    lp_mint: Pubkey
    pool_base_token_account: Pubkey
    pool_quote_token_account: Pubkey
    lp_supply: int
    coin_creator: Pubkey
    is_mayhem_mode: bool
    is_cashback_coin: bool
    virtual_quote_reserves: int
    creator_fee_bps: int
    can_edit_creator_fee: bool
    key_bytes: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def decode(cls, data: bytes, previous: Pool | None = None) -> Pool:
        """Decode; ``previous`` (the same pool's last state) lends its unchanged keys.

        Building six Pubkeys is most of the decode time and a pool's keys
        never change, so a refresh with identical key bytes reuses them.
        """
        _check(data, "Pool", POOL_DISCRIMINATOR, POOL_MIN_SIZE)
        if len(data) < POOL_SIZE:
            data = bytes(data) + bytes(POOL_SIZE - len(data))
        (
            bump,
            index,
            creator,
            base_mint,
            quote_mint,
            lp_mint,
            base_vault,
            quote_vault,
            lp_supply,
            coin_creator,
            mayhem,
            cashback,
            virtual,
            creator_fee_bps,
            can_edit,
        ) = _POOL.unpack_from(data, 8)
        key_bytes = data[11:203]
        if previous is not None and previous.key_bytes == key_bytes:
            p = previous
            keys: tuple[Pubkey, ...] = (
                p.creator,
                p.base_mint,
                p.quote_mint,
                p.lp_mint,
                p.pool_base_token_account,
                p.pool_quote_token_account,
            )
            if bytes(p.coin_creator) == coin_creator:
                cc = p.coin_creator
            else:
                cc = Pubkey.from_bytes(coin_creator)
        else:
            keys = tuple(
                Pubkey.from_bytes(k)
                for k in (creator, base_mint, quote_mint, lp_mint, base_vault, quote_vault)
            )
            cc = Pubkey.from_bytes(coin_creator)
        return cls(
            bump,
            index,
            *keys,
            lp_supply,
            cc,
            mayhem,
            cashback,
            int.from_bytes(virtual, "little", signed=True),
            creator_fee_bps,
            can_edit,
            key_bytes,
        )


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    """The pump_amm ``GlobalConfig`` account (program-wide fee rates and recipients)."""

    admin: Pubkey
    lp_fee_basis_points: int
    protocol_fee_basis_points: int
    disable_flags: int
    coin_creator_fee_basis_points: int
    admin_set_coin_creator_authority: Pubkey
    whitelist_pda: Pubkey
    reserved_fee_recipient: Pubkey
    mayhem_mode_enabled: bool
    is_cashback_enabled: bool
    buyback_basis_points: int
    boost_authority: Pubkey
    boost_enabled: bool
    creator_fee_configurable: bool
    max_configurable_creator_fee_bps: int
    raw: bytes = field(repr=False, compare=False, default=b"")

    # The 23 recipient keys are read only when a swap instruction is built:
    # building them lazily keeps a decode under the 5 us budget.
    @property
    def protocol_fee_recipients(self) -> tuple[Pubkey, ...]:
        return _keys(self.raw, 57, 8)

    @property
    def reserved_fee_recipients(self) -> tuple[Pubkey, ...]:
        return _keys(self.raw, 418, 7)

    @property
    def buyback_fee_recipients(self) -> tuple[Pubkey, ...]:
        return _keys(self.raw, 643, 8)

    @property
    def buy_disabled(self) -> bool:
        return bool(self.disable_flags & DISABLE_BUY_BIT)

    @property
    def sell_disabled(self) -> bool:
        return bool(self.disable_flags & DISABLE_SELL_BIT)

    @classmethod
    def decode(cls, data: bytes) -> GlobalConfig:
        _check(data, "GlobalConfig", GLOBAL_CONFIG_DISCRIMINATOR, GLOBAL_CONFIG_MIN_SIZE)
        if len(data) < GLOBAL_CONFIG_SIZE:
            data = bytes(data) + bytes(GLOBAL_CONFIG_SIZE - len(data))
        admin, lp, protocol, flags = _GLOBAL_HEAD.unpack_from(data, 8)
        creator_bps, set_authority, whitelist, reserved, mayhem = _GLOBAL_MID.unpack_from(data, 313)
        buyback_bps, boost_authority, boost, configurable, max_creator = _GLOBAL_TAIL.unpack_from(
            data, 899
        )
        return cls(
            Pubkey.from_bytes(admin),
            lp,
            protocol,
            flags,
            creator_bps,
            Pubkey.from_bytes(set_authority),
            Pubkey.from_bytes(whitelist),
            Pubkey.from_bytes(reserved),
            mayhem,
            data[642] != 0,
            buyback_bps,
            Pubkey.from_bytes(boost_authority),
            boost,
            configurable,
            max_creator,
            bytes(data),
        )


@dataclass(frozen=True, slots=True)
class Fees:
    """Fee rates in basis points (the IDL's ``Fees``)."""

    lp_fee_bps: int
    protocol_fee_bps: int
    creator_fee_bps: int

    @property
    def is_zero(self) -> bool:
        """All-zero fees mark ``exotic_flat_fees`` as unset."""
        return not (self.lp_fee_bps or self.protocol_fee_bps or self.creator_fee_bps)


@dataclass(frozen=True, slots=True)
class FeeTier:
    """Fees in force from ``market_cap_lamports_threshold`` on."""

    market_cap_lamports_threshold: int
    fees: Fees


def _tier_span(data: bytes, offset: int) -> tuple[int, int]:
    """(first byte, end) of the ``Vec<FeeTier>`` whose u32 length sits at ``offset``."""
    if offset + 4 > len(data):
        raise DecodeError(
            f"pumpswap FeeConfig: truncated, tier vector length at {offset} "
            f"runs past {len(data)} bytes"
        )
    count = int.from_bytes(data[offset : offset + 4], "little")
    end = offset + 4 + count * FEE_TIER_SIZE
    if end > len(data):
        raise DecodeError(
            f"pumpswap FeeConfig: truncated, {count} tiers at {offset} run past {len(data)} bytes"
        )
    return offset + 4, end


def _parse_tiers(data: bytes, span: tuple[int, int]) -> tuple[FeeTier, ...]:
    return tuple(
        FeeTier(lo | hi << 64, Fees(lp, protocol, creator))
        for lo, hi, lp, protocol, creator in _TIER.iter_unpack(data[span[0] : span[1]])
    )


@dataclass(frozen=True, slots=True)
class FeeConfig:
    """The fee program's ``FeeConfig`` for pump_amm: flat fees and market-cap tiers.

    The two tier vectors (50 entries on mainnet) are checked at decode but
    built on first use and kept, so a refresh costs a few microseconds and
    the tiers are built once per FeeConfig version.
    """

    bump: int
    admin: Pubkey
    flat_fees: Fees
    exotic_flat_fees: Fees
    raw: bytes = field(repr=False, compare=False, default=b"")
    spans: tuple[tuple[int, int], tuple[int, int]] = field(repr=False, default=((0, 0), (0, 0)))
    _cache: dict[str, object] = field(repr=False, compare=False, default_factory=dict)

    @property
    def fee_tiers(self) -> tuple[FeeTier, ...]:
        return self._tiers("fee_tiers", 0)

    @property
    def stable_fee_tiers(self) -> tuple[FeeTier, ...]:
        return self._tiers("stable_fee_tiers", 1)

    def thresholds(self, stable: bool) -> list[int] | None:
        """Ascending thresholds of one tier list (None when unsorted), built once."""
        key = "stable_thresholds" if stable else "thresholds"
        if key not in self._cache:
            tiers = self.stable_fee_tiers if stable else self.fee_tiers
            values = [t.market_cap_lamports_threshold for t in tiers]
            self._cache[key] = values if values == sorted(values) else None
        return self._cache[key]  # type: ignore[return-value]

    def _tiers(self, key: str, which: int) -> tuple[FeeTier, ...]:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = _parse_tiers(self.raw, self.spans[which])
        return cached  # type: ignore[return-value]

    @classmethod
    def decode(cls, data: bytes) -> FeeConfig:
        """Decode the parts the account length says exist; the rest reads empty / zero."""
        _check(data, "FeeConfig", FEE_CONFIG_DISCRIMINATOR, FEE_CONFIG_SIZE_PRE_STABLE)
        flat = Fees(*_FEES.unpack_from(data, 41))
        tiers = _tier_span(data, FEE_TIERS_OFFSET)
        end = tiers[1]
        stable = (end, end)
        exotic = Fees(0, 0, 0)
        if len(data) >= FEE_CONFIG_SIZE_POST_STABLE:
            stable = _tier_span(data, end)
            end = stable[1]
        if len(data) >= FEE_CONFIG_SIZE_POST_EXOTIC:
            if end + _FEES.size > len(data):
                raise DecodeError(
                    f"pumpswap FeeConfig: truncated, exotic flat fees run past {len(data)} bytes"
                )
            exotic = Fees(*_FEES.unpack_from(data, end))
        return cls(
            data[8], Pubkey.from_bytes(data[9:41]), flat, exotic, bytes(data), (tiers, stable)
        )
