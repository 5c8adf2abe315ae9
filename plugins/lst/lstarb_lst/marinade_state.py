"""Decoder of Marinade's ``State`` account (Anchor, 2616 bytes allocated).

Fixed offsets up to ``max_stake_moved_per_epoch`` (byte 638, discriminator
included); then ``delinquent_upgrader``, a Borsh enum of 1, 13 or 21 bytes,
and after it ``deposit_sol_fee`` (bp cents). Accounts written before that
field existed read it as zero, as the program's own reader does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import pubkey_at, u32, u64

STATE_DISCRIMINATOR = bytes.fromhex("d8926b5e684bb6b1")
STATE_MIN_LEN = 639
#: Bytes of each DelinquentUpgraderState variant (tag included): IteratingStakes,
#: IteratingValidators, Done.
_UPGRADER_LEN = (21, 13, 1)
_LIQ_POOL = struct.Struct("<32sBBB32sQIII")  # lp_mint .. treasury_cut, at 385
_TOTALS = struct.Struct(
    "<QQQQQQQQQQ"
)  # available_reserve_balance .. emergency_cooling_down, at 496


@dataclass(frozen=True, slots=True)
class MarinadeState:
    """The fields deposits, liquid unstakes and fair value read."""

    msol_mint: Pubkey
    treasury_msol_account: Pubkey
    reserve_bump_seed: int
    msol_mint_authority_bump_seed: int
    rent_exempt_for_token_acc: int
    delayed_unstake_cooling_down: int
    total_active_balance: int
    sol_leg_bump_seed: int
    msol_leg_authority_bump_seed: int
    msol_leg: Pubkey
    lp_liquidity_target: int
    lp_max_fee_bps: int
    lp_min_fee_bps: int
    treasury_cut_bps: int
    available_reserve_balance: int
    msol_supply: int
    circulating_ticket_balance: int
    min_deposit: int
    min_withdraw: int
    staking_sol_cap: int
    emergency_cooling_down: int
    paused: bool
    deposit_sol_fee_bp_cents: int

    @property
    def total_lamports_under_control(self) -> int:
        return (
            self.total_active_balance
            + self.delayed_unstake_cooling_down
            + self.emergency_cooling_down
            + self.available_reserve_balance
        )

    @property
    def total_virtual_staked_lamports(self) -> int:
        return max(self.total_lamports_under_control - self.circulating_ticket_balance, 0)


def decode_marinade_state(data: bytes) -> MarinadeState:
    """Decode the State account; DecodeError names what is wrong."""
    if len(data) < STATE_MIN_LEN:
        raise DecodeError(f"Marinade State: {len(data)} bytes, at least {STATE_MIN_LEN} expected")
    if data[:8] != STATE_DISCRIMINATOR:
        raise DecodeError(f"Marinade State: wrong discriminator {data[:8].hex()}")
    tag = data[638]
    if tag >= len(_UPGRADER_LEN):
        raise DecodeError(f"Marinade State: delinquent_upgrader has variant {tag}, not 0..2")
    fee_at = 638 + _UPGRADER_LEN[tag]
    deposit_fee = u32(data, fee_at) if len(data) >= fee_at + 4 else 0
    if deposit_fee > 1_000_000:
        raise DecodeError(f"Marinade State: deposit_sol_fee {deposit_fee} bp cents is above 100%")
    (_lp_mint, _lp_bump, sol_bump, msol_auth_bump, msol_leg, target, max_fee, min_fee, cut) = (
        _LIQ_POOL.unpack_from(data, 385)
    )
    (reserve, supply, _price, _tickets, ticket_balance, _lent, min_dep, min_wd, cap, emergency) = (
        _TOTALS.unpack_from(data, 496)
    )
    return MarinadeState(
        msol_mint=pubkey_at(data, 8),
        treasury_msol_account=pubkey_at(data, 104),
        reserve_bump_seed=data[136],
        msol_mint_authority_bump_seed=data[137],
        rent_exempt_for_token_acc=u64(data, 138),
        delayed_unstake_cooling_down=u64(data, 226),
        total_active_balance=u64(data, 376),
        sol_leg_bump_seed=sol_bump,
        msol_leg_authority_bump_seed=msol_auth_bump,
        msol_leg=Pubkey.from_bytes(msol_leg),
        lp_liquidity_target=target,
        lp_max_fee_bps=max_fee,
        lp_min_fee_bps=min_fee,
        treasury_cut_bps=cut,
        available_reserve_balance=reserve,
        msol_supply=supply,
        circulating_ticket_balance=ticket_balance,
        min_deposit=min_dep,
        min_withdraw=min_wd,
        staking_sol_cap=cap,
        emergency_cooling_down=emergency,
        paused=data[608] != 0,
        deposit_sol_fee_bp_cents=deposit_fee,
    )
