"""Solana facts every plugin needs: well-known program ids, SPL token and
mint accounts, the Clock sysvar, associated token addresses.

Decoders read fixed offsets with ``int.from_bytes`` because that is the
fastest thing CPython does with bytes; each raises :class:`DecodeError` naming
the account kind and what was wrong. Token accounts and mints are checked the
way the token programs unpack them (length rules, ``COption`` tags, state),
because a quote built on bytes the program would refuse is a wrong quote.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import check_owner
from lstarb_sdk.layout import pubkey_at as pubkey_at
from lstarb_sdk.layout import u64 as u64

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
SYSVAR_CLOCK_ID = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SYSVAR_RENT_ID = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
SYSVAR_OWNER_ID = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
"""The owner of every sysvar account (the Clock's ``owner`` field)."""
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
WSOL_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")

TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
MULTISIG_LEN = 355
"""No Token-2022 account may have this length: it would read as a multisig."""
CLOCK_LEN = 40
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2

_COPTION_TAGS = (b"\x00\x00\x00\x00", b"\x01\x00\x00\x00")
_ZERO_PADDING = bytes(TOKEN_ACCOUNT_LEN - MINT_LEN)


def _check_token_layout(
    data: bytes, name: str, base_len: int, account_type: int, program: Pubkey | None
) -> None:
    """The token programs' length and account-type rules for a mint or token account.

    The Token program takes exactly the base layout; Token-2022 takes the base
    layout alone or, with extensions, at least 166 bytes with the account type
    byte at 165 (zero padding in between for a mint), never the multisig length.
    """
    n = len(data)
    if n == base_len:
        return
    if n < base_len:
        raise DecodeError(f"{name}: expected at least {base_len} bytes, got {n} (truncated)")
    if program == TOKEN_PROGRAM_ID:
        raise DecodeError(f"{name}: a Token program account is exactly {base_len} bytes, got {n}")
    if n == MULTISIG_LEN or n <= TOKEN_ACCOUNT_LEN:
        raise DecodeError(f"{name}: {n} bytes is not a valid Token-2022 layout")
    if base_len == MINT_LEN and data[MINT_LEN:TOKEN_ACCOUNT_LEN] != _ZERO_PADDING:
        raise DecodeError(f"{name}: Token-2022 padding after the mint is not zero")
    if data[TOKEN_ACCOUNT_LEN] != account_type:
        raise DecodeError(
            f"{name}: Token-2022 account type byte is {data[TOKEN_ACCOUNT_LEN]}, not {account_type}"
        )


def token_account_amount(
    data: bytes, *, name: str = "token account", program: Pubkey | None = None
) -> int:
    """The ``amount`` of a token account, after the token program's validity checks.

    Length and account type as :func:`_check_token_layout` says, the two
    ``COption`` tags well formed, and the state Initialized or Frozen (an
    uninitialized account holds nothing the program would move). ``program``
    (the account's owner) tightens the length rule for the Token program.
    """
    _check_token_layout(data, name, TOKEN_ACCOUNT_LEN, ACCOUNT_TYPE_ACCOUNT, program)
    state = data[108]
    if state != 1 and state != 2:
        raise DecodeError(f"{name}: account state {state} is not Initialized or Frozen")
    if data[72:76] not in _COPTION_TAGS or data[109:113] not in _COPTION_TAGS:
        raise DecodeError(f"{name}: malformed COption tag")
    if data[129:133] not in _COPTION_TAGS:
        raise DecodeError(f"{name}: malformed COption tag")
    return int.from_bytes(data[64:72], "little")


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """The fields of an SPL token account that swaps and quotes use."""

    mint: Pubkey
    owner: Pubkey
    amount: int

    @classmethod
    def decode(
        cls, data: bytes, *, name: str = "token account", program: Pubkey | None = None
    ) -> TokenAccount:
        amount = token_account_amount(data, name=name, program=program)
        return cls(pubkey_at(data, 0), pubkey_at(data, 32), amount)


def vault_amount(account: Account, name: str, mint: Pubkey | None = None) -> int:
    """A pool vault's balance: owner a token program, layout valid, and of ``mint``.

    The one call every adapter makes for each vault it follows.
    """
    check_owner(account, TOKEN_PROGRAMS, name)
    data = account.data
    amount = token_account_amount(data, name=name, program=account.owner)
    if mint is not None and data[:32] != bytes(mint):
        raise DecodeError(f"{name}: mint {Pubkey.from_bytes(data[:32])} is not {mint}")
    return amount


@dataclass(frozen=True, slots=True)
class Mint:
    """The fields of an SPL mint that quotes use."""

    supply: int
    decimals: int
    is_initialized: bool

    @classmethod
    def decode(cls, data: bytes, *, name: str = "mint", program: Pubkey | None = None) -> Mint:
        """The base mint, after the token programs' checks (``Mint::unpack``).

        Length as the owning program allows, both ``COption`` tags well
        formed and ``is_initialized`` set: the programs refuse anything else.
        Token-2022 extensions are read by :mod:`lstarb_sdk.token2022`.
        """
        _check_token_layout(data, name, MINT_LEN, ACCOUNT_TYPE_MINT, program)
        if data[0:4] not in _COPTION_TAGS or data[46:50] not in _COPTION_TAGS:
            raise DecodeError(f"{name}: malformed COption tag")
        if data[45] != 1:
            raise DecodeError(f"{name}: is_initialized byte is {data[45]}, not 1")
        return cls(u64(data, 36), data[44], True)


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

    @classmethod
    def from_account(cls, account: Account) -> Clock:
        """The Clock from its account: owned by the sysvar owner, 40 bytes.

        The last one decoded is kept and handed out again for the same bytes: every pool
        that reads the Clock decodes it on each new slot, in every book of the process
        (scanner, planner, executor), a dozen decodes of the same 40 bytes per slot.
        """
        global _last_clock
        check_owner(account, SYSVAR_OWNER_ID, f"Clock sysvar {SYSVAR_CLOCK_ID}")
        data = account.data
        last = _last_clock
        if last is not None and last[0] == data:
            return last[1]
        clock = cls.decode(data)
        _last_clock = (data, clock)
        return clock

    def encode(self) -> bytes:
        return (
            self.slot.to_bytes(8, "little")
            + self.epoch_start_timestamp.to_bytes(8, "little", signed=True)
            + self.epoch.to_bytes(8, "little")
            + self.leader_schedule_epoch.to_bytes(8, "little")
            + self.unix_timestamp.to_bytes(8, "little", signed=True)
        )


_last_clock: tuple[bytes, Clock] | None = None
"""The last Clock decoded by :meth:`Clock.from_account`, with its bytes."""


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
