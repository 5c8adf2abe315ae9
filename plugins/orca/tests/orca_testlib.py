"""Shared helpers of the orca plugin tests: fixture loading, synthetic accounts, the IDL."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, SYSVAR_OWNER_ID
from lstarb_sdk.testing import (
    anchor_legacy_idl,
    clock_account,
    load_account,
    load_json,
    load_named,
    token2022_mint,
    with_data,
)

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE_DIR = Path(__file__).parent / "oracle"
SYSVAR_OWNER = SYSVAR_OWNER_ID
PROGRAM_ID = Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc")


def manifest() -> dict[str, Any]:
    return load_json(FIXTURES / "MANIFEST.json")  # type: ignore[no-any-return]


def expected() -> dict[str, Any]:
    return load_json(ORACLE_DIR / "expected_quotes.json")  # type: ignore[no-any-return]


def pool_set(label: str) -> dict[str, Any]:
    return next(s for s in manifest()["pool_sets"] if s["label"] == label)


LABELS = [s["label"] for s in manifest()["pool_sets"]]


def pool_files(label: str) -> dict[str, tuple[Pubkey, Account]]:
    return load_named(FIXTURES / label)


def load_pool(
    label: str,
    *,
    transfer_fee: dict[str, Any] | None = None,
    adaptive_seed: int | None = None,
    timestamp: int | None = None,
    epoch: int = 500,
    whirlpool_file: str | None = None,
) -> WhirlpoolPool:
    """A pool with every fixture account of its set loaded, as the runtime would feed it:
    tick arrays that did not exist on chain (MANIFEST) as None. ``whirlpool_file`` names a
    synthetic pool account (under fixtures/synthetic) to use instead of the real one."""
    return pool_feed(
        label,
        transfer_fee=transfer_fee,
        adaptive_seed=adaptive_seed,
        timestamp=timestamp,
        epoch=epoch,
        whirlpool_file=whirlpool_file,
    )[0]


def variant_pool(label: str, variant: dict[str, Any]) -> WhirlpoolPool:
    """The pool of one variant of the oracle's expected quotes (plain, transfer fee, moved,
    adaptive)."""
    name = variant["name"]
    if name == "plain":
        return load_pool(label)
    if name == "transfer_fee":
        return load_pool(label, transfer_fee=variant["transfer_fee"])
    if name.startswith("moved@"):
        return load_pool(label, whirlpool_file=variant["whirlpool_file"])
    assert name.startswith("adaptive@")
    return load_pool(
        label, adaptive_seed=variant["fee_tier_index_seed"], timestamp=int(variant["timestamp"])
    )


def pool_feed(
    label: str,
    *,
    transfer_fee: dict[str, Any] | None = None,
    adaptive_seed: int | None = None,
    timestamp: int | None = None,
    epoch: int = 500,
    whirlpool_file: str | None = None,
) -> tuple[WhirlpoolPool, dict[Pubkey, Account | None]]:
    """:func:`load_pool` and the accounts it was fed (the program oracle loads the same)."""
    files = pool_files(label)
    address, account = files["whirlpool"]
    if whirlpool_file is not None:
        address, account = load_account(FIXTURES / "synthetic" / whirlpool_file)
    if adaptive_seed is not None:
        data = bytearray(bytes(account.data))
        data[43:45] = adaptive_seed.to_bytes(2, "little")
        account = with_data(account, bytes(data))
    pool = WhirlpoolPool.from_account(address, account)
    accounts: dict[Pubkey, Account | None] = {address: account}
    for stem, (key, acc) in files.items():
        if stem.startswith(("tick_array_", "vault_")):
            accounts[key] = acc
        elif stem in ("mint_a", "mint_b"):
            if transfer_fee is not None:
                side = transfer_fee.get(stem[-1])
                if side is not None:
                    acc = token2022_mint(acc, fee_bps=side["fee_bps"], max_fee=int(side["max_fee"]))
            accounts[key] = acc
    for absent in pool_set(label).get("tick_arrays_absent_uninitialized", []):
        accounts[Pubkey.from_string(absent["pda"])] = None
    if adaptive_seed is not None:
        key, acc = load_account(FIXTURES / "synthetic" / f"{label}-oracle.json")
        accounts[key] = acc
    pool.accounts_to_update()  # registers the window PDAs
    pool.update(accounts)
    if timestamp is not None or transfer_fee is not None:
        pool.update({SYSVAR_CLOCK_ID: clock_account(timestamp or 1_700_000_000, epoch)})
    return pool, accounts


@cache
def legacy_idl_json() -> str:
    """The whirlpool IDL in the pre-0.30 shape anchorpy 0.21 reads."""
    return json.dumps(anchor_legacy_idl(load_json(FIXTURES / "idl" / "whirlpool.json")))
