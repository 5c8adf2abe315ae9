"""The ``swap_v2`` instruction of the Whirlpool program.

``swap_v2`` names both token programs and mints, so it serves SPL Token and
Token-2022 mints alike; its oracle is writable, which adaptive-fee pools
need; and its remaining accounts carry up to three supplemental tick arrays,
which the legacy ``swap`` cannot. The data is the Anchor discriminator and
the Borsh-encoded arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_orca.state import WHIRLPOOL_PROGRAM_ID
from lstarb_sdk.solana import MEMO_PROGRAM_ID

SWAP_V2_DISCRIMINATOR = bytes.fromhex("2b04ed0b1ac91e62")
ACCOUNTS_TYPE_SUPPLEMENTAL_TICK_ARRAYS = 6
"""``AccountsType::SupplementalTickArrays`` in ``remaining_accounts_info``."""


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
    supplemental_tick_arrays: tuple[Pubkey, ...] = ()


def _remaining_accounts_info(supplemental: int) -> bytes:
    """Borsh ``Option<RemainingAccountsInfo>``: None, or one supplemental-array slice."""
    if not supplemental:
        return b"\x00"
    return (
        b"\x01"
        + (1).to_bytes(4, "little")
        + bytes((ACCOUNTS_TYPE_SUPPLEMENTAL_TICK_ARRAYS, supplemental))
    )


def swap_v2_ix(
    acc: SwapAccounts,
    amount: int,
    other_amount_threshold: int,
    sqrt_price_limit: int,
    amount_specified_is_input: bool,
    a_to_b: bool,
) -> Instruction:
    """``swap_v2``; supplemental tick arrays follow as writable remaining accounts."""
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
        *(AccountMeta(t, False, True) for t in acc.supplemental_tick_arrays),
    ]
    data = (
        SWAP_V2_DISCRIMINATOR
        + amount.to_bytes(8, "little")
        + other_amount_threshold.to_bytes(8, "little")
        + sqrt_price_limit.to_bytes(16, "little")
        + bytes((int(amount_specified_is_input), int(a_to_b)))
        + _remaining_accounts_info(len(acc.supplemental_tick_arrays))
    )
    return Instruction(WHIRLPOOL_PROGRAM_ID, data, metas)
