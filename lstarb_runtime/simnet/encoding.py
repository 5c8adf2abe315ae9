"""Request configuration and account JSON as the Solana RPC defines them.

Parsing of the optional config object shared by account reads and subscriptions
(commitment, encoding, dataSlice, filters, minContextSlot), the account object of
responses and notifications, and getProgramAccounts filters with the node's exact
matching rules. Errors carry Agave's codes and wording.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import zstandard

from lstarb_runtime.simnet.errors import RpcError, invalid_params, invalid_request
from lstarb_runtime.simnet.store import Entry

ENCODINGS = ("binary", "base58", "base64", "base64+zstd", "jsonParsed")
COMMITMENTS = ("processed", "confirmed", "finalized")
MAX_BASE58_BYTES = 128
MAX_FILTERS = 4
MAX_MEMCMP_BYTES = 128
MAX_MEMCMP_BASE58_CHARS = 175
MAX_MEMCMP_BASE64_CHARS = 172
TOKEN_ACCOUNT_LEN = 165

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_ZSTD = zstandard.ZstdCompressor()


def b58encode(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58[rem])
    pad = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for i, char in enumerate(text):
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise ValueError(f"InvalidCharacter {{ character: {char!r}, index: {i} }}")
        n = n * 58 + digit
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


# ------------------------------------------------------------------ config objects
@dataclass(frozen=True, slots=True)
class DataSlice:
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """The config object of account reads and account/program subscriptions."""

    encoding: str
    data_slice: DataSlice | None
    commitment: str
    min_context_slot: int | None


def config_object(params: Sequence[Any], index: int) -> dict[str, Any]:
    """The optional config object at ``params[index]`` ({} when absent or null)."""
    if len(params) <= index or params[index] is None:
        return {}
    value = params[index]
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: invalid type: {_kind(value)}, expected a map.")
    return value


def commitment_of(config: dict[str, Any]) -> str:
    value = config.get("commitment", "finalized")
    if value is None:
        return "finalized"
    if value not in COMMITMENTS:
        raise invalid_params(
            f"Invalid params: unknown variant `{value}`, expected one of "
            "`processed`, `confirmed`, `finalized`."
        )
    return str(value)


def account_config(config: dict[str, Any], *, default_encoding: str = "binary") -> AccountConfig:
    encoding = config.get("encoding") or default_encoding
    if encoding not in ENCODINGS:
        raise invalid_params(
            f"Invalid params: unknown variant `{encoding}`, expected one of "
            "`binary`, `base64`, `base58`, `base64+zstd`, `jsonParsed`."
        )
    data_slice = None
    raw_slice = config.get("dataSlice")
    if raw_slice is not None:
        if not isinstance(raw_slice, dict):
            raise invalid_params("Invalid params: dataSlice must be an object.")
        offset = _usize(raw_slice.get("offset"), "dataSlice.offset")
        length = _usize(raw_slice.get("length"), "dataSlice.length")
        data_slice = DataSlice(offset, length)
        if encoding == "jsonParsed":
            raise invalid_request(
                "Sliced account data can only be encoded using binary (base 58) or base64 encoding."
            )
    min_slot = config.get("minContextSlot")
    return AccountConfig(
        encoding=encoding,
        data_slice=data_slice,
        commitment=commitment_of(config),
        min_context_slot=None if min_slot is None else _usize(min_slot, "minContextSlot"),
    )


def _usize(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(
            f"Invalid params: invalid value for {name}: {value!r}, expected usize."
        )
    return value


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, list):
        return "sequence"
    return type(value).__name__


# ------------------------------------------------------------------ account JSON
def account_json(entry: Entry, config: AccountConfig) -> dict[str, Any]:
    """The account object: ``{data, executable, lamports, owner, rentEpoch, space}``."""
    return {
        "data": encode_data(entry, config.encoding, config.data_slice),
        "executable": entry.executable,
        "lamports": entry.lamports,
        "owner": entry.owner,
        "rentEpoch": entry.rent_epoch,
        "space": len(entry.data),
    }


def account_text(entry: Entry, config: AccountConfig) -> str:
    """:func:`account_json` as JSON text; the common case (base64, whole data) is cached."""
    if config.data_slice is None and config.encoding in ("base64", "jsonParsed"):
        return entry.json_base64
    return json.dumps(account_json(entry, config), separators=(",", ":"))


def encode_data(entry: Entry, encoding: str, data_slice: DataSlice | None) -> Any:
    """Account data in the requested encoding; jsonParsed falls back to base64, as a
    node does for accounts it has no parser for."""
    if data_slice is None:
        data = entry.data
    else:
        data = entry.data[data_slice.offset : data_slice.offset + data_slice.length]
    if encoding in ("base64", "jsonParsed"):
        text = entry.b64 if data_slice is None else base64.b64encode(data).decode()
        return [text, "base64"]
    if encoding == "base64+zstd":
        if data_slice is None:
            return [entry.zstd_b64(_ZSTD.compress), "base64+zstd"]
        return [base64.b64encode(_ZSTD.compress(data)).decode(), "base64+zstd"]
    if len(data) > MAX_BASE58_BYTES:
        raise invalid_request(
            f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, "
            "please use Base64 encoding."
        )
    return b58encode(data) if encoding == "binary" else [b58encode(data), "base58"]


# ------------------------------------------------------------------ filters
@dataclass(frozen=True, slots=True)
class RpcFilter:
    """One getProgramAccounts / programSubscribe filter, matched as the node matches it."""

    data_size: int | None = None
    offset: int = 0
    bytes_: bytes | None = None
    token_account_state: bool = False

    def matches(self, data: bytes) -> bool:
        if self.data_size is not None:
            return len(data) == self.data_size
        if self.bytes_ is not None:
            if self.offset > len(data) or len(data) - self.offset < len(self.bytes_):
                return False
            return data[self.offset : self.offset + len(self.bytes_)] == self.bytes_
        return _is_token_account(data)


def _is_token_account(data: bytes) -> bool:
    """An initialized SPL Token or Token-2022 account (state byte 1 or 2, frozen counts)."""
    if len(data) == TOKEN_ACCOUNT_LEN:
        return data[108] != 0
    return len(data) > TOKEN_ACCOUNT_LEN and data[TOKEN_ACCOUNT_LEN] == 2 and data[108] != 0


def parse_filters(raw: Any) -> tuple[RpcFilter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid_params(f"Invalid params: invalid type: {_kind(raw)}, expected a sequence.")
    if len(raw) > MAX_FILTERS:
        raise invalid_params(f"Too many filters provided; max {MAX_FILTERS}")
    return tuple(_parse_filter(item) for item in raw)


def _parse_filter(item: Any) -> RpcFilter:
    if item == "tokenAccountState":
        return RpcFilter(token_account_state=True)
    if not isinstance(item, dict) or len(item) != 1:
        raise invalid_params(
            "Invalid params: unknown variant, expected one of `dataSize`, `memcmp`, "
            "`tokenAccountState`."
        )
    if "dataSize" in item:
        return RpcFilter(data_size=_usize(item["dataSize"], "dataSize"))
    memcmp = item.get("memcmp")
    if not isinstance(memcmp, dict):
        raise invalid_params(
            "Invalid params: unknown variant, expected one of `dataSize`, `memcmp`, "
            "`tokenAccountState`."
        )
    offset = _usize(memcmp.get("offset"), "memcmp.offset")
    text = memcmp.get("bytes")
    if not isinstance(text, str):
        raise invalid_params("Invalid params: missing field `bytes`.")
    encoding = memcmp.get("encoding") or "base58"
    try:
        if encoding == "base58":
            if len(text) > MAX_MEMCMP_BASE58_CHARS:
                raise invalid_params("Invalid param: DataTooLarge")
            raw = b58decode(text)
        elif encoding == "base64":
            if len(text) > MAX_MEMCMP_BASE64_CHARS:
                raise invalid_params("Invalid param: DataTooLarge")
            raw = base64.b64decode(text, validate=True)
        else:
            raise invalid_params(
                f"Invalid params: unknown variant `{encoding}`, expected `base58` or `base64`."
            )
    except RpcError:
        raise
    except ValueError as exc:
        kind = "Base58DecodeError" if encoding == "base58" else "Base64DecodeError"
        raise invalid_params(f"Invalid param: {kind}({exc})") from None
    if len(raw) > MAX_MEMCMP_BYTES:
        raise invalid_params("Invalid param: DataTooLarge")
    return RpcFilter(offset=offset, bytes_=raw)


def passes(filters: Sequence[RpcFilter], data: bytes) -> bool:
    return all(f.matches(data) for f in filters)
