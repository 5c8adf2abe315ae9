"""The envelope's instructions: compute budget, token accounts, wrapping SOL, the fee.

Why written out here: they are a few bytes each (the programs' documented layouts), and the
builder calls them on the hot path, where a general-purpose client library costs more than
the bytes. Each is proven on ``solders.litesvm`` (tests/executor/test_envelope_litesvm.py).
"""

from __future__ import annotations

from typing import Final

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from lstarb_sdk.solana import ASSOCIATED_TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID

__all__ = [
    "BASE_FEE_LAMPORTS",
    "DEFAULT_UNITS_PER_INSTRUCTION",
    "MAX_COMPUTE_UNITS",
    "close_account",
    "create_ata_idempotent",
    "priority_fee",
    "set_compute_unit_limit",
    "set_compute_unit_price",
    "sync_native",
    "transfer_lamports",
]

BASE_FEE_LAMPORTS: Final = 5_000
"""Per signature."""
MAX_COMPUTE_UNITS: Final = 1_400_000
DEFAULT_UNITS_PER_INSTRUCTION: Final = 200_000
"""What a transaction without SetComputeUnitLimit may use per instruction (capped at the max)."""

_CREATE_IDEMPOTENT: Final = bytes([1])  # the ATA program's CreateIdempotent
_SYNC_NATIVE: Final = bytes([17])  # SPL Token SyncNative
_CLOSE_ACCOUNT: Final = bytes([9])  # SPL Token CloseAccount


def create_ata_idempotent(
    payer: Pubkey, ata: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey
) -> Instruction:
    """Create ``owner``'s associated token account of ``mint`` unless it exists (then a no-op)."""
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        _CREATE_IDEMPOTENT,
        [
            AccountMeta(payer, True, True),
            AccountMeta(ata, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(token_program, False, False),
        ],
    )


def sync_native(account: Pubkey, token_program: Pubkey) -> Instruction:
    """Make a wSOL account's token amount equal its lamports above rent (after a transfer)."""
    return Instruction(token_program, _SYNC_NATIVE, [AccountMeta(account, False, True)])


def close_account(
    account: Pubkey, destination: Pubkey, owner: Pubkey, token_program: Pubkey
) -> Instruction:
    """Close a token account; for wSOL every lamport (the wrapped SOL and the rent) goes to
    ``destination``: the unwrap."""
    return Instruction(
        token_program,
        _CLOSE_ACCOUNT,
        [
            AccountMeta(account, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def transfer_lamports(source: Pubkey, destination: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=source, to_pubkey=destination, lamports=lamports))


def priority_fee(compute_unit_limit: int, compute_unit_price: int, instructions: int) -> int:
    """Lamports the priority fee costs: the price is charged on the requested limit (or, with
    no limit set, on the default of 200,000 units per instruction, at most 1.4 M)."""
    if not compute_unit_price:
        return 0
    units = compute_unit_limit or min(
        MAX_COMPUTE_UNITS, DEFAULT_UNITS_PER_INSTRUCTION * instructions
    )
    return -(-units * compute_unit_price // 1_000_000)
