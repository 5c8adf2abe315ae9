"""A bundle checked before it is sent, and its id.

The block engine drops a bundle silently when it pays no tip, and refuses
one that is too long or not fully signed; checking here turns each of those
into a clear error before a request is spent on it (the default rate limit
is one request per second per region).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from lstarb_sdk.errors import SubmissionError
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID

MAX_BUNDLE_SIZE = 5
#: Solana's PACKET_DATA_SIZE: no transaction may be larger on the wire.
MAX_TRANSACTION_SIZE = 1232
_TRANSFER = (2).to_bytes(4, "little")
_UNSIGNED = Signature.default()


def bundle_id(signatures: Sequence[Signature]) -> str:
    """Jito's bundle id: SHA-256 of the first signatures in base58, joined by commas."""
    return hashlib.sha256(",".join(str(s) for s in signatures).encode()).hexdigest()


def tip_paid(tx: VersionedTransaction, tip_accounts: Collection[Pubkey]) -> int:
    """Lamports ``tx`` moves to tip accounts by top-level System transfers.

    Only static account keys count: a tip account reached through a lookup
    table is invisible here, and Jito asks never to do that anyway.
    """
    message = tx.message
    keys = message.account_keys
    total = 0
    for ix in message.instructions:
        data = bytes(ix.data)
        if len(data) != 12 or data[:4] != _TRANSFER:
            continue
        if ix.program_id_index >= len(keys) or keys[ix.program_id_index] != SYSTEM_PROGRAM_ID:
            continue
        accounts = bytes(ix.accounts)
        if len(accounts) == 2 and accounts[1] < len(keys) and keys[accounts[1]] in tip_accounts:
            total += int.from_bytes(data[4:12], "little")
    return total


@dataclass(frozen=True, slots=True)
class Bundle:
    """Transactions ready for sendBundle: base64 wire bytes, the id, the tip."""

    encoded: list[str]
    id: str
    first_signature: str
    tip_lamports: int


def prepare_bundle(
    transactions: Sequence[VersionedTransaction],
    *,
    tip_accounts: Collection[Pubkey],
    min_tip_lamports: int,
    require_tip: bool = True,
) -> Bundle:
    """Encode and check a bundle; raises :class:`SubmissionError` naming what is wrong."""
    if not 1 <= len(transactions) <= MAX_BUNDLE_SIZE:
        raise SubmissionError(
            f"jito: a bundle holds 1..{MAX_BUNDLE_SIZE} transactions, got {len(transactions)}"
        )
    encoded, firsts, tip = [], [], 0
    for i, tx in enumerate(transactions):
        wire = bytes(tx)
        if len(wire) > MAX_TRANSACTION_SIZE:
            raise SubmissionError(
                f"jito: transaction {i} is {len(wire)} bytes, "
                f"over the {MAX_TRANSACTION_SIZE}-byte limit"
            )
        sigs = tx.signatures
        needed = tx.message.header.num_required_signatures
        if len(sigs) != needed or not sigs or any(s == _UNSIGNED for s in sigs):
            raise SubmissionError(
                f"jito: transaction {i} is not fully signed ({needed} signatures required)"
            )
        encoded.append(base64.b64encode(wire).decode())
        firsts.append(sigs[0])
        tip += tip_paid(tx, tip_accounts)
    if require_tip and tip < min_tip_lamports:
        raise SubmissionError(
            f"jito: the bundle tips {tip} lamports to the tip accounts, below the minimum "
            f"{min_tip_lamports} (a System transfer to one of getTipAccounts' accounts, static key)"
        )
    return Bundle(encoded, bundle_id(firsts), str(firsts[0]), tip)
