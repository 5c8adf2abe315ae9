"""Fuzzing the decoder: malformed input raises DecodeError and nothing else.

Random bytes, truncations and bit flips of valid buffers either decode to a valid event or raise
:class:`DecodeError`; an IndexError, struct.error, UnicodeDecodeError or garbage never escapes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import EVENT_TYPES, EventModel, decode_event, view_event
from lstarb_sdk.events.examples import example_events

VALID = [e.encode() for e in example_events().values()]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_everything(buf: bytes | bytearray) -> None:
    """Decode by identifier and through the view; check the two agree when both succeed."""
    try:
        model = decode_event(buf)
    except DecodeError:
        model = None
    if model is not None:
        # A valid decode re-encodes cleanly (encode writes this SDK's schema version).
        again = type(model).decode(model.encode())
        skip = {"schema_version"}
        assert again.model_dump_json(exclude=skip) == model.model_dump_json(exclude=skip)
    try:
        view = view_event(buf)
    except DecodeError:
        assert model is None
        return
    values: dict[str, Any] = {}
    for name in type(view).__dict__:
        if name.startswith("_") or name in {"SPEC", "verify", "fields"}:
            continue
        try:
            values[name] = getattr(view, name)
            if name == "legs":
                values["leg_fields"] = [
                    (leg.pool, leg.dex, leg.input_mint, leg.output_mint, leg.in_amount)
                    for leg in values[name]
                ]
        except DecodeError:
            assert model is None, f"view failed on {name} but the model decoded"
    for model_type in EVENT_TYPES.values():
        with contextlib.suppress(DecodeError):
            model_type.decode(buf)


@FUZZ
@given(st.binary(max_size=700))
def test_random_bytes(buf: bytes) -> None:
    _read_everything(buf)


@FUZZ
@given(st.binary(max_size=700))
def test_random_bytes_with_a_valid_identifier(buf: bytes) -> None:
    for ident in EVENT_TYPES:
        _read_everything(buf[:4] + ident + buf[8:])


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_truncations(valid: bytes, data: st.DataObject) -> None:
    n = data.draw(st.integers(0, len(valid) - 1))
    _read_everything(valid[:n])


@FUZZ
@given(st.sampled_from(VALID), st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
def test_bit_flips(valid: bytes, flips: list[int]) -> None:
    buf = bytearray(valid)
    for f in flips:
        bit = f % (8 * len(buf))
        buf[bit // 8] ^= 1 << (bit % 8)
    _read_everything(buf)


@FUZZ
@given(st.sampled_from(VALID), st.integers(0, 700), st.binary(min_size=1, max_size=8))
def test_overwritten_bytes(valid: bytes, at: int, junk: bytes) -> None:
    at %= len(valid)
    _read_everything(valid[:at] + junk + valid[at + len(junk) :])


def test_untouched_buffers_decode() -> None:
    for buf in VALID:
        assert isinstance(decode_event(buf), EventModel)
