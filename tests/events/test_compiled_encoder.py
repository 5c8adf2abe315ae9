"""The writer compiled per event class writes exactly what the generic writer writes.

``EventModel.encode`` goes through :func:`compile_encoder` (faster: no per-field ``getattr`` or
kind dispatch); :func:`encode_root` is the reference. For every event type, arbitrary field
values (in range or not, optional strings absent or present, legs and metadata of any length)
give the same bytes from both, or the same error.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_sdk.events import EVENT_TYPES, EventModel, LegEvent
from lstarb_sdk.events._codec import Field, TableSpec, compile_encoder, encode_root
from lstarb_sdk.events._schema import KEY_VALUE
from lstarb_sdk.events.examples import example_events

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i64": 64}


def _integer(kind: str) -> st.SearchStrategy[int]:
    bits = _BITS[kind]
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if kind == "i64" else (0, 2**bits - 1)
    # mostly in range; sometimes just outside it, or far (both writers must refuse alike)
    return st.one_of(
        st.integers(low, high),
        st.sampled_from([low - 1, high + 1]),
        st.integers(-(2**70), 2**70),
    )


def _value(f: Field) -> st.SearchStrategy[Any]:
    kind = f.kind
    if kind in _BITS:
        return _integer(kind)
    if kind == "bool":
        return st.booleans()
    if kind == "f64":
        return st.floats()
    if kind == "str":
        return st.text(max_size=40)
    if kind == "optstr":
        return st.none() | st.text(max_size=40)
    if kind == "pubkey":
        return st.one_of(
            st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes),
            st.binary(max_size=40),  # a wrong length: refused by both
        )
    if kind == "bytes":
        return st.binary(max_size=300)
    if kind == "kv":
        return st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4)
    assert kind == "tables" and f.sub is not None
    return st.lists(_table(LegEvent, f.sub), max_size=4)


def _table(cls: type[Any], spec: TableSpec) -> st.SearchStrategy[Any]:
    """An instance of ``cls`` with a value for every field of ``spec``, never validated."""
    fields = {f.name: _value(f) for f in spec.fields if f.name in cls.model_fields}
    return st.fixed_dictionaries(fields).map(lambda d: cls.model_construct(**d))


def _outcome(encode: Any, event: EventModel) -> tuple[str, Any]:
    try:
        return "bytes", encode(event)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@st.composite
def _events(draw: st.DrawFn) -> EventModel:
    cls = draw(st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda c: c.__name__)))
    event: EventModel = draw(_table(cls, cls.SPEC))
    return event


@SETTINGS
@given(_events())
def test_same_bytes_or_same_error_as_the_generic_writer(event: EventModel) -> None:
    expected = _outcome(lambda e: encode_root(e.SPEC, e), event)
    assert _outcome(EventModel.encode, event) == expected


def test_every_event_type_is_covered_and_the_examples_agree() -> None:
    examples = example_events()
    assert {type(e) for e in examples.values()} == set(EVENT_TYPES.values())
    for event in examples.values():
        assert event.encode() == encode_root(event.SPEC, event)
        assert type(event).decode(event.encode()) == event


def test_an_instance_missing_a_field_takes_the_generic_path() -> None:
    event = example_events()["AccountEvent"]
    assert event.seq != 0
    encoder = compile_encoder(event.SPEC, type(event).model_fields.keys())
    del event.__dict__["seq"]  # getattr now finds nothing: the field's write default (0)
    assert encoder(event) == encode_root(event.SPEC, event)
    assert encoder(event) != example_events()["AccountEvent"].encode()


def test_a_table_with_a_vector_of_its_own_is_written_by_the_generic_writer() -> None:
    """No schema nests a vector in a vector's table; a spec that did is still written right."""
    inner = TableSpec("Inner", [Field("name", "str"), Field("tags", "kv", KEY_VALUE)])
    outer = TableSpec("Outer", [Field("items", "tables", inner)], ident=b"TEST")
    obj = SimpleNamespace(items=[SimpleNamespace(name="a", tags={"k": "v"}), SimpleNamespace()])
    encoder = compile_encoder(outer, ["items"])
    assert encoder(obj) == encode_root(outer, obj)
