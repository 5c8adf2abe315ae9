"""``benchmarks/targets.py`` names real benchmarks: a renamed one would silently drop a row."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("targets", ROOT / "benchmarks" / "targets.py")
assert _spec and _spec.loader
targets = importlib.util.module_from_spec(_spec)
sys.modules["targets"] = targets  # dataclasses look their module up while the file runs
_spec.loader.exec_module(targets)


def test_every_target_row_names_a_collected_benchmark() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "benchmarks",
            *map(str, ROOT.glob("plugins/*/benchmarks")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    collected = {line.strip() for line in out.splitlines() if "::" in line}
    missing = [row.benchmark for row in targets.ROWS if row.benchmark not in collected]
    assert not missing, f"targets.py names benchmarks that do not exist: {missing}"


def test_table_marks_a_missed_target() -> None:
    row = targets.ROWS[0]
    assert "| yes |" in targets.table({row.benchmark: row.target_us or 1.0})
    assert "**no**" in targets.table({row.benchmark: (row.target_us or 1.0) + 1})
