"""The ``swap`` and ``swap_v2`` instructions of the Whirlpool program.

``swap`` is the legacy form (SPL Token only, oracle read-only); ``swap_v2``
names both token programs and mints, so it also serves Token-2022 mints, and
its oracle is writable, which adaptive-fee pools need. The data is the Anchor
discriminator and the Borsh-encoded arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_orca.state import WHIRLPOOL_PROGRAM_ID
from lstarb_sdk.solana import MEMO_PROGRAM_ID, TOKEN_PROGRAM_ID

SWAP_DISCRIMINATOR = bytes.fromhex("f8c69e91e17587c8")
SWAP_V2_DISCRIMINATOR = bytes.fromhex("2b04ed0b1ac91e62")


@dataclass(frozen=True, slots=True)
class SwapAccounts:
    """Every account a Whirlpool swap names, token accounts always in A, B order."""

    token_authority: Pubkey
    whirlpool: Pubkey
    token_mint_a: Pubkey
    token_mint_b: Pubkey
    token_program_a: Pubkey
    token_program_b: Pubkey
    token_owner_account_a: Pubkey
    token_vault_a: Pubkey
    token_owner_account_b: Pubkey
    token_vault_b: Pubkey
    tick_arrays: tuple[Pubkey, Pubkey, Pubkey]
    oracle: Pubkey


def _args(
    amount: int,
    other_amount_threshold: int,
    sqrt_price_limit: int,
    amount_specified_is_input: bool,
    a_to_b: bool,
) -> bytes:
    return (
        amount.to_bytes(8, "little")
        + other_amount_threshold.to_bytes(8, "little")
        + sqrt_price_limit.to_bytes(16, "little")
        + bytes((int(amount_specified_is_input), int(a_to_b)))
    )


def swap_ix(
    acc: SwapAccounts,
    amount: int,
    other_amount_threshold: int,
    sqrt_price_limit: int,
    amount_specified_is_input: bool,
    a_to_b: bool,
) -> Instruction:
    """The legacy ``swap`` (both mints owned by the SPL Token program)."""
    metas = [
        AccountMeta(TOKEN_PROGRAM_ID, False, False),
        AccountMeta(acc.token_authority, True, False),
        AccountMeta(acc.whirlpool, False, True),
        AccountMeta(acc.token_owner_account_a, False, True),
        AccountMeta(acc.token_vault_a, False, True),
        AccountMeta(acc.token_owner_account_b, False, True),
        AccountMeta(acc.token_vault_b, False, True),
        *(AccountMeta(t, False, True) for t in acc.tick_arrays),
        AccountMeta(acc.oracle, False, False),
    ]
    data = SWAP_DISCRIMINATOR + _args(
        amount, other_amount_threshold, sqrt_price_limit, amount_specified_is_input, a_to_b
    )
    return Instruction(WHIRLPOOL_PROGRAM_ID, data, metas)


def swap_v2_ix(
    acc: SwapAccounts,
    amount: int,
    other_amount_threshold: int,
    sqrt_price_limit: int,
    amount_specified_is_input: bool,
    a_to_b: bool,
) -> Instruction:
    """``swap_v2`` with no remaining accounts (no transfer hooks, no supplemental arrays)."""
    metas = [
        AccountMeta(acc.token_program_a, False, False),
        AccountMeta(acc.token_program_b, False, False),
        AccountMeta(MEMO_PROGRAM_ID, False, False),
        AccountMeta(acc.token_authority, True, False),
        AccountMeta(acc.whirlpool, False, True),
        AccountMeta(acc.token_mint_a, False, False),
        AccountMeta(acc.token_mint_b, False, False),
        AccountMeta(acc.token_owner_account_a, False, True),
        AccountMeta(acc.token_vault_a, False, True),
        AccountMeta(acc.token_owner_account_b, False, True),
        AccountMeta(acc.token_vault_b, False, True),
        *(AccountMeta(t, False, True) for t in acc.tick_arrays),
        AccountMeta(acc.oracle, False, True),
    ]
    data = (
        SWAP_V2_DISCRIMINATOR
        + _args(amount, other_amount_threshold, sqrt_price_limit, amount_specified_is_input, a_to_b)
        + b"\x00"  # remaining_accounts_info: None
    )
    return Instruction(WHIRLPOOL_PROGRAM_ID, data, metas)
