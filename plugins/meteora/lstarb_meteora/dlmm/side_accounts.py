"""The accounts a DLMM adapter reads beside the program's own: mints, reserves, Clock.

Each is checked for owner and size before a byte is read: a Token-2022 mint cut
short would drop its transfer fee from every quote, and a Clock from another
owner would move the variable fee.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.solana import (
    CLOCK_LEN,
    MINT_LEN,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_LEN,
    TOKEN_PROGRAMS,
    Clock,
    TokenAccount,
)
from lstarb_sdk.token2022 import TransferFeeConfig, mint_extensions, transfer_fee_config

SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
EXTENSION_TRANSFER_HOOK = 14
_IS_INITIALIZED = 45


@dataclass(frozen=True, slots=True)
class MintInfo:
    """What a swap needs to know about a Token-2022 mint of the pair."""

    transfer_fee: TransferFeeConfig | None
    transfer_hook: bool


def decode_mint(key: Pubkey, account: Account, token_program: Pubkey) -> MintInfo:
    """A mint owned by ``token_program`` (the pair's flag says which), extensions parsed."""
    name = f"mint {key}"
    if account.owner != token_program:
        raise DecodeError(f"{name}: owner is {account.owner}, the pair says {token_program}")
    data = bytes(account.data)
    size = len(data)
    # SPL Token mints are exactly 82 bytes; Token-2022 ones are 82 (no extensions) or
    # the 165-byte base, the account-type byte and TLV extensions.
    if size != MINT_LEN and (token_program != TOKEN_2022_PROGRAM_ID or size <= TOKEN_ACCOUNT_LEN):
        raise DecodeError(f"{name}: {size} bytes is not a mint of {token_program}")
    if data[_IS_INITIALIZED] != 1:
        raise DecodeError(f"{name}: not initialized")
    hook = mint_extensions(data, name=name).get(EXTENSION_TRANSFER_HOOK)
    return MintInfo(
        transfer_fee_config(data, name=name),
        # the token program calls the hook only when a program id is set
        hook is not None and any(hook[32:64]),
    )


def decode_clock(account: Account) -> Clock:
    """The Clock sysvar, only from the sysvar owner."""
    if account.owner != SYSVAR_OWNER:
        raise DecodeError(f"Clock sysvar: owner is {account.owner}, not {SYSVAR_OWNER}")
    data = bytes(account.data)
    if len(data) != CLOCK_LEN:
        raise DecodeError(f"Clock sysvar: {len(data)} bytes, expected {CLOCK_LEN}")
    return Clock.decode(data)


def decode_reserve(key: Pubkey, account: Account, mint: Pubkey) -> int:
    """A reserve's balance, once it is a token account of ``mint``."""
    name = f"reserve {key}"
    if account.owner not in TOKEN_PROGRAMS:
        raise DecodeError(f"{name}: owner is {account.owner}, not a token program")
    data = bytes(account.data)
    if len(data) != TOKEN_ACCOUNT_LEN and account.owner != TOKEN_2022_PROGRAM_ID:
        raise DecodeError(f"{name}: {len(data)} bytes, expected {TOKEN_ACCOUNT_LEN}")
    reserve = TokenAccount.decode(data, name=name)
    if reserve.mint != mint:
        raise DecodeError(f"{name}: holds mint {reserve.mint}, not {mint}")
    return reserve.amount
