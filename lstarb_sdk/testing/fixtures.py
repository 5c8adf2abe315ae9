"""Account fixtures for plugin tests: load dumps, build variants, build sysvars and mints.

Every DEX plugin's tests load real account dumps (the JSON format lstarb
records and replays), derive variants of them (one field changed, another
owner, a Token-2022 mint with a fee) and feed a Clock. These helpers do it
one way for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.solana import (
    MINT_LEN,
    SYSTEM_PROGRAM_ID,
    SYSVAR_OWNER_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ACCOUNT_LEN,
    Clock,
    account_from_json,
)

CLOCK_RENT_LAMPORTS = 1_169_280
"""The Clock sysvar account's lamports on mainnet (rent-exempt minimum for 40 bytes)."""


def load_account(path: str | Path) -> tuple[Pubkey, Account]:
    """Load one fixture JSON file."""
    return account_from_json(json.loads(Path(path).read_text()))


def load_accounts(paths: Iterable[str | Path]) -> dict[Pubkey, Account]:
    """Load fixture files into a mapping, as ``PoolAdapter.update`` takes it."""
    return dict(load_account(p) for p in paths)


def load_dir(directory: str | Path) -> dict[Pubkey, Account]:
    """Every ``*.json`` account in a directory (MANIFEST files are skipped)."""
    return load_accounts(
        p for p in sorted(Path(directory).glob("*.json")) if p.name != "MANIFEST.json"
    )


def load_named(directory: str | Path) -> dict[str, tuple[Pubkey, Account]]:
    """The accounts of a directory by file stem (``{"pool": (key, account), ...}``)."""
    return {
        p.stem: load_account(p)
        for p in sorted(Path(directory).glob("*.json"))
        if p.name != "MANIFEST.json"
    }


@cache
def _load_json_cached(path: Path) -> Any:
    return json.loads(path.read_text())


def load_json(path: str | Path) -> Any:
    """A JSON document (a MANIFEST, an oracle's expected numbers), parsed once per path."""
    return _load_json_cached(Path(path).resolve())


def with_data(account: Account, data: bytes, owner: Pubkey | None = None) -> Account:
    """``account`` with other data (and optionally another owner), everything else kept."""
    return Account(
        lamports=account.lamports,
        data=data,
        owner=account.owner if owner is None else owner,
        executable=account.executable,
        rent_epoch=account.rent_epoch,
    )


def patched(account: Account, offset: int, raw: bytes) -> Account:
    """``account`` with ``raw`` written at ``offset`` of its data."""
    data = bytearray(account.data)
    if offset + len(raw) > len(data):
        raise ValueError(f"patch of {len(raw)} bytes at {offset} runs past {len(data)} bytes")
    data[offset : offset + len(raw)] = raw
    return with_data(account, bytes(data))


def empty_account(owner: Pubkey = SYSTEM_PROGRAM_ID, lamports: int = 0) -> Account:
    """An account with no data (what an address that only ever received lamports holds)."""
    return Account(lamports=lamports, data=b"", owner=owner)


def clock_account(
    unix_timestamp: int = 1_700_000_000,
    epoch: int = 500,
    slot: int = 1,
    *,
    epoch_start_timestamp: int | None = None,
    leader_schedule_epoch: int | None = None,
) -> Account:
    """A Clock sysvar account at a stated time, owned as on chain by the sysvar owner."""
    clock = Clock(
        slot=slot,
        epoch_start_timestamp=unix_timestamp
        if epoch_start_timestamp is None
        else epoch_start_timestamp,
        epoch=epoch,
        leader_schedule_epoch=epoch + 1 if leader_schedule_epoch is None else leader_schedule_epoch,
        unix_timestamp=unix_timestamp,
    )
    return Account(CLOCK_RENT_LAMPORTS, clock.encode(), SYSVAR_OWNER_ID, False, 0)


def _fee_bytes(epoch: int, maximum_fee: int, basis_points: int) -> bytes:
    return (
        epoch.to_bytes(8, "little")
        + maximum_fee.to_bytes(8, "little")
        + basis_points.to_bytes(2, "little")
    )


def token2022_mint(
    mint: Account,
    *,
    fee_bps: int = 0,
    max_fee: int = 0,
    newer_fee_bps: int | None = None,
    newer_max_fee: int | None = None,
    newer_epoch: int = 0,
    transfer_hook_program: Pubkey | None = None,
    transfer_fee: bool = True,
) -> Account:
    """``mint`` rebuilt as a Token-2022 mint with a TransferFeeConfig and/or a TransferHook.

    The base 82 bytes are kept; the layout after them is the token program's
    (zero padding, account type 1 at byte 165, TLV entries). The older fee is
    ``fee_bps``/``max_fee`` from epoch 0; the newer one (default: the same)
    applies from ``newer_epoch``. ``transfer_fee=False`` leaves the fee
    extension out (a hook alone).
    """
    base = bytes(mint.data)[:MINT_LEN].ljust(TOKEN_ACCOUNT_LEN, b"\x00") + b"\x01"
    tlv = b""
    if transfer_fee:
        value = (
            bytes(64)
            + (0).to_bytes(8, "little")
            + _fee_bytes(0, max_fee, fee_bps)
            + _fee_bytes(
                newer_epoch,
                max_fee if newer_max_fee is None else newer_max_fee,
                fee_bps if newer_fee_bps is None else newer_fee_bps,
            )
        )
        tlv += (1).to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
    if transfer_hook_program is not None:
        value = bytes(32) + bytes(transfer_hook_program)
        tlv += (14).to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
    return with_data(mint, base + tlv, TOKEN_2022_PROGRAM_ID)


_PATCH_WIDTHS = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "u128": 16, "i128": 16}


def patch_account(account: Account, patch: Mapping[str, Any]) -> Account:
    """``account`` with one patch, described as data so an oracle script can apply the same.

    ``{"offset": 245, "kind": "i128", "value": "300000000000"}``: ``kind`` is an
    integer type (``u8`` ... ``u128``, ``i64``, ``i128``; little-endian) or
    ``hex`` (raw bytes); ``pad_to`` first extends the data with zeros (an
    older, shorter layout given a newer field).
    """
    data = bytearray(account.data)
    pad = patch.get("pad_to")
    if pad and len(data) < pad:
        data.extend(bytes(pad - len(data)))
    kind, value = patch["kind"], patch["value"]
    if kind == "hex":
        raw = bytes.fromhex(value)
    else:
        raw = int(value).to_bytes(_PATCH_WIDTHS[kind], "little", signed=kind.startswith("i"))
    return patched(with_data(account, bytes(data)), patch["offset"], raw)


def load_variant(
    directory: str | Path, variant: Mapping[str, Any]
) -> dict[str, tuple[Pubkey, Account]]:
    """A fixture set with byte patches: ``{"fixture": set_dir, "patches": [...]}``.

    Each patch names its ``file`` in the set and is applied with
    :func:`patch_account`; the result is :func:`load_named`'s shape.
    """
    named = load_named(Path(directory) / variant["fixture"])
    for patch in variant.get("patches", ()):
        stem = Path(patch["file"]).stem
        key, account = named[stem]
        named[stem] = (key, patch_account(account, patch))
    return named


def accounts_of(named: Mapping[str, tuple[Pubkey, Account]]) -> dict[Pubkey, Account]:
    """The ``{key: account}`` mapping of :func:`load_named`'s result."""
    return dict(named.values())
