"""Issue 11 item 4: the Makefile sets the environment up once, and again only when a
pyproject.toml or the set-up script changed (``$(STAMP)``).

Checked cheaply with make's own dry run (``-n``) and question mode (``-q``) on a copy of the
Makefile and the files it depends on in a temp directory: nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = "./scripts/dev-setup.sh"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The Makefile and what ``$(STAMP)`` depends on, all dated an hour ago."""
    if shutil.which("make") is None:
        pytest.fail("make is missing: apt-get install make")
    files = [
        "Makefile",
        "pyproject.toml",
        "scripts/dev-setup.sh",
        *(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/pyproject.toml")),
        *(str(p.relative_to(ROOT)) for p in ROOT.glob("examples/*/pyproject.toml")),
    ]
    for name in files:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
        _age(target, 3600)
    return tmp_path


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def make(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        env={**os.environ, "MAKEFLAGS": ""},
    )


def test_the_set_up_runs_once_then_only_when_a_pyproject_changes(checkout: Path) -> None:
    stamp = checkout / ".venv" / ".installed"
    first = make(checkout, "-n", "run")
    assert first.returncode == 0, first.stderr
    assert SETUP in first.stdout and f"touch {stamp.relative_to(checkout)}" in first.stdout
    assert make(checkout, "-q", ".venv/.installed").returncode == 1  # not set up yet

    stamp.parent.mkdir()
    stamp.touch()  # what the set-up's last command leaves
    for target in ("run", "lint", "pytest"):
        again = make(checkout, "-n", target)
        assert again.returncode == 0, again.stderr
        assert SETUP not in again.stdout, f"make {target} would set up again:\n{again.stdout}"
    assert ".venv/bin/lstarb run" in make(checkout, "-n", "run").stdout
    assert make(checkout, "-q", ".venv/.installed").returncode == 0  # up to date

    plugin = next(checkout.glob("plugins/*/pyproject.toml"))
    plugin.touch()  # a plugin's dependencies changed: set up again
    changed = make(checkout, "-n", "run")
    assert SETUP in changed.stdout, changed.stdout
    assert make(checkout, "-q", ".venv/.installed").returncode == 1
