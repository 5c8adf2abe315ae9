"""Helpers for testing plugins: load account dumps, check quote properties.

Every DEX plugin proves the same laws of a quote on real accounts; keeping
the laws here means each plugin's tests state them the same way. Nothing in
this module is used at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.solana import account_from_json
from lstarb_sdk.types import Quote


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


def try_quote(
    pool: PoolAdapter, amount: int, input_mint: Pubkey, *, exact_in: bool = True
) -> Quote | None:
    """The quote, or None when the pool says it cannot quote (QuoteError)."""
    try:
        return pool.quote(amount, input_mint, exact_in=exact_in)
    except QuoteError:
        return None


def check_monotonic(pool: PoolAdapter, input_mint: Pubkey, smaller: int, larger: int) -> None:
    """Output never decreases as input grows (exact-in)."""
    assert smaller <= larger
    big = try_quote(pool, larger, input_mint)
    small = try_quote(pool, smaller, input_mint)
    if big is None or small is None:
        return  # past the loaded liquidity, or dust the program refuses
    assert small.out_amount <= big.out_amount, (smaller, small, larger, big)


def check_bounded(pool: PoolAdapter, input_mint: Pubkey, amount: int, available_out: int) -> None:
    """Output never exceeds what the pool holds of the output mint."""
    q = try_quote(pool, amount, input_mint)
    if q is not None:
        assert 0 <= q.out_amount <= available_out, (amount, q, available_out)


def check_round_trip(
    pool: PoolAdapter, input_mint: Pubkey, out_amount: int, *, tolerance: int = 1
) -> None:
    """Exact-out then exact-in round trips within ``tolerance`` units of input.

    The input an exact-out quote asks for buys at least ``out_amount`` when
    sent exact-in, and ``tolerance + 1`` units less would not: the program's
    rounding may ask for at most ``tolerance`` units more than the least
    input that works.
    """
    need = try_quote(pool, out_amount, input_mint, exact_in=False)
    if need is None:
        return
    assert need.out_amount == out_amount, need
    got = pool.quote(need.in_amount, input_mint)
    assert got.out_amount >= out_amount, (out_amount, need, got)
    smaller = need.in_amount - tolerance - 1
    if smaller > 0:
        less = try_quote(pool, smaller, input_mint)
        assert less is None or less.out_amount < out_amount, (out_amount, need, less)


def _legacy_type(t: Any) -> Any:
    if t == "pubkey":
        return "publicKey"
    if isinstance(t, dict):
        if "defined" in t:
            d = t["defined"]
            return {"defined": d["name"] if isinstance(d, dict) else d}
        for wrapper in ("option", "vec", "coption"):
            if wrapper in t:
                return {wrapper: _legacy_type(t[wrapper])}
        if "array" in t:
            return {"array": [_legacy_type(t["array"][0]), t["array"][1]]}
    return t


def _legacy_typedef(td: Mapping[str, Any]) -> dict[str, Any]:
    ty = td["type"]
    if ty["kind"] == "struct":
        fields = [
            {"name": f["name"], "type": _legacy_type(f["type"])}
            if isinstance(f, dict) and "name" in f
            else {"name": f"field{i}", "type": _legacy_type(f)}  # tuple struct
            for i, f in enumerate(ty.get("fields", []))
        ]
        return {"name": td["name"], "type": {"kind": "struct", "fields": fields}}
    variants = []
    for v in ty["variants"]:
        out: dict[str, Any] = {"name": v["name"]}
        if "fields" in v:
            fs = v["fields"]
            if fs and isinstance(fs[0], dict) and "name" in fs[0]:
                out["fields"] = [{"name": f["name"], "type": _legacy_type(f["type"])} for f in fs]
            else:
                out["fields"] = [_legacy_type(f) for f in fs]
        variants.append(out)
    return {"name": td["name"], "type": {"kind": "enum", "variants": variants}}


def _legacy_account(a: Mapping[str, Any]) -> dict[str, Any]:
    if "accounts" in a:  # a nested account group keeps its shape
        return {"name": a["name"], "accounts": [_legacy_account(x) for x in a["accounts"]]}
    legacy = {
        "name": a["name"],
        "isMut": bool(a.get("writable", a.get("isMut", False))),
        "isSigner": bool(a.get("signer", a.get("isSigner", False))),
    }
    if a.get("optional") or a.get("isOptional"):
        legacy["isOptional"] = True
    return legacy


def anchor_legacy_idl(idl: Mapping[str, Any]) -> dict[str, Any]:
    """An Anchor >= 0.30 IDL rewritten in the older shape anchorpy 0.21 reads.

    anchorpy is the independent decoder every plugin checks its fixed-offset
    decoders against, but it only reads pre-0.30 IDLs. Only the form changes
    (account flags, type references, account types as typedefs); names,
    fields and layouts stay the IDL's, so decoding is unchanged. An IDL that
    is already in the old shape is returned as is.
    """
    if "metadata" not in idl or "address" not in idl:
        return dict(idl)
    types = {t["name"]: t for t in idl.get("types", [])}
    account_names = [a["name"] for a in idl.get("accounts", [])]
    return {
        "version": idl["metadata"].get("version", "0.0.0"),
        "name": idl["metadata"]["name"],
        "instructions": [
            {
                "name": ix["name"],
                "accounts": [_legacy_account(a) for a in ix["accounts"]],
                "args": [{"name": a["name"], "type": _legacy_type(a["type"])} for a in ix["args"]],
            }
            for ix in idl["instructions"]
        ],
        "accounts": [_legacy_typedef(types[n]) for n in account_names if n in types],
        "types": [_legacy_typedef(t) for n, t in types.items() if n not in account_names],
        "errors": [
            {"code": e["code"], "name": e["name"], "msg": e.get("msg", "")}
            for e in idl.get("errors", [])
        ],
    }
