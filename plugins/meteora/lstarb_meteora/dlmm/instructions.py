"""Swap instructions: ``swap2`` for exact-in, ``swap_exact_out2`` for exact-out.

The ``2`` variants are what the current program and SDK use: they take the
memo program (Token-2022 transfers with required memos) and a
``remaining_accounts_info`` that says how many transfer-hook accounts precede
the bin arrays in the remaining accounts.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.bitmap import EVENT_AUTHORITY
from lstarb_meteora.dlmm.constants import (
    PROGRAM_ID,
    SWAP2_DISCRIMINATOR,
    SWAP_EXACT_OUT2_DISCRIMINATOR,
)
from lstarb_sdk.solana import MEMO_PROGRAM_ID

# AccountsType enum variants of RemainingAccountsSlice.
TRANSFER_HOOK_X = 0
TRANSFER_HOOK_Y = 1


def remaining_accounts_info(hook_x: int = 0, hook_y: int = 0) -> bytes:
    """Borsh ``RemainingAccountsInfo``: the SDK always sends both hook slices."""
    slices = [(TRANSFER_HOOK_X, hook_x), (TRANSFER_HOOK_Y, hook_y)]
    out = bytearray(len(slices).to_bytes(4, "little"))
    for kind, length in slices:
        out += bytes((kind, length))
    return bytes(out)


def swap_accounts(
    *,
    lb_pair: Pubkey,
    bitmap_extension: Pubkey | None,
    reserve_x: Pubkey,
    reserve_y: Pubkey,
    user_token_in: Pubkey,
    user_token_out: Pubkey,
    token_x_mint: Pubkey,
    token_y_mint: Pubkey,
    oracle: Pubkey,
    user: Pubkey,
    token_x_program: Pubkey,
    token_y_program: Pubkey,
    bin_arrays: Sequence[Pubkey],
) -> list[AccountMeta]:
    """Account metas in the IDL's order, then the bin arrays (writable).

    Absent optional accounts (the extension, the host fee account) are the
    program id, read-only, as Anchor expects.
    """
    absent = AccountMeta(PROGRAM_ID, False, False)
    metas = [
        AccountMeta(lb_pair, False, True),
        AccountMeta(bitmap_extension, False, True) if bitmap_extension else absent,
        AccountMeta(reserve_x, False, True),
        AccountMeta(reserve_y, False, True),
        AccountMeta(user_token_in, False, True),
        AccountMeta(user_token_out, False, True),
        AccountMeta(token_x_mint, False, False),
        AccountMeta(token_y_mint, False, False),
        AccountMeta(oracle, False, True),
        absent,  # host_fee_in
        AccountMeta(user, True, False),
        AccountMeta(token_x_program, False, False),
        AccountMeta(token_y_program, False, False),
        AccountMeta(MEMO_PROGRAM_ID, False, False),
        AccountMeta(EVENT_AUTHORITY, False, False),
        AccountMeta(PROGRAM_ID, False, False),
    ]
    metas.extend(AccountMeta(k, False, True) for k in bin_arrays)
    return metas


def swap2(amount_in: int, min_amount_out: int, accounts: list[AccountMeta]) -> Instruction:
    """``swap2(amount_in, min_amount_out, remaining_accounts_info)``."""
    data = (
        SWAP2_DISCRIMINATOR
        + amount_in.to_bytes(8, "little")
        + min_amount_out.to_bytes(8, "little")
        + remaining_accounts_info()
    )
    return Instruction(PROGRAM_ID, data, accounts)


def swap_exact_out2(
    max_in_amount: int, out_amount: int, accounts: list[AccountMeta]
) -> Instruction:
    """``swap_exact_out2(max_in_amount, out_amount, remaining_accounts_info)``."""
    data = (
        SWAP_EXACT_OUT2_DISCRIMINATOR
        + max_in_amount.to_bytes(8, "little")
        + out_amount.to_bytes(8, "little")
        + remaining_accounts_info()
    )
    return Instruction(PROGRAM_ID, data, accounts)
