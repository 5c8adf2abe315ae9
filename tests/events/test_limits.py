"""What a decode may cost is bounded (issue 10 item 8): oversized vectors and buffers are refused
with DecodeError before they are read, and writers cannot produce what readers refuse."""

from __future__ import annotations

import flatbuffers
import pydantic
import pytest

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import OpportunityEvent, OpportunityView, decode_event
from lstarb_sdk.events._codec import MAX_EVENT_BYTES
from lstarb_sdk.events._schema import MAX_LEGS
from lstarb_sdk.events.examples import example_opportunity


def _opportunity_sharing_one_leg(n: int) -> bytes:
    """An OpportunityEvent whose ``n`` legs all point at one shared Leg table (the attack)."""
    from lstarb_sdk.events._generated import Leg as L
    from lstarb_sdk.events._generated import OpportunityEvent as O

    leg = example_opportunity().legs[0]
    b = flatbuffers.Builder(4 * n + 1024)
    pool, mint_in, mint_out = (
        b.CreateByteVector(bytes(k)) for k in (leg.pool, leg.input_mint, leg.output_mint)
    )
    dex = b.CreateString(leg.dex)
    L.Start(b)
    L.AddPool(b, pool)
    L.AddDex(b, dex)
    L.AddInputMint(b, mint_in)
    L.AddOutputMint(b, mint_out)
    L.AddInAmount(b, leg.in_amount)
    L.AddOutAmount(b, leg.out_amount)
    shared = L.End(b)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(shared)
    legs = b.EndVector()
    oid, base = b.CreateString("crafted"), b.CreateByteVector(bytes(leg.input_mint))
    O.Start(b)
    O.AddVersion(b, 2)
    O.AddId(b, oid)
    O.AddBaseMint(b, base)
    O.AddLegs(b, legs)
    b.Finish(O.End(b), file_identifier=b"LSOP")
    return bytes(b.Output())


def test_a_million_byte_event_of_shared_legs_is_refused() -> None:
    buf = _opportunity_sharing_one_leg(250_000)
    assert len(buf) > 1_000_000
    with pytest.raises(DecodeError, match="legs has 250000 elements, at most 64"):
        decode_event(buf)
    with pytest.raises(DecodeError, match="legs has 250000"):
        _ = OpportunityView(buf).legs
    with pytest.raises(DecodeError):
        OpportunityView(buf).verify()


def test_legs_up_to_the_bound_decode() -> None:
    ev = OpportunityEvent.decode(_opportunity_sharing_one_leg(MAX_LEGS))
    assert len(ev.legs) == MAX_LEGS
    with pytest.raises(DecodeError):
        OpportunityEvent.decode(_opportunity_sharing_one_leg(MAX_LEGS + 1))


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
