"""Marinade ``deposit`` and ``liquid_unstake`` instructions.

Account order, writable and signer flags follow the program's ``Deposit`` and
``LiquidUnstake`` account structs (and the IDL in @marinade.finance/marinade-ts-sdk);
data is the Anchor discriminator (sha256("global:<name>")[..8]) and a u64.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_lst.constants import MARINADE_PROGRAM_ID
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID


def _discriminator(name: str) -> bytes:
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


DEPOSIT_DISCRIMINATOR = _discriminator("deposit")
LIQUID_UNSTAKE_DISCRIMINATOR = _discriminator("liquid_unstake")


def _pda(state: Pubkey, seed: bytes) -> Pubkey:
    return Pubkey.find_program_address([bytes(state), seed], MARINADE_PROGRAM_ID)[0]


@dataclass(frozen=True, slots=True)
class MarinadeKeys:
    """The program's accounts for one State: derived once per adapter."""

    state: Pubkey
    msol_mint: Pubkey
    liq_pool_sol_leg: Pubkey
    liq_pool_msol_leg: Pubkey
    liq_pool_msol_leg_authority: Pubkey
    reserve: Pubkey
    msol_mint_authority: Pubkey
    treasury_msol_account: Pubkey

    @classmethod
    def derive(
        cls, state: Pubkey, msol_mint: Pubkey, msol_leg: Pubkey, treasury: Pubkey
    ) -> MarinadeKeys:
        return cls(
            state,
            msol_mint,
            _pda(state, b"liq_sol"),
            msol_leg,
            _pda(state, b"liq_st_sol_authority"),
            _pda(state, b"reserve"),
            _pda(state, b"st_mint"),
            treasury,
        )


def deposit(
    keys: MarinadeKeys, *, transfer_from: Pubkey, mint_to: Pubkey, lamports: int
) -> Instruction:
    """``deposit(lamports)``: SOL from ``transfer_from`` (signer), mSOL to ``mint_to``."""
    metas = [
        AccountMeta(keys.state, False, True),
        AccountMeta(keys.msol_mint, False, True),
        AccountMeta(keys.liq_pool_sol_leg, False, True),
        AccountMeta(keys.liq_pool_msol_leg, False, True),
        AccountMeta(keys.liq_pool_msol_leg_authority, False, False),
        AccountMeta(keys.reserve, False, True),
        AccountMeta(transfer_from, True, True),
        AccountMeta(mint_to, False, True),
        AccountMeta(keys.msol_mint_authority, False, False),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(TOKEN_PROGRAM_ID, False, False),
    ]
    data = DEPOSIT_DISCRIMINATOR + lamports.to_bytes(8, "little")
    return Instruction(MARINADE_PROGRAM_ID, data, metas)


def liquid_unstake(
    keys: MarinadeKeys,
    *,
    get_msol_from: Pubkey,
    authority: Pubkey,
    transfer_sol_to: Pubkey,
    msol: int,
) -> Instruction:
    """``liquid_unstake(msol_amount)``: mSOL from ``get_msol_from``, SOL to ``transfer_sol_to``."""
    metas = [
        AccountMeta(keys.state, False, True),
        AccountMeta(keys.msol_mint, False, True),
        AccountMeta(keys.liq_pool_sol_leg, False, True),
        AccountMeta(keys.liq_pool_msol_leg, False, True),
        AccountMeta(keys.treasury_msol_account, False, True),
        AccountMeta(get_msol_from, False, True),
        AccountMeta(authority, True, False),
        AccountMeta(transfer_sol_to, False, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(TOKEN_PROGRAM_ID, False, False),
    ]
    data = LIQUID_UNSTAKE_DISCRIMINATOR + msol.to_bytes(8, "little")
    return Instruction(MARINADE_PROGRAM_ID, data, metas)
