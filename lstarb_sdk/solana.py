"""Solana facts every plugin needs: well-known program ids, SPL token and
mint accounts, the Clock sysvar, associated token addresses.

Decoders read fixed offsets with ``int.from_bytes`` because that is the
fastest thing CPython does with bytes; each raises :class:`DecodeError` naming
the account kind and what was wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
SYSVAR_CLOCK_ID = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SYSVAR_RENT_ID = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
WSOL_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")

TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
CLOCK_LEN = 40


def u64(data: bytes, offset: int) -> int:
    """Little-endian unsigned 64-bit integer at ``offset``."""
    return int.from_bytes(data[offset : offset + 8], "little")


def pubkey_at(data: bytes, offset: int) -> Pubkey:
    """The 32-byte public key at ``offset``."""
    return Pubkey.from_bytes(data[offset : offset + 32])


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """The fields of an SPL token account that swaps and quotes use."""

    mint: Pubkey
    owner: Pubkey
    amount: int

    @classmethod
    def decode(cls, data: bytes, *, name: str = "token account") -> TokenAccount:
        if len(data) < TOKEN_ACCOUNT_LEN:
            raise DecodeError(
                f"{name}: expected at least {TOKEN_ACCOUNT_LEN} bytes, got {len(data)}"
            )
        if len(data) > TOKEN_ACCOUNT_LEN and data[TOKEN_ACCOUNT_LEN] != 2:
            raise DecodeError(f"{name}: Token-2022 account type byte is {data[165]}, not 2")
        return cls(pubkey_at(data, 0), pubkey_at(data, 32), u64(data, 64))


def token_account_amount(data: bytes, *, name: str = "token account") -> int:
    """The ``amount`` of a token account, without building an object."""
    if len(data) < TOKEN_ACCOUNT_LEN:
        raise DecodeError(f"{name}: expected at least {TOKEN_ACCOUNT_LEN} bytes, got {len(data)}")
    return int.from_bytes(data[64:72], "little")


@dataclass(frozen=True, slots=True)
class Mint:
    """The fields of an SPL mint that quotes use."""

    supply: int
    decimals: int
    is_initialized: bool

    @classmethod
    def decode(cls, data: bytes, *, name: str = "mint") -> Mint:
        if len(data) < MINT_LEN:
            raise DecodeError(f"{name}: expected at least {MINT_LEN} bytes, got {len(data)}")
        if len(data) > MINT_LEN and len(data) > TOKEN_ACCOUNT_LEN and data[165] != 1:
            raise DecodeError(f"{name}: Token-2022 account type byte is {data[165]}, not 1")
        return cls(u64(data, 36), data[44], data[45] == 1)


@dataclass(frozen=True, slots=True)
class Clock:
    """The Clock sysvar: fees that decay with time read ``unix_timestamp``."""

    slot: int
    epoch_start_timestamp: int
    epoch: int
    leader_schedule_epoch: int
    unix_timestamp: int

    @classmethod
    def decode(cls, data: bytes) -> Clock:
        if len(data) != CLOCK_LEN:
            raise DecodeError(f"Clock sysvar: expected {CLOCK_LEN} bytes, got {len(data)}")
        return cls(
            u64(data, 0),
            int.from_bytes(data[8:16], "little", signed=True),
            u64(data, 16),
            u64(data, 24),
            int.from_bytes(data[32:40], "little", signed=True),
        )

    def encode(self) -> bytes:
        return (
            self.slot.to_bytes(8, "little")
            + self.epoch_start_timestamp.to_bytes(8, "little", signed=True)
            + self.epoch.to_bytes(8, "little")
            + self.leader_schedule_epoch.to_bytes(8, "little")
            + self.unix_timestamp.to_bytes(8, "little", signed=True)
        )


def associated_token_address(
    owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """The associated token account of ``owner`` for ``mint``."""
    address, _bump = Pubkey.find_program_address(
        [bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )
    return address


def account_from_json(doc: Mapping[str, Any]) -> tuple[Pubkey, Account]:
    """An account from the JSON dump format lstarb records and replays
    (``pubkey``, ``owner``, ``lamports``, ``data_base64``, ...)."""
    account = Account(
        lamports=int(doc.get("lamports") or 0),
        data=base64.b64decode(doc["data_base64"], validate=True),
        owner=Pubkey.from_string(doc["owner"]),
        executable=bool(doc.get("executable", False)),
        rent_epoch=int(doc.get("rent_epoch") or 0),
    )
    return Pubkey.from_string(doc["pubkey"]), account
