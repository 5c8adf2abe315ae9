"""Checking instructions and accounts against a program's IDL with anchorpy.

anchorpy is the independent decoder every plugin checks its fixed-offset
decoders and instruction encoders against. It reads only the pre-0.30 IDL
shape, so :func:`anchor_legacy_idl` rewrites newer IDLs (form only: names,
fields and layouts stay the IDL's). :func:`check_instruction` decodes an
instruction an adapter built and lists every way it disagrees with the IDL:
discriminator, arguments (decoded and re-encoded byte for byte), account
order, signer and writable flags, fixed addresses, PDA seeds and ``relations``
that can be resolved from the accounts at hand.

anchorpy is a test dependency (``lstarb[test]``); it is imported on first use.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from solders.instruction import Instruction
from solders.pubkey import Pubkey

__all__ = [
    "IdlInstruction",
    "anchor_legacy_idl",
    "check_instruction",
    "idl_instructions",
]


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

    Only the form changes (account flags, type references, account types as
    typedefs); names, fields and layouts stay the IDL's, so decoding is
    unchanged. An IDL that is already in the old shape is returned as is.
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


def _snake(name: str) -> str:
    """anchorpy's (and Anchor's) instruction-name normal form."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", s).lower()


@dataclass(frozen=True)
class IdlAccount:
    """One account slot of an instruction, in either IDL shape."""

    name: str
    writable: bool
    signer: bool
    optional: bool = False
    address: Pubkey | None = None
    pda: Mapping[str, Any] | None = None
    relations: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdlInstruction:
    """An instruction of an IDL: its discriminator, accounts (flattened) and argument names."""

    name: str
    discriminator: bytes
    accounts: tuple[IdlAccount, ...]
    args: tuple[Mapping[str, Any], ...] = field(default=())


def _flatten(accounts: Sequence[Mapping[str, Any]]) -> list[IdlAccount]:
    out: list[IdlAccount] = []
    for a in accounts:
        if "accounts" in a:
            out.extend(_flatten(a["accounts"]))
            continue
        address = a.get("address")
        out.append(
            IdlAccount(
                name=a["name"],
                writable=bool(a.get("writable", a.get("isMut", False))),
                signer=bool(a.get("signer", a.get("isSigner", False))),
                optional=bool(a.get("optional", a.get("isOptional", False))),
                address=Pubkey.from_string(address) if address else None,
                pda=a.get("pda"),
                relations=tuple(a.get("relations", ())),
            )
        )
    return out


def _discriminator(ix: Mapping[str, Any]) -> bytes:
    if "discriminator" in ix:
        return bytes(ix["discriminator"])
    if "discriminant" in ix:  # Shank IDLs of non-Anchor programs
        d = ix["discriminant"]
        size = {"u8": 1, "u16": 2, "u32": 4}[d["type"]]
        return int(d["value"]).to_bytes(size, "little")
    return hashlib.sha256(f"global:{_snake(ix['name'])}".encode()).digest()[:8]


def idl_instructions(idl: Mapping[str, Any]) -> list[IdlInstruction]:
    """Every instruction of ``idl`` with its discriminator.

    The discriminator is the IDL's own (``discriminator``, Anchor >= 0.30; or
    a Shank ``discriminant``), else Anchor's ``sha256("global:<name>")[:8]``.
    A hand-written IDL of a non-Anchor program states its tag as a
    ``discriminator`` list (``[16]``).
    """
    return [
        IdlInstruction(
            name=ix["name"],
            discriminator=_discriminator(ix),
            accounts=tuple(_flatten(ix["accounts"])),
            args=tuple(ix.get("args", ())),
        )
        for ix in idl["instructions"]
    ]


@cache
def _coders(idl_json: str) -> tuple[Any, Any]:
    from anchorpy.coder.accounts import AccountsCoder
    from anchorpy.coder.instruction import InstructionCoder
    from anchorpy_core.idl import Idl

    legacy = anchor_legacy_idl(json.loads(idl_json))
    for ix in legacy.get("instructions", []):
        ix.pop("discriminator", None)
        ix.pop("discriminant", None)
    parsed = Idl.from_json(json.dumps(legacy))
    return InstructionCoder(parsed), AccountsCoder(parsed)


