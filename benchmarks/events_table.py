"""Encode, decode + read two fields, and size, per event type and format: the seed's
"Performance Comparison" redone with real numbers.

    python benchmarks/events_table.py          # prints a markdown table (docs/events.md)

Formats: FlatBuffers through the SDK (model ``encode()``, lazy view read; and full verified
model decode), stdlib ``json``, ``orjson`` and pydantic's JSON. "decode+read" means: from bytes
to the values of two fields (for an opportunity ``expected_profit`` and ``slot``; for a pool
state ``reserve_a`` and ``slot``), the work a consumer does before it can decide anything.
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from lstarb_sdk.events import EventModel, OpportunityView, PoolStateView
from lstarb_sdk.events.examples import example_opportunity, example_pool_state

CASES: list[tuple[str, EventModel, type[Any], tuple[str, str]]] = [
    (
        "OpportunityEvent (2 legs)",
        example_opportunity(),
        OpportunityView,
        ("expected_profit", "slot"),
    ),
    ("PoolStateEvent", example_pool_state(), PoolStateView, ("reserve_a", "slot")),
]


def per_call_us(fn: Callable[[], object], budget: float = 0.2) -> float:
    """Best of 5 runs of a loop sized to ~``budget`` seconds, in microseconds per call."""
    n, t = 1, 0.0
    while t < budget / 10:
        n *= 4
        t = timeit.timeit(fn, number=n)
    n = max(1, int(n * budget / 10 / t * 2))
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


Formats = list[tuple[str, Callable[[], object], Callable[[], object], int]]


def formats(event: EventModel, view_cls: type[Any], f1: str, f2: str) -> Formats:
    """(format, encode, decode + read two fields, size) for one event."""
    model_cls = type(event)
    doc = event.model_dump(mode="json")
    fb = event.encode()
    js = json.dumps(doc).encode()
    oj = orjson.dumps(doc)
    pj = event.model_dump_json().encode()

    def fb_view(buf: bytes = fb) -> object:
        v = view_cls(buf)
        return getattr(v, f1), getattr(v, f2)

    def fb_model(buf: bytes = fb) -> object:
        m = model_cls.decode(buf)
        return getattr(m, f1), getattr(m, f2)

    def js_read(buf: bytes = js) -> object:
        d = json.loads(buf)
        return d[f1], d[f2]

    def oj_read(buf: bytes = oj) -> object:
        d = orjson.loads(buf)
        return d[f1], d[f2]

    def pj_read(buf: bytes = pj) -> object:
        m = model_cls.model_validate_json(buf)
        return getattr(m, f1), getattr(m, f2)

    return [
        ("FlatBuffers (lazy view)", event.encode, fb_view, len(fb)),
        ("FlatBuffers (verified model)", event.encode, fb_model, len(fb)),
        ("json (stdlib)", lambda d=doc: json.dumps(d).encode(), js_read, len(js)),
        ("orjson", lambda d=doc: orjson.dumps(d), oj_read, len(oj)),
        ("pydantic JSON", event.model_dump_json, pj_read, len(pj)),
    ]


def rows(budget: float = 0.2) -> list[dict[str, Any]]:
    out = []
    for label, event, view_cls, (f1, f2) in CASES:
        for name, enc, dec, size in formats(event, view_cls, f1, f2):
            out.append(
                {
                    "event": label,
                    "format": name,
                    "encode_us": per_call_us(enc, budget),
                    "decode_read_us": per_call_us(dec, budget),
                    "bytes": size,
                }
            )
    return out


def table(data: list[dict[str, Any]]) -> str:
    lines = [
        "| event | format | encode (µs) | decode + read 2 fields (µs) | size (bytes) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in data:
        lines.append(
            f"| {r['event']} | {r['format']} | {r['encode_us']:.2f} | "
            f"{r['decode_read_us']:.2f} | {r['bytes']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    print(table(rows(budget)))
