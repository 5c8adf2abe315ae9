"""Event models, views and the SDK-dataclass fast path: round trips and DecodeError."""

from __future__ import annotations

import json

import pydantic
import pytest
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Command,
    EventModel,
    ExecutionResultEvent,
    OpportunityEvent,
    OpportunityView,
    PoolStateEvent,
    PoolStateView,
    SystemCommandEvent,
    decode_event,
    decode_execution_result,
    decode_opportunity,
    encode_execution_result,
    encode_opportunity,
    event_type,
    view_event,
)
from lstarb_sdk.events.examples import example_events, example_opportunity, example_pool_state

EXAMPLES = example_events()


@pytest.fixture(params=sorted(EXAMPLES), ids=str)
def example(request: pytest.FixtureRequest) -> EventModel:
    return EXAMPLES[request.param]


def test_round_trip_and_identifier(example: EventModel) -> None:
    buf = example.encode()
    assert buf[4:8] == example.FILE_IDENTIFIER
    assert type(example).decode(buf) == example
    assert type(example).decode(memoryview(buf)) == example
    assert type(example).decode(bytearray(buf)) == example
    assert event_type(buf) is type(example)


def test_every_event_carries_schema_version(example: EventModel) -> None:
    decoded = type(example).decode(example.encode())
    assert decoded.schema_version == SCHEMA_VERSION
    assert view_event(example.encode()).schema_version == SCHEMA_VERSION


def test_view_reads_the_same_as_the_model(example: EventModel) -> None:
    view = view_event(example.encode())
    fields = view.verify().fields()
    for name in type(example).model_fields:
        if name == "schema_version":
            continue
        value = getattr(view, name)
        expected = getattr(example, name)
        if name == "legs":
            assert [(v.pool, v.dex, v.in_amount, v.out_amount) for v in value] == [
                (x.pool, x.dex, x.in_amount, x.out_amount) for x in expected
            ]
        else:
            assert value == expected, name
        assert name in fields


def test_every_truncation_raises(example: EventModel) -> None:
    """The codec writes no trailing padding, so every cut removes bytes a reader needs."""
    buf = example.encode()
    for n in range(len(buf)):
        with pytest.raises(DecodeError):
            type(example).decode(buf[:n])


def test_other_event_type_raises(example: EventModel) -> None:
    for other in EVENT_TYPES.values():
        if other is not type(example):
            with pytest.raises(DecodeError, match="file identifier"):
                other.decode(example.encode())


@pytest.mark.parametrize(
    "junk",
    [b"", b"\x00" * 3, b"\x00" * 64, b'{"id": "opp-1", "slot": 1}', bytes(range(256)), b"LSOP" * 8],
)
def test_not_flatbuffers_raises(junk: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_event(junk)
    with pytest.raises(DecodeError):
        OpportunityEvent.decode(junk)
    with pytest.raises(DecodeError):
        OpportunityView(junk).verify()


def test_view_checks_header_on_open() -> None:
    buf = example_pool_state().encode()
    with pytest.raises(DecodeError):
        PoolStateView(buf[:10])
    with pytest.raises(DecodeError):
        OpportunityView(buf)


def test_view_of_truncated_buffer_raises_on_the_cut_field() -> None:
    buf = example_pool_state().encode()
    view = PoolStateView(buf[: len(buf) - 3])  # cuts the last string ("rpc", the source)
    assert view.slot == example_pool_state().slot
    with pytest.raises(DecodeError):
        _ = view.source
    with pytest.raises(DecodeError):
        view.verify()


def test_fast_path_matches_the_model() -> None:
    opp = example_opportunity().to_opportunity()
    buf = encode_opportunity(opp)
    assert buf == example_opportunity().encode()
    assert decode_opportunity(buf) == opp
    result = EXAMPLES["ExecutionResultEvent"]
    assert isinstance(result, ExecutionResultEvent)
    sdk = result.to_result()
    assert (
        decode_execution_result(encode_execution_result(sdk, completed_ns=result.completed_ns))
        == sdk
    )


def test_optional_strings_stay_absent() -> None:
    ev = ExecutionResultEvent(plan_id="p", opportunity_id="o", status="paper", paper=True)
    back = ExecutionResultEvent.decode(ev.encode())
    assert back.signature is None and back.error is None
    assert back.to_result().slot is None


def test_validation_on_construction() -> None:
    with pytest.raises(pydantic.ValidationError):
        PoolStateEvent(
            pool=Pubkey.default(),
            dex="x",
            slot=-1,
            mint_a=Pubkey.default(),
            mint_b=Pubkey.default(),
        )
    with pytest.raises(pydantic.ValidationError):
        PoolStateEvent(
            pool="not base58!", dex="x", slot=1, mint_a=Pubkey.default(), mint_b=Pubkey.default()
        )
    ev = PoolStateEvent(
        pool=str(Pubkey.default()), dex="x", slot=1, mint_a=bytes(32), mint_b=Pubkey.default()
    )
    assert ev.pool == Pubkey.default()


def test_json_dump_is_readable() -> None:
    doc = json.loads(example_opportunity().model_dump_json())
    assert doc["base_mint"] == "So11111111111111111111111111111111111111112"
    assert doc["legs"][0]["dex"] == "raydium-cpmm"
    cmd = json.loads(EXAMPLES["SystemCommandEvent"].model_dump_json())
    assert cmd["command"] == "kill_switch"


def test_unknown_command_reads_as_unknown() -> None:
    buf = bytearray(EXAMPLES["SystemCommandEvent"].encode())
    ev = SystemCommandEvent.decode(buf)
    assert ev.command is Command.KILL_SWITCH
    assert Command(200) is Command.UNKNOWN
