"""What a decode may cost is bounded (issue 10 item 8): oversized vectors and buffers are refused
with DecodeError before they are read, and writers cannot produce what readers refuse."""

from __future__ import annotations

import pydantic
import pytest

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import OpportunityEvent, OpportunityView, decode_event
from lstarb_sdk.events._codec import MAX_EVENT_BYTES
from lstarb_sdk.events._schema import MAX_LEGS
from lstarb_sdk.events.examples import example_opportunity, shared_leg_opportunity


def test_a_million_byte_event_of_shared_legs_is_refused() -> None:
    buf = shared_leg_opportunity(250_000)
    assert len(buf) > 1_000_000
    with pytest.raises(DecodeError, match="legs has 250000 elements, at most 64"):
        decode_event(buf)
    with pytest.raises(DecodeError, match="legs has 250000"):
        _ = OpportunityView(buf).legs
    with pytest.raises(DecodeError):
        OpportunityView(buf).verify()


def test_legs_up_to_the_bound_decode() -> None:
    ev = OpportunityEvent.decode(shared_leg_opportunity(MAX_LEGS))
    assert len(ev.legs) == MAX_LEGS
    with pytest.raises(DecodeError):
        OpportunityEvent.decode(shared_leg_opportunity(MAX_LEGS + 1))


def test_writers_cannot_produce_what_readers_refuse() -> None:
    opp = example_opportunity()
    too_many = (opp.legs[0],) * (MAX_LEGS + 1)
    with pytest.raises(pydantic.ValidationError):
        OpportunityEvent(**{**opp.model_dump(), "legs": too_many})
    sneaky = opp.model_copy(update={"legs": too_many})  # model_copy does not validate
    with pytest.raises(ValueError, match="at most 64"):
        sneaky.encode()
    with pytest.raises(pydantic.ValidationError):
        OpportunityEvent(**{**opp.model_dump(), "metadata": {str(i): "" for i in range(300)}})


def test_oversized_buffer_is_refused_before_reading() -> None:
    buf = bytearray(example_opportunity().encode())
    buf += bytes(MAX_EVENT_BYTES + 1 - len(buf))
    with pytest.raises(DecodeError, match="larger than"):
        decode_event(buf)