def _ints(value: Any) -> list[int]:
    """Every integer inside a decoded argument (structs, options, lists)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list | tuple):
        return [i for v in value for i in _ints(v)]
    if hasattr(value, "__dict__"):
        return [i for v in vars(value).values() for i in _ints(v)]
    if isinstance(value, Mapping):
        return [i for v in value.values() for i in _ints(v)]
    return []


def _seed_bytes(
    seed: Mapping[str, Any],
    resolve_account: Callable[[str], Pubkey | None],
    resolve_field: Callable[[str, str], Any],
) -> bytes | None:
    kind = seed.get("kind")
    if kind == "const":
        return bytes(seed["value"])
    if kind == "account":
        path = seed["path"]
        if "." in path:
            owner, _, name = path.partition(".")
            value = resolve_field(owner, name)
            return bytes(value) if isinstance(value, Pubkey) else None
        key = resolve_account(path)
        return None if key is None else bytes(key)
    return None  # arg seeds need the argument's encoding: not checked


def check_instruction(
    idl: Mapping[str, Any],
    ix: Instruction,
    *,
    accounts: Mapping[Pubkey, Any] | None = None,
    program_id: Pubkey | None = None,
) -> tuple[IdlInstruction | None, dict[str, Any], list[str]]:
    """Decode ``ix`` with the IDL and list every disagreement.

    Returns ``(instruction, arguments, problems)``. ``accounts`` (pubkey ->
    solders Account) lets seeds and ``relations`` that read another account's
    fields be resolved (through anchorpy's account decoder); checks whose
    inputs cannot be resolved are left out, never failed.
    """
    problems: list[str] = []
    program = program_id or ix.program_id
    data = bytes(ix.data)
    specs = idl_instructions(idl)
    match = next((s for s in specs if data.startswith(s.discriminator)), None)
    if match is None:
        return None, {}, [f"data {data[:8].hex()} starts with no instruction's discriminator"]
    from pyheck import snake  # anchorpy's own key for an instruction's layout

    ix_coder, acc_coder = _coders(json.dumps(idl, sort_keys=True))
    layout = ix_coder.ix_layout[snake(match.name)]
    body = data[len(match.discriminator) :]
    args: dict[str, Any] = {}
    try:
        parsed = layout.parse(body)
        args = {k: v for k, v in parsed.items() if not k.startswith("_")}
        if layout.build(parsed) != body:
            problems.append(f"{match.name}: arguments do not re-encode to the same bytes")
    except Exception as exc:  # construct raises many types for short or bad data
        problems.append(f"{match.name}: arguments do not decode: {exc!r}")
    metas = list(ix.accounts)
    if len(metas) < len(match.accounts):
        problems.append(f"{match.name}: {len(metas)} accounts, the IDL lists {len(match.accounts)}")
    by_name = {spec.name: meta.pubkey for spec, meta in zip(match.accounts, metas, strict=False)}

    def resolve_account(name: str) -> Pubkey | None:
        return by_name.get(name)

    def resolve_field(owner: str, name: str) -> Any:
        key = by_name.get(owner)
        if key is None or accounts is None or key not in accounts or accounts[key] is None:
            return None
        try:
            decoded = acc_coder.decode(bytes(accounts[key].data))
        except Exception:
            return None
        return getattr(decoded, name, None)

    for spec, meta in zip(match.accounts, metas, strict=False):
        where = f"{match.name}: account {spec.name} ({meta.pubkey})"
        if spec.optional and meta.pubkey == program:
            if meta.is_signer or meta.is_writable:
                problems.append(f"{where}: an absent optional account must be read-only")
            continue
        if meta.is_writable != spec.writable:
            problems.append(
                f"{where}: writable is {meta.is_writable}, the IDL says {spec.writable}"
            )
        if meta.is_signer != spec.signer:
            problems.append(f"{where}: signer is {meta.is_signer}, the IDL says {spec.signer}")
        if spec.address is not None and meta.pubkey != spec.address:
            problems.append(f"{where}: the IDL fixes the address {spec.address}")
        if spec.pda is not None:
            seeds = [_seed_bytes(s, resolve_account, resolve_field) for s in spec.pda["seeds"]]
            pda_program: Pubkey | None = program
            if "program" in spec.pda:
                raw = _seed_bytes(spec.pda["program"], resolve_account, resolve_field)
                pda_program = Pubkey.from_bytes(raw) if raw is not None else None
            if pda_program is not None and all(s is not None for s in seeds):
                expected = Pubkey.find_program_address(
                    [s for s in seeds if s is not None], pda_program
                )[0]
                if meta.pubkey != expected:
                    problems.append(f"{where}: the IDL's seeds derive {expected}")
        for relation in spec.relations:
            value = resolve_field(relation, spec.name)
            if isinstance(value, Pubkey) and value != meta.pubkey:
                problems.append(f"{where}: {relation}.{spec.name} is {value}")
    return match, args, problems


def argument_integers(args: Mapping[str, Any]) -> list[int]:
    """Every integer value among decoded instruction arguments (booleans excluded)."""
    return [i for v in args.values() for i in _ints(v)]
