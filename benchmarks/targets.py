"""Every hot-path benchmark against the target its issue set, as one Markdown table.

    python benchmarks/targets.py            # runs the pytest benchmarks (about 2 minutes)
    python benchmarks/targets.py RUN.json   # or reads a --benchmark-json file

Why a script: the numbers live in six plugins and the event codec; a reviewer wants them side
by side with their targets, measured in one run on one machine (docs/performance.md is this
script's output). Nothing here asserts: a missed target shows as "no".
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    what: str
    benchmark: str  # pytest-benchmark fullname
    target_us: float | None
    stat: str = "median"  # or "p99": the benchmark's extra_info["p99_us"] (latency targets)

    @property
    def key(self) -> str:
        return self.benchmark if self.stat == "median" else f"{self.benchmark}@{self.stat}"


def _crossing(base: float, per: float, n: int) -> float:
    return base + per * n


ROWS = [
    Row(
        "event: opportunity, decode + read 2 fields (lazy view)",
        "benchmarks/bench_events.py::test_view_opportunity_read_two_fields",
        5.0,
    ),
    Row(
        "event: pool state, verified model decode",
        "benchmarks/bench_events.py::test_decode_pool_state_model",
        None,
    ),
    Row(
        "event: opportunity, encode",
        "benchmarks/bench_events.py::test_encode_opportunity_flatbuffers",
        None,
    ),
    Row(
        "event: tape (10 KB tick array), from_update + encode",
        "benchmarks/bench_events.py::test_tape_event_from_update_and_encode",
        None,
    ),
    Row(
        "event: tape (10 KB tick array), verified model decode",
        "benchmarks/bench_events.py::test_decode_tape_event_model",
        None,
    ),
    Row(
        "event: crafted 1 MB opportunity (250,000 shared legs), refused",
        "benchmarks/bench_events.py::test_refuse_crafted_event",
        None,
    ),
    Row(
        "Orca: decode Whirlpool",
        "plugins/orca/benchmarks/bench_orca.py::test_decode_whirlpool",
        5.0,
    ),
    *(
        Row(
            f"Orca: quote, {n} ticks crossed",
            f"plugins/orca/benchmarks/bench_orca.py::test_quote[{n}]",
            _crossing(10, 2.5, n),
        )
        for n in (0, 5, 20)
    ),
    Row(
        "Raydium AMM V4: decode",
        "plugins/raydium/benchmarks/bench_cp.py::test_decode[amm_v4_info]",
        5.0,
    ),
    Row(
        "Raydium AMM V4: quote exact in",
        "plugins/raydium/benchmarks/bench_cp.py::test_quote[amm_v4_exact_in]",
        3.0,
    ),
    Row(
        "Raydium AMM V4: quote exact out",
        "plugins/raydium/benchmarks/bench_cp.py::test_quote[amm_v4_exact_out]",
        3.0,
    ),
    Row(
        "Raydium CPMM: decode pool state",
        "plugins/raydium/benchmarks/bench_cp.py::test_decode[cpmm_pool_state]",
        5.0,
    ),
    Row(
        "Raydium CPMM: quote exact in",
        "plugins/raydium/benchmarks/bench_cp.py::test_quote[cpmm_exact_in]",
        3.0,
    ),
    Row(
        "Raydium CPMM: quote exact out",
        "plugins/raydium/benchmarks/bench_cp.py::test_quote[cpmm_exact_out]",
        3.0,
    ),
    Row(
        "Raydium CLMM: decode pool state",
        "plugins/raydium/benchmarks/bench_clmm.py::test_decode_pool_state",
        5.0,
    ),
    *(
        Row(
            f"Raydium CLMM: quote, {n} ticks crossed",
            f"plugins/raydium/benchmarks/bench_clmm.py::test_quote_crossing[dense-{n}]",
            _crossing(10, 2.5, n),
        )
        for n in (0, 5, 20)
    ),
    Row(
        "Meteora DLMM: decode LbPair",
        "plugins/meteora/benchmarks/bench_meteora.py::test_decode_lb_pair",
        5.0,
    ),
    *(
        Row(
            f"Meteora DLMM: quote, {n} bins crossed",
            f"plugins/meteora/benchmarks/bench_meteora.py::test_quote_crossing[x_to_y-{n}]",
            _crossing(10, 2.0, n),
        )
        for n in (0, 10, 50)
    ),
    Row(
        "PumpSwap: decode pool",
        "plugins/pumpswap/benchmarks/bench_pumpswap.py::test_decode_pool",
        5.0,
    ),
    *(
        Row(
            f"PumpSwap: quote, {side} exact {'in' if exact == 'True' else 'out'}",
            f"plugins/pumpswap/benchmarks/bench_pumpswap.py::test_quote[{side}-{exact}]",
            3.0,
        )
        for side in ("buy", "sell")
        for exact in ("True", "False")
    ),
    *(
        Row(
            f"lst strategies: update -> opportunities, {market}, {scenario}, p99",
            "benchmarks/bench_strategy_latency.py::"
            f"test_update_to_opportunities[{ident}-{scenario}]",
            target,
            "p99",
        )
        for market, ident, target in (
            ("16 pairs", "16-pairs", 1000.0),
            ("1,000 pools", "1000-pools", 1500.0),
        )
        for scenario in ("realistic", "adversarial")
    ),
    Row(
        "metrics: stage observe + counter inc, children bound once",
        "benchmarks/bench_observability.py::test_metrics_bound_observe_and_inc",
        3.0,
    ),
    Row(
        "metrics: the same with labels() on every call",
        "benchmarks/bench_observability.py::test_metrics_labels_each_call",
        None,
    ),
    Row(
        "Kamino: flash-loan wrap of a 3-leg route",
        "plugins/kamino/benchmarks/bench_kamino.py::test_wrap_three_leg_route",
        100.0,
    ),
    Row(
        "Kamino: reserve update (decode + checks)",
        "plugins/kamino/benchmarks/bench_kamino.py::test_update_reserve",
        None,
    ),
    Row(
        "Jito: bundle checks + encoding, 2 transactions",
        "plugins/jito/benchmarks/bench_jito.py::test_prepare_bundle",
        None,
    ),
    Row(
        "Jito: sendBundle round trip to the local peer",
        "plugins/jito/benchmarks/bench_jito.py::test_send_bundle_round_trip",
        None,
    ),
]


def run_benchmarks() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "--benchmark-enable",
                "--benchmark-max-time=0.5",
                f"--benchmark-json={out}",
                "benchmarks",
                *map(str, ROOT.glob("plugins/*/benchmarks")),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return medians(json.loads(out.read_text()))


def medians(doc: dict[str, object]) -> dict[str, float]:
    """Each benchmark's median (µs), and ``fullname@p99`` where it records a p99 in extra_info."""
    benches = doc["benchmarks"]
    assert isinstance(benches, list)
    out = {b["fullname"]: b["stats"]["median"] * 1e6 for b in benches}
    out.update(
        {
            f"{b['fullname']}@p99": b["extra_info"]["p99_us"]
            for b in benches
            if "p99_us" in b.get("extra_info", {})
        }
    )
    return out


def table(measured: dict[str, float]) -> str:
    lines = ["| what | µs (median unless p99) | target (µs) | met |", "|---|---:|---:|---|"]
    for row in ROWS:
        got = measured.get(row.key)
        if got is None:
            lines.append(f"| {row.what} | not run | | |")
            continue
        target = "" if row.target_us is None else f"{row.target_us:g}"
        met = "" if row.target_us is None else ("yes" if got <= row.target_us else "**no**")
        lines.append(f"| {row.what} | {got:.2f} | {target} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    data = medians(json.loads(Path(sys.argv[1]).read_text())) if len(sys.argv) > 1 else None
    print(table(data if data is not None else run_benchmarks()))
