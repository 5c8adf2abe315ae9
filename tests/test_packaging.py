"""Every distribution in the repository declares its license the way setuptools wants it now
(an SPDX expression, PEP 639), so building or installing one prints no deprecation warning."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECTS = sorted(
    [
        ROOT / "pyproject.toml",
        *ROOT.glob("plugins/*/pyproject.toml"),
        *ROOT.glob("examples/*/pyproject.toml"),
    ]
)


@pytest.mark.parametrize("path", PYPROJECTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_license_is_an_spdx_string_and_setuptools_understands_it(path: Path) -> None:
    doc = tomllib.loads(path.read_text())
    assert isinstance(doc["project"].get("license"), str), "license = { text = ... } is deprecated"
    assert "setuptools>=77" in doc["build-system"]["requires"], "SPDX strings need setuptools 77"


def test_every_plugin_is_checked() -> None:
    assert len(PYPROJECTS) >= 8  # root, seven plugins, the template
