"""JSON log lines carry the trace id of the event being handled and never a secret.

Each secret is logged on purpose, in the ways it leaks in practice (an argument, an f-string,
an exception message, an ``extra`` field, a header dict), and the whole output is searched.
"""

from __future__ import annotations

import io
import json
import logging

from pydantic import BaseModel, SecretStr
from solders.keypair import Keypair
from solders.signature import Signature

from lstarb_runtime import logs
from lstarb_runtime.bus.tracing import TraceContext, current_trace


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_json_with_the_trace_of_the_event_being_handled(log_output: io.StringIO) -> None:
    log = logging.getLogger("lstarb.auditor")
    log.info("outside any event")
    trace = TraceContext.new()
    token = current_trace.set(trace)
    try:
        log.warning("recorded plan %s", "plan-1", extra={"plan_id": "plan-1", "slot": 312})
    finally:
        current_trace.reset(token)
    first, second = _lines(log_output)
    assert "trace_id" not in first
    assert first["message"] == "outside any event" and first["level"] == "info"
    assert second["trace_id"] == trace.trace_id and second["span_id"] == trace.span_id
    assert second["message"] == "recorded plan plan-1"
    assert second["plan_id"] == "plan-1" and second["slot"] == 312
    assert second["service"] == "auditor" and second["logger"] == "lstarb.auditor"
    assert str(second["time"]).endswith("+00:00")


def test_no_secret_survives_in_any_form(log_output: io.StringIO) -> None:
    log = logging.getLogger("lstarb.test")
    keypair = Keypair()
    raw = bytes(keypair)
    token = "tok_9f8e7d6c5b4a39281706"
    password = "pg-pass-Zx81!q"
    api_key = "ak_live_51HcQ2Ew"
    unregistered_bearer = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJl"
    header_token = "hdr-2c3d4e5f6a7b"

    class Section(BaseModel):
        api_key: SecretStr
        url: str = "x"

    class Settings(BaseModel):
        control: Section
        plugins: dict[str, list[Section]]

    settings = Settings(
        control=Section(api_key=SecretStr(token)),
        plugins={"pg": [Section(api_key=SecretStr(password))]},
    )
    # What the runtime does when it has loaded its settings and the keypair:
    logs.register_settings(settings)
    logs.register_keypair(keypair)
    secret = settings.plugins["pg"][0].api_key
    signature = str(Signature.from_bytes(bytes(range(64))))

    log.info("settings secret as an argument: %s", secret)
    log.info(f"settings secret in an f-string: {secret.get_secret_value()}")
    log.info("control token %s", token)
    log.info("keypair object %s and %r", keypair, keypair)
    log.info("keypair bytes %s", raw)
    log.info("keypair as the file holds it %s", list(raw))
    log.info(f"keypair in an f-string: {keypair} {list(raw)} {raw.hex()}")
    log.info("headers %s", {"Authorization": f"Bearer {header_token}", "Accept": "json"})
    log.info("calling with Authorization: Bearer %s", unregistered_bearer)
    log.info("db at postgresql://ops:%s@10.0.0.5:5432/ledger", password)
    log.info("request ?api_key=%s&pool=abc", api_key)
    log.info("args as a mapping %(k)s", {"k": keypair})
    log.info("extra fields", extra={"auth_token": header_token, "raw_key": raw, "n": 5})
    log.info("landed %s", signature)
    try:
        raise RuntimeError(f"connect failed: Bearer {unregistered_bearer} refused {password}")
    except RuntimeError:
        log.exception("submit failed")

    text = log_output.getvalue()
    lines = _lines(log_output)
    assert len(lines) == 15
    for leaked in (
        token,
        password,
        api_key,
        unregistered_bearer,
        header_token,
        str(keypair),
        raw.hex(),
        str(list(raw)),
        str(list(raw[:32]))[1:-1],
        ", ".join(str(b) for b in raw[32:48]),
    ):
        assert leaked not in text, leaked
    assert signature in text  # public: kept
    assert "10.0.0.5:5432/ledger" in text and "Accept" in text and "pool=abc" in text
    assert lines[-1]["exception"] and "RuntimeError: connect failed" in str(lines[-1]["exception"])
    assert lines[12]["n"] == 5 and lines[12]["auth_token"] == logs.MASK


def test_text_format_is_redacted_too() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure_logging("INFO", "text", stream=stream)
    try:
        logging.getLogger("lstarb.x").info("Authorization: Bearer abcdef123456 for %s", "plan-9")
        logging.getLogger("lstarb.x").debug("below the level")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    out = stream.getvalue()
    assert "abcdef123456" not in out and "plan-9" in out and "below the level" not in out
    assert " INFO lstarb.x: " in out


def test_configuring_twice_keeps_one_handler(log_output: io.StringIO) -> None:
    root = logging.getLogger()
    again = logs.configure_logging("INFO", "json", stream=log_output)
    try:
        ours = [
            h for h in root.handlers if any(isinstance(f, logs.RedactSecrets) for f in h.filters)
        ]
        assert ours == [again]
    finally:
        root.removeHandler(again)
