"""Header values marked as needing no cleaning read exactly as the plain strings would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lstarb_runtime.bus.publisher import plain_header
from lstarb_runtime.bus.streams import msg_id_of
from lstarb_runtime.bus.tracing import outgoing_header
from lstarb_sdk.events.examples import example_events

NATS_TABLE = str.maketrans({"\r": " ", "\n": " "})  # what nats-py cleans header values with
OTHER_TABLE = str.maketrans({"a": "b", ":": None})


@given(st.one_of(st.text(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126))))
def test_cleaning_and_other_string_use_are_unchanged(value: str) -> None:
    marked = plain_header(value)
    assert marked == value and hash(marked) == hash(value)
    assert marked.strip().translate(NATS_TABLE) == value.strip().translate(NATS_TABLE)
    assert marked.translate(OTHER_TABLE) == value.translate(OTHER_TABLE)
    assert marked.strip("a:") == value.strip("a:")
    assert marked.encode() == value.encode()


def test_the_values_the_bus_sends_are_marked() -> None:
    for event in example_events().values():
        assert type(plain_header(msg_id_of(event))) is not str
    assert type(plain_header(outgoing_header())) is not str
    assert type(plain_header("an id\r\nwith a break")) is str  # left for nats-py to clean
