"""``make run`` twice on the same NATS server: the second run plans as the first did.

Two consecutive embedded runs (no seed given, 50 ms slots, 25 s then 15 s) against one real
nats-server that outlives them, as the server at 127.0.0.1:4222 outlives ``make run``. The
streams keep the first run's market tape and opportunities, so the second run must trade
another market (a drawn seed) on a chain that starts after the tape's last slot.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.bus import EmbeddedNats, free_local_url
from lstarb_runtime.cli import cli
from lstarb_runtime.embedded.tape_slot import last_tape_slot

FIRST_S, SECOND_S = 25, 15
"""The second run is shorter: a chain that started at the first run's first slot again would
not reach the end of its tape (so every opportunity would be too old) before it ends."""


@dataclass
class Run:
    exit_code: int
    output: str
    summary: dict[str, Any]
    tape_slot: int | None = None
    """The last slot on the market tape when the run ended."""


def _run(tmp: Path, name: str, duration: int) -> Run:
    config = tmp / "lstarb.toml"
    config.write_text(f'[simnet]\nslot_ms = 50\n[auditor]\nledger_path = "{tmp / "ledger"}"\n')
    summary = tmp / f"{name}.json"
    args = ["run", "--config", str(config), "--duration", str(duration)]
    result = CliRunner().invoke(cli, [*args, "--summary-json", str(summary)])
    doc = json.loads(summary.read_text()) if summary.exists() else {}
    return Run(result.exit_code, result.output, doc)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    tmp = tmp_path_factory.mktemp("rerun")
    with (
        EmbeddedNats(free_local_url(), tmp / "nats") as server,
        pytest.MonkeyPatch.context() as mp,
    ):
        for var in [v for v in os.environ if v.startswith("LSTARB_")]:
            mp.delenv(var)
        mp.setenv("LSTARB_NATS__URL", server.url)
        mp.setattr(cli_module, "_HOST", None)
        first = _run(tmp, "first", FIRST_S)
        first.tape_slot = asyncio.run(last_tape_slot(server.url))
        second = _run(tmp, "second", SECOND_S)
    yield first, second


def test_both_runs_plan_and_trade(two_runs: tuple[Run, Run]) -> None:
    for run in two_runs:
        assert run.exit_code == 0, run.output
        pipeline = run.summary["pipeline"]
        assert pipeline["plans"] > 0, run.output
        assert pipeline["executions"] == pipeline["plans"], run.output


def test_each_run_draws_a_seed_and_says_how_to_repeat_it(two_runs: tuple[Run, Run]) -> None:
    seeds = []
    for run in two_runs:
        peer = run.summary["peer"]
        seed = peer["seed"]
        assert peer["seed_drawn"] == 1
        assert (
            f"seed: {seed}, drawn for this run (repeat this market: lstarb run --seed {seed})"
            in (run.output)
        )
        assert re.search(
            rf"local peer\s+seed {seed} \(the same market again: lstarb run --seed {seed}; "
            r"on this bus its plans are then already decided\)",
            run.output,
        )
        seeds.append(seed)
    assert seeds[0] != seeds[1]


def test_the_second_chain_starts_after_the_first(two_runs: tuple[Run, Run]) -> None:
    first, second = (run.summary["peer"] for run in two_runs)
    tape_slot = two_runs[0].tape_slot
    assert tape_slot is not None and tape_slot > first["start_slot"]  # the first run's market
    assert second["start_slot"] == tape_slot + 1
    banner = f"chain: from slot {second['start_slot']}, after the last slot on the market tape"
    assert f"{banner} ({tape_slot})" in two_runs[1].output
    assert "chain: from slot" not in two_runs[0].output  # a fresh server: no tape yet
