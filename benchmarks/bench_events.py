"""pytest-benchmark entry points for the event codecs (``pytest benchmarks --benchmark-enable``).

With the default ``--benchmark-disable`` each runs once, so the suite stays fast; the table of
record comes from ``python benchmarks/events_table.py``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from lstarb_sdk.events import OpportunityEvent, OpportunityView, PoolStateEvent, PoolStateView
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

OPP = example_opportunity()
OPP_FB = OPP.encode()
OPP_JSON = OPP.model_dump(mode="json")
POOL = example_pool_state()
POOL_FB = POOL.encode()


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
