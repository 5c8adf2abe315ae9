"""pytest-benchmark entry points for the event codecs (``pytest benchmarks --benchmark-enable``).

With the default ``--benchmark-disable`` each runs once, so the suite stays fast; the table of
record comes from ``python benchmarks/events_table.py``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.bus.streams import msg_id_of
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import (
    AccountEvent,
    OpportunityEvent,
    OpportunityView,
    PoolStateEvent,
    PoolStateView,
)
from lstarb_sdk.events.examples import (
    example_opportunity,
    example_pool_state,
    shared_leg_opportunity,
)
from lstarb_sdk.solana import account_from_json
from lstarb_sdk.types import AccountUpdate

OPP = example_opportunity()
OPP_FB = OPP.encode()
OPP_JSON = OPP.model_dump(mode="json")
POOL = example_pool_state()
POOL_FB = POOL.encode()

_KEY, _TICKS = account_from_json(
    json.loads((bundled_market() / "orca" / "jitosol-sol-ts1" / "tick_array_-264.json").read_text())
)
TICK_UPDATE = AccountUpdate(_KEY, 179_711_999, _TICKS.owner, _TICKS.lamports, bytes(_TICKS.data))
"""A real Whirlpool tick array (9,988 bytes): the largest account the tape carries often."""
TICK_EVENT = AccountEvent.from_update(TICK_UPDATE, seq=1)
TICK_FB = TICK_EVENT.encode()


def test_tape_event_from_update_and_encode(benchmark: Any) -> None:
    """The scanner's cost per raw update it puts on the tape (before the bus)."""
    assert benchmark(lambda: AccountEvent.from_update(TICK_UPDATE, seq=1).encode()) == TICK_FB


def test_tape_event_message_id(benchmark: Any) -> None:
    assert benchmark(msg_id_of, TICK_EVENT).startswith("acct:")


def test_decode_tape_event_model(benchmark: Any) -> None:
    assert benchmark(AccountEvent.decode, TICK_FB) == TICK_EVENT


def test_refuse_crafted_event(benchmark: Any) -> None:
    """The 1 MB opportunity of 250,000 legs sharing one table (issue 10): refused, not read."""
    crafted = shared_leg_opportunity(250_000)

    def refuse() -> bool:
        try:
            OpportunityEvent.decode(crafted)
        except DecodeError:
            return True
        return False

    assert benchmark(refuse)


def test_encode_opportunity_flatbuffers(benchmark: Any) -> None:
    assert benchmark(OPP.encode) == OPP_FB


def test_view_opportunity_read_two_fields(benchmark: Any) -> None:
    def run() -> tuple[int, int]:
        v = OpportunityView(OPP_FB)
        return v.expected_profit, v.slot

    assert benchmark(run) == (OPP.expected_profit, OPP.slot)


def test_decode_opportunity_model(benchmark: Any) -> None:
    assert benchmark(OpportunityEvent.decode, OPP_FB) == OPP


@pytest.mark.parametrize("codec", ["json", "orjson"])
def test_decode_opportunity_json(benchmark: Any, codec: str) -> None:
    raw = json.dumps(OPP_JSON).encode() if codec == "json" else orjson.dumps(OPP_JSON)
    loads = json.loads if codec == "json" else orjson.loads
    assert benchmark(lambda: loads(raw)["expected_profit"]) == OPP.expected_profit


def test_view_pool_state_read_two_fields(benchmark: Any) -> None:
    def run() -> tuple[int, int]:
        v = PoolStateView(POOL_FB)
        return v.reserve_a, v.slot

    assert benchmark(run) == (POOL.reserve_a, POOL.slot)


def test_decode_pool_state_model(benchmark: Any) -> None:
    assert benchmark(PoolStateEvent.decode, POOL_FB) == POOL


def test_table_renders() -> None:
    """The table script works (tiny budget: this checks it, it does not measure)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "events_table", Path(__file__).with_name("events_table.py")
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = mod.table(mod.rows(budget=0.001))
    assert "FlatBuffers (lazy view)" in text and "orjson" in text
