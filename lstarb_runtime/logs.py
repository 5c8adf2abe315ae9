"""Log output: text or JSON lines (``log_format = "json"``), with the trace id, never a secret.

Why JSON lines: Loki (or any log store) indexes them without parsing rules, and the
``trace_id`` field of a line links it to the trace of the event being handled (the bus sets
:data:`~lstarb_runtime.bus.tracing.current_trace` while a handler runs), so one opportunity's
story is found in logs, traces and metrics alike.

Why a redaction filter on the handler: a secret reaches a log line by accident (an exception
message with a URL in it, a keypair passed to ``%r``), not on purpose, so every line is
cleaned, whatever logger wrote it and whichever format is chosen:

- arguments that are secrets by type: ``SecretStr``, a solders ``Keypair``, 64 raw bytes
  (a keypair's size), a list of 32 or more byte values (a key file's JSON);
- text shapes of secrets: ``Authorization:`` values, ``Bearer`` tokens, the secret parts of
  URLs (credentials, API keys in the path or query: :mod:`lstarb_sdk.redact`),
  ``token=``/``password=``/``api_key=``-style assignments, byte arrays, 128 hex digits;
- exact values the runtime registers when it loads them (:func:`register_secret`,
  :func:`register_keypair`, :func:`register_settings`): a secret printed in a form no pattern
  knows is still removed.

Transaction signatures look like 64-byte keys in base58 and are public: they are kept.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

from pydantic import BaseModel, SecretStr
from solders.keypair import Keypair

from lstarb_runtime.bus.tracing import current_trace
from lstarb_sdk.redact import mask_urls

MASK: Final = "********"

_SECRET_KEYS: Final = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|access[_-]?key"
    r"|x-[\w-]*auth[\w-]*"  # auth headers: x-jito-auth, x-auth-token
)
_PATTERNS: Final = (
    # Authorization: Bearer abc / "authorization": "Basic xyz"
    (
        re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)(?:\w+\s+)?[^\s"',;}]+"""),
        r"\g<1>" + MASK,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\g<1>" + MASK),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@", re.I), r"\g<1>" + MASK + "@"),
    # token=..., "api_key": "...", password: ...
    (
        re.compile(rf"""(?i)(\b(?:{_SECRET_KEYS})\w*["']?\s*[:=]\s*["']?)[^\s"',&;}}]+"""),
        r"\g<1>" + MASK,
    ),
    # byte arrays of key size: [12, 250, ...] with 32 or more values
    (re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3}){31,}\s*,?\s*\]"), "[" + MASK + "]"),
    # 64 bytes as hex
    (re.compile(r"\b[0-9a-fA-F]{128}\b"), MASK),
)

_MIN_SECRET: Final = 6
"""Registered values shorter than this are not searched for (they would mask ordinary text)."""


class Redactor:
    """Removes secrets from text: known shapes and the exact values registered."""

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str | SecretStr) -> None:
        """Remove ``value`` wherever it appears from now on."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if len(text) < _MIN_SECRET:
            return
        with self._lock:
            # Longest first, so a secret containing another is masked whole.
            self._values = tuple(sorted({*self._values, text}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        text = mask_urls(text)  # API keys in a node URL's path or query, tokens as users
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


REDACTOR: Final = Redactor()
"""The process's redactor, used by :class:`RedactSecrets` unless given another."""


def register_secret(value: str | SecretStr) -> None:
    """Never log ``value`` (a token, a password, an API key) in any form it is printed in."""
    REDACTOR.add(value)


def register_keypair(keypair: Keypair) -> None:
    """Never log ``keypair``'s secret: base58, JSON byte list, hex and its secret half."""
    raw = bytes(keypair)
    for form in (str(keypair), raw.hex(), str(list(raw)), str(list(raw[:32]))):
        REDACTOR.add(form)


def register_settings(settings: BaseModel) -> None:
    """Register every ``SecretStr`` value in ``settings`` (nested models, dicts and lists)."""
    for value in _secrets_in(settings):
        REDACTOR.add(value)


def _secrets_in(value: Any) -> Iterable[SecretStr]:
    if isinstance(value, SecretStr):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets_in(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(item)


def _is_secret_arg(value: object) -> bool:
    if isinstance(value, SecretStr | Keypair):
        return True
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value) == 64
    if isinstance(value, list | tuple) and len(value) >= 32:
        return all(isinstance(b, int) and 0 <= b <= 255 for b in value)
    return False


def _safe_arg(value: object) -> object:
    if _is_secret_arg(value):
        return MASK
    if isinstance(value, dict):
        return {k: _safe_arg(v) for k, v in value.items()}
    return value


_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "trace_id", "span_id", "service"}
)
_SECRET_KEY: Final = re.compile(rf"(?i)({_SECRET_KEYS}|authorization)")


class RedactSecrets(logging.Filter):
    """Rewrites a record so that no secret is left in its message, exception or extras.

    The message is rendered here (with secret arguments masked first) and the record keeps
    the cleaned text with no arguments left: every formatter after it sees only clean text.
    """

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict):
            record.args = {k: _safe_arg(v) for k, v in args.items()}
        elif args:
            record.args = tuple(_safe_arg(a) for a in args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        for key in record.__dict__.keys() - _STANDARD:
            value = record.__dict__[key]
            if _SECRET_KEY.search(key) or _is_secret_arg(value):
                record.__dict__[key] = MASK
            elif isinstance(value, str):
                record.__dict__[key] = self.redactor.redact(value)
        return True


class StampTrace(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the event being handled (empty outside one).

    A filter, not the formatter, reads them: it runs in the logging call's own context, where
    the bus set the trace, whatever thread later writes the line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        trace = current_trace.get()
        record.trace_id = trace.trace_id if trace else ""
        record.span_id = trace.span_id if trace else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, trace and span
    ids, service, exception, and any ``extra=`` fields."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", "")
        if trace_id:
            doc["trace_id"] = trace_id
            doc["span_id"] = getattr(record, "span_id", "")
        if self.service:
            doc["service"] = self.service
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        for key in record.__dict__.keys() - _STANDARD:
            doc.setdefault(key, record.__dict__[key])
        return json.dumps(doc, default=str, ensure_ascii=False)


TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_INSTALLED: logging.Handler | None = None


def configure_logging(
    level: str | int = "INFO",
    fmt: Literal["text", "json"] = "text",
    *,
    service: str = "",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as text or JSON lines, redacted.

    Replaces the handler a previous call installed (and any ``basicConfig`` handler), so the
    runtime calls it once its settings are known: ``configure_logging(settings.log_level,
    settings.log_format, service=role)``.
    """
    global _INSTALLED
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or basicConfig's; other handlers (files, test capture) stay.
        if handler is _INSTALLED or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(StampTrace())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(
        JsonFormatter(service) if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(level)
    _INSTALLED = handler
    return handler
