"""JSON-RPC replies and notifications in: solders parses them, guarded.

Why the guard: solders 0.26 parses every reply shape, but some error objects make it
*panic* instead of raising (``pyo3_runtime.PanicException``, a ``BaseException`` that
``except Exception`` lets through): -32002 (preflight failure), -32005 (node unhealthy)
and -32016 (minimum context slot) whenever their ``data`` is missing, null or not the
object Agave sends. So a
reply is screened for an error object first (the stdlib reads the few that carry one;
base64 account data never contains ``"error"``), and every solders parse is wrapped so a
panic becomes :class:`MalformedReply` like any other bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from lstarb_sdk.errors import DataSourceError

T = TypeVar("T")

EXCERPT = 160


class MalformedReply(DataSourceError):
    """A reply or notification that is not what the protocol says it is."""


class RpcReplyError(DataSourceError):
    """The peer answered with a JSON-RPC error object."""

    def __init__(self, code: int | None, message: str, data: Any = None, id: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.id = id


def excerpt(text: str | bytes) -> str:
    """The start of a message, for a log line that says what was wrong."""
    shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return repr(shown[:EXCERPT]) + ("..." if len(shown) > EXCERPT else "")


def error_of(doc: Any) -> RpcReplyError | None:
    """The error object of one decoded reply, or None."""
    if not isinstance(doc, dict) or "error" not in doc:
        return None
    error = doc["error"]
    if not isinstance(error, dict):
        return RpcReplyError(None, f"error is not an object: {error!r:.80}", id=doc.get("id"))
    code = error.get("code")
    return RpcReplyError(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(error.get("message", "")),
        error.get("data"),
        doc.get("id"),
    )


def screen(text: str) -> None:
    """Raise the reply's error object (RpcReplyError) or MalformedReply if it has one."""
    if '"error"' not in text:
        return
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise MalformedReply(f"not JSON ({exc}): {excerpt(text)}") from None
    error = error_of(doc)
    if error is not None:
        raise error


def parse(parser: Callable[[str], T], text: str, what: str) -> T:
    """``parser(text)`` (a solders ``from_json``); any failure, panics included, is
    MalformedReply naming ``what`` and showing the start of the text."""
    try:
        return parser(text)
    except Exception as exc:
        raise MalformedReply(f"{what}: {exc} in {excerpt(text)}") from None
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise MalformedReply(f"{what}: the parser gave up ({exc}) on {excerpt(text)}") from None


def reply(cls: type[T], text: str, what: str) -> T:
    """A reply parsed as solders' ``cls``: its error object raised, a malformation reported."""
    screen(text)
    parsed = parse(cls.from_json, text, what)  # type: ignore[attr-defined]
    if not isinstance(parsed, cls):  # an error object the screen did not see
        raise MalformedReply(f"{what}: {parsed!r:.120} instead of a {cls.__name__}")
    return parsed


def prioritization_fees(text: str, what: str = "getRecentPrioritizationFees") -> list[int]:
    """The fees of a getRecentPrioritizationFees reply (oldest slot first), checked by hand.

    Why by hand: neither solders 0.26 nor solana-py 0.36 has a type for this method. The
    reply must be ``{"result": [{"slot": u64, "prioritizationFee": u64}, ...]}``; an error
    object raises RpcReplyError, anything else MalformedReply naming what was wrong.
    """
    screen(text)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise MalformedReply(f"{what}: not JSON ({exc}): {excerpt(text)}") from None
    result = doc.get("result") if isinstance(doc, dict) else None
    if not isinstance(result, list):
        raise MalformedReply(f"{what}: result is not a list in {excerpt(text)}")
    rows = []
    for row in result:
        slot = row.get("slot") if isinstance(row, dict) else None
        fee = row.get("prioritizationFee") if isinstance(row, dict) else None
        if not (_u64(slot) and _u64(fee)):
            raise MalformedReply(f"{what}: {row!r:.80} is not a slot and a fee")
        rows.append((slot, fee))
    rows.sort()
    return [fee for _, fee in rows]


def _u64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64
