"""The results of the block engine's methods, checked field by field.

A reply that does not have the documented shape raises
:class:`SubmissionError` naming the method, the endpoint and the field, never
a KeyError or TypeError from deep inside the submitter. Status lists are
matched by ``bundle_id``, not by position: nothing promises the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from lstarb_sdk.errors import SubmissionError

INFLIGHT_STATUSES = frozenset({"Invalid", "Pending", "Failed", "Landed"})


def _bad(method: str, endpoint: str, what: str) -> SubmissionError:
    return SubmissionError(f"jito {method} reply from {endpoint}: {what}")


def _slot(value: Any, method: str, endpoint: str, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(method, endpoint, f"{field} is {value!r}, not a slot number")
    return value


def bundle_id_result(result: Any, endpoint: str) -> str:
    if not isinstance(result, str) or not result:
        raise _bad("sendBundle", endpoint, f"result is {result!r}, not a bundle id string")
    return result


def signature_result(result: Any, endpoint: str) -> str:
    if not isinstance(result, str) or not result:
        raise _bad("sendTransaction", endpoint, f"result is {result!r}, not a signature string")
    return result


def tip_accounts_result(result: Any, endpoint: str) -> list[Pubkey]:
    if not isinstance(result, list) or not result:
        raise _bad("getTipAccounts", endpoint, f"result is {result!r}, not a list of accounts")
    out = []
    for i, text in enumerate(result):
        try:
            out.append(Pubkey.from_string(text))
        except (TypeError, ValueError):
            raise _bad(
                "getTipAccounts", endpoint, f"result[{i}] is {text!r}, not a base58 public key"
            ) from None
    return out


def _entries(result: Any, method: str, endpoint: str) -> list[Any]:
    if not isinstance(result, dict):
        raise _bad(method, endpoint, f"result is {result!r}, not an object with context and value")
    value = result.get("value")
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(method, endpoint, f"value is {value!r}, not a list")
    return value


@dataclass(frozen=True, slots=True)
class InflightStatus:
    status: str  # Invalid, Pending, Failed, Landed
    landed_slot: int | None


def inflight_result(result: Any, endpoint: str) -> dict[str, InflightStatus]:
    method = "getInflightBundleStatuses"
    out: dict[str, InflightStatus] = {}
    for i, entry in enumerate(_entries(result, method, endpoint)):
        if entry is None:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("bundle_id"), str):
            raise _bad(method, endpoint, f"value[{i}] is {entry!r}, not a bundle status")
        status = entry.get("status")
        if status not in INFLIGHT_STATUSES:
            raise _bad(
                method,
                endpoint,
                f"value[{i}].status is {status!r}, not one of {sorted(INFLIGHT_STATUSES)}",
            )
        slot = _slot(entry.get("landed_slot"), method, endpoint, f"value[{i}].landed_slot")
        out[entry["bundle_id"]] = InflightStatus(status, slot)
    return out


@dataclass(frozen=True, slots=True)
class BundleStatus:
    slot: int | None
    confirmation_status: str | None
    err: str | None  # None: the bundle's transactions succeeded
    transactions: tuple[str, ...]


def bundle_statuses_result(result: Any, endpoint: str) -> dict[str, BundleStatus]:
    method = "getBundleStatuses"
    out: dict[str, BundleStatus] = {}
    for i, entry in enumerate(_entries(result, method, endpoint)):
        if entry is None:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("bundle_id"), str):
            raise _bad(method, endpoint, f"value[{i}] is {entry!r}, not a bundle status")
        slot = _slot(entry.get("slot"), method, endpoint, f"value[{i}].slot")
        # The docs' text says confirmationStatus, their example confirmation_status.
        conf = entry.get("confirmation_status", entry.get("confirmationStatus"))
        if conf is not None and not isinstance(conf, str):
            raise _bad(method, endpoint, f"value[{i}].confirmation_status is {conf!r}")
        txs = entry.get("transactions", [])
        if not isinstance(txs, list) or not all(isinstance(t, str) for t in txs):
            raise _bad(method, endpoint, f"value[{i}].transactions is {txs!r}, not signatures")
        raw_err = entry.get("err")
        err = None if raw_err is None or raw_err == {"Ok": None} else repr(raw_err)
        out[entry["bundle_id"]] = BundleStatus(slot, conf, err, tuple(txs))
    return out
