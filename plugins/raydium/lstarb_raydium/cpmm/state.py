"""CPMM ``PoolState`` and ``AmmConfig``, read at fixed offsets.

Both are Anchor accounts (8-byte discriminator). The creator-fee fields of the
2025 program live in what the June 2025 IDL still calls padding (PoolState
bytes 389..413, AmmConfig bytes 108..124); the tests check them against the
padding words anchorpy returns.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.amounts import PPM_DENOMINATOR
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_data, pubkey_at, u16, u64
from lstarb_sdk.solana import TOKEN_PROGRAMS

POOL_STATE_DISCRIMINATOR = bytes.fromhex("f7ede3f5d7c3de46")
AMM_CONFIG_DISCRIMINATOR = bytes.fromhex("daf42168cbcb2b6f")
POOL_STATE_LEN = 637
AMM_CONFIG_LEN = 236
STATUS_SWAP_DISABLED_BIT = 1 << 2
CREATOR_FEE_ON_BOTH = 0
CREATOR_FEE_ON_TOKEN_0 = 1
CREATOR_FEE_ON_TOKEN_1 = 2


# auth_bump..mint_1_decimals @328, lp_supply..recent_epoch @333, creator_fee_on,
# enable_creator_fee @389, creator_fees_token_0/1 @397 (packed, no alignment).
_POOL_TAIL = struct.Struct("<5B7QBB6xQQ")


def _check(data: bytes, what: str, length: int, disc: bytes) -> bytes:
    if len(data) != length or data[:8] != disc:
        check_data(data, f"raydium cpmm {what}", size=length, discriminator=disc)  # raises
    return bytes(data)


@dataclass(frozen=True, slots=True)
class PoolState:
    """The PoolState fields quotes and instructions use."""

    amm_config: Pubkey
    pool_creator: Pubkey
    token_0_vault: Pubkey
    token_1_vault: Pubkey
    lp_mint: Pubkey
    token_0_mint: Pubkey
    token_1_mint: Pubkey
    token_0_program: Pubkey
    token_1_program: Pubkey
    observation_key: Pubkey
    auth_bump: int
    status: int
    lp_mint_decimals: int
    mint_0_decimals: int
    mint_1_decimals: int
    lp_supply: int
    protocol_fees_token_0: int
    protocol_fees_token_1: int
    fund_fees_token_0: int
    fund_fees_token_1: int
    open_time: int
    recent_epoch: int
    creator_fee_on: int
    enable_creator_fee: bool
    creator_fees_token_0: int
    creator_fees_token_1: int

    @classmethod
    def decode(cls, data: bytes) -> PoolState:
        d = _check(data, "PoolState", POOL_STATE_LEN, POOL_STATE_DISCRIMINATOR)
        t = _POOL_TAIL.unpack_from(d, 328)
        state = cls(
            amm_config=pubkey_at(d, 8),
            pool_creator=pubkey_at(d, 40),
            token_0_vault=pubkey_at(d, 72),
            token_1_vault=pubkey_at(d, 104),
            lp_mint=pubkey_at(d, 136),
            token_0_mint=pubkey_at(d, 168),
            token_1_mint=pubkey_at(d, 200),
            token_0_program=pubkey_at(d, 232),
            token_1_program=pubkey_at(d, 264),
            observation_key=pubkey_at(d, 296),
            auth_bump=t[0],
            status=t[1],
            lp_mint_decimals=t[2],
            mint_0_decimals=t[3],
            mint_1_decimals=t[4],
            lp_supply=t[5],
            protocol_fees_token_0=t[6],
            protocol_fees_token_1=t[7],
            fund_fees_token_0=t[8],
            fund_fees_token_1=t[9],
            open_time=t[10],
            recent_epoch=t[11],
            creator_fee_on=t[12],
            enable_creator_fee=t[13] != 0,
            creator_fees_token_0=t[14],
            creator_fees_token_1=t[15],
        )
        if state.creator_fee_on > CREATOR_FEE_ON_TOKEN_1:
            raise DecodeError(
                f"raydium cpmm PoolState: creator_fee_on {state.creator_fee_on} is not 0, 1 or 2"
            )
        return state

    def validate_keys(self) -> None:
        """What ``initialize`` guarantees of a pool's addresses (they never change after)."""
        where = "raydium cpmm PoolState"
        if self.token_0_mint == self.token_1_mint or self.token_0_vault == self.token_1_vault:
            raise DecodeError(f"{where}: both sides name the same mint or vault")
        for program in (self.token_0_program, self.token_1_program):
            if program not in TOKEN_PROGRAMS:
                raise DecodeError(f"{where}: token program {program} is not a token program")

    @property
    def swap_disabled(self) -> bool:
        return bool(self.status & STATUS_SWAP_DISABLED_BIT)

    def keys(self) -> tuple[Pubkey, ...]:
        """The addresses ``initialize`` fixes for the pool's life: a refresh may not change them."""
        return (
            self.amm_config,
            self.token_0_vault,
            self.token_1_vault,
            self.lp_mint,
            self.token_0_mint,
            self.token_1_mint,
            self.token_0_program,
            self.token_1_program,
            self.observation_key,
        )

    def creator_fee_on_input(self, zero_for_one: bool) -> bool:
        """The program's ``is_creator_fee_on_input`` for a swap direction."""
        on = self.creator_fee_on
        return (
            on == CREATOR_FEE_ON_BOTH
            or (on == CREATOR_FEE_ON_TOKEN_0 and zero_for_one)
            or (on == CREATOR_FEE_ON_TOKEN_1 and not zero_for_one)
        )


@dataclass(frozen=True, slots=True)
class AmmConfig:
    """AmmConfig: the fee rates, all in parts per 1_000_000."""

    bump: int
    disable_create_pool: bool
    index: int
    trade_fee_rate: int
    protocol_fee_rate: int
    fund_fee_rate: int
    create_pool_fee: int
    protocol_owner: Pubkey
    fund_owner: Pubkey
    creator_fee_rate: int
    creator_fee_share_rate: int

    @classmethod
    def decode(cls, data: bytes) -> AmmConfig:
        d = _check(data, "AmmConfig", AMM_CONFIG_LEN, AMM_CONFIG_DISCRIMINATOR)
        config = cls(
            bump=d[8],
            disable_create_pool=d[9] != 0,
            index=u16(d, 10),
            trade_fee_rate=u64(d, 12),
            protocol_fee_rate=u64(d, 20),
            fund_fee_rate=u64(d, 28),
            create_pool_fee=u64(d, 36),
            protocol_owner=pubkey_at(d, 44),
            fund_owner=pubkey_at(d, 76),
            creator_fee_rate=u64(d, 108),
            creator_fee_share_rate=u64(d, 116),
        )
        # The bounds ``create_amm_config`` / ``update_amm_config`` assert.
        if not (
            config.trade_fee_rate < PPM_DENOMINATOR
            and config.creator_fee_rate < PPM_DENOMINATOR
            and config.protocol_fee_rate + config.fund_fee_rate <= PPM_DENOMINATOR
        ):
            raise DecodeError(
                f"raydium cpmm AmmConfig: fee rates out of bounds (trade {config.trade_fee_rate}, "
                f"creator {config.creator_fee_rate}, protocol {config.protocol_fee_rate}, "
                f"fund {config.fund_fee_rate} per million)"
            )
        return config
