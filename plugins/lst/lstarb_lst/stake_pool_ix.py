"""DepositSol / WithdrawSol instructions of the SPL stake-pool program (and its deployments).

Account order and flags follow ``program/src/instruction.rs`` (``deposit_sol*`` /
``withdraw_sol*``) and @solana/spl-stake-pool's ``StakePoolInstruction``. Data is
Borsh: the variant index byte, then u64 arguments. The slippage variants (25,
26) carry the trader's bound and are what swaps use; 14 and 16 are the plain ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_lst.constants import STAKE_PROGRAM_ID, SYSVAR_STAKE_HISTORY_ID
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, SYSVAR_CLOCK_ID

DEPOSIT_SOL = 14
WITHDRAW_SOL = 16
DEPOSIT_SOL_WITH_SLIPPAGE = 25
WITHDRAW_SOL_WITH_SLIPPAGE = 26


@dataclass(frozen=True, slots=True)
class PoolKeys:
    """The pool's side of both instructions (from the StakePool account and its PDA)."""

    program_id: Pubkey
    stake_pool: Pubkey
    withdraw_authority: Pubkey
    reserve_stake: Pubkey
    manager_fee_account: Pubkey
    pool_mint: Pubkey
    token_program: Pubkey


def withdraw_authority(program_id: Pubkey, stake_pool: Pubkey) -> Pubkey:
    """The pool's withdraw authority PDA: ``[stake_pool, "withdraw"]``."""
    return Pubkey.find_program_address([bytes(stake_pool), b"withdraw"], program_id)[0]


def _data(index: int, amount: int, minimum: int | None) -> bytes:
    data = bytes((index,)) + amount.to_bytes(8, "little")
    return data if minimum is None else data + minimum.to_bytes(8, "little")


def deposit_sol(
    keys: PoolKeys,
    *,
    funding: Pubkey,
    destination: Pubkey,
    referrer: Pubkey,
    lamports: int,
    minimum_pool_tokens_out: int | None = None,
    deposit_authority: Pubkey | None = None,
) -> Instruction:
    """DepositSol (14), or DepositSolWithSlippage (25) when a minimum is given."""
    metas = [
        AccountMeta(keys.stake_pool, False, True),
        AccountMeta(keys.withdraw_authority, False, False),
        AccountMeta(keys.reserve_stake, False, True),
        AccountMeta(funding, True, True),
        AccountMeta(destination, False, True),
        AccountMeta(keys.manager_fee_account, False, True),
        AccountMeta(referrer, False, True),
        AccountMeta(keys.pool_mint, False, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(keys.token_program, False, False),
    ]
    if deposit_authority is not None:
        metas.append(AccountMeta(deposit_authority, True, False))
    index = DEPOSIT_SOL if minimum_pool_tokens_out is None else DEPOSIT_SOL_WITH_SLIPPAGE
    return Instruction(keys.program_id, _data(index, lamports, minimum_pool_tokens_out), metas)


def withdraw_sol(
    keys: PoolKeys,
    *,
    transfer_authority: Pubkey,
    source: Pubkey,
    destination: Pubkey,
    pool_tokens: int,
    minimum_lamports_out: int | None = None,
    withdraw_authority_signer: Pubkey | None = None,
) -> Instruction:
    """WithdrawSol (16), or WithdrawSolWithSlippage (26) when a minimum is given."""
    metas = [
        AccountMeta(keys.stake_pool, False, True),
        AccountMeta(keys.withdraw_authority, False, False),
        AccountMeta(transfer_authority, True, False),
        AccountMeta(source, False, True),
        AccountMeta(keys.reserve_stake, False, True),
        AccountMeta(destination, False, True),
        AccountMeta(keys.manager_fee_account, False, True),
        AccountMeta(keys.pool_mint, False, True),
        AccountMeta(SYSVAR_CLOCK_ID, False, False),
        AccountMeta(SYSVAR_STAKE_HISTORY_ID, False, False),
        AccountMeta(STAKE_PROGRAM_ID, False, False),
        AccountMeta(keys.token_program, False, False),
    ]
    if withdraw_authority_signer is not None:
        metas.append(AccountMeta(withdraw_authority_signer, True, False))
    index = WITHDRAW_SOL if minimum_lamports_out is None else WITHDRAW_SOL_WITH_SLIPPAGE
    return Instruction(keys.program_id, _data(index, pool_tokens, minimum_lamports_out), metas)
