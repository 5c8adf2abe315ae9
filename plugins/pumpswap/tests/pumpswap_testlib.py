"""Shared helpers of the pumpswap plugin tests: fixtures, oracle scenarios, the IDL."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.testing import anchor_legacy_idl, load_account

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE_DIR = Path(__file__).parent / "oracle"
ROLES = (
    "pool",
    "global_config",
    "fee_config",
    "base_vault",
    "quote_vault",
    "base_mint",
    "quote_mint",
)


@cache
def manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "MANIFEST.json").read_text())


LABELS = [s["label"] for s in manifest()["sets"]]


@cache
def expected() -> dict[str, Any]:
    return json.loads((ORACLE_DIR / "expected_quotes.json").read_text())


@cache
def variants() -> dict[str, dict[str, Any]]:
    doc = json.loads((ORACLE_DIR / "variants.json").read_text())
    return {v["name"]: v for v in doc["variants"]}


VARIANTS = list(variants())


@cache
def idl_raw() -> dict[str, Any]:
    return json.loads((FIXTURES / "idl" / "pump_amm.json").read_text())


@cache
def legacy_idl_json() -> str:
    return json.dumps(anchor_legacy_idl(idl_raw()))


def with_data(account: Account, data: bytes, owner: Pubkey | None = None) -> Account:
    return Account(
        lamports=account.lamports,
        data=data,
        owner=owner or account.owner,
        executable=account.executable,
        rent_epoch=account.rent_epoch,
    )


def _patched(data: bytes, patch: dict[str, Any]) -> bytes:
    buf = bytearray(data)
    pad = patch.get("pad_to")
    if pad and len(buf) < pad:
        buf.extend(bytes(pad - len(buf)))
    kind, value = patch["kind"], patch["value"]
    if kind == "hex":
        raw = bytes.fromhex(value)
    else:
        width = {"u8": 1, "u64": 8, "i128": 16}[kind]
        raw = int(value).to_bytes(width, "little", signed=kind == "i128")
    buf[patch["offset"] : patch["offset"] + len(raw)] = raw
    return bytes(buf)


def scenario_accounts(name: str) -> dict[str, tuple[Pubkey, Account]]:
    """Role -> (address, account) of an oracle scenario: a fixture set plus its patches."""
    v = variants().get(name, {"fixture": name, "patches": []})
    out = {}
    for role in ROLES:
        key, acc = load_account(FIXTURES / v["fixture"] / f"{role}.json")
        for patch in v["patches"]:
            if patch["file"] == f"{role}.json":
                acc = with_data(acc, _patched(bytes(acc.data), patch))
        out[role] = (key, acc)
    return out


def load_pool(name: str) -> PumpSwapPool:
    """A fully loaded adapter for a fixture set or oracle scenario."""
    accs = scenario_accounts(name)
    key, acc = accs["pool"]
    pool = PumpSwapPool.from_account(key, acc)
    pool.update(dict(accs.values()))
    return pool
