"""DESIGN.md's import rules, checked on the source (import-linter checks them too).

Plugins import lstarb only through ``lstarb_sdk``; the SDK imports neither
the runtime nor any plugin. Checked here by parsing every module, so a new
plugin directory is covered without editing a contract.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _plugin_packages() -> list[Path]:
    dirs = [p for p in (ROOT / "plugins").glob("*/lstarb_*") if p.is_dir()]
    dirs += [p for p in (ROOT / "examples").glob("*/lstarb_*") if p.is_dir()]
    return sorted(dirs)


def test_there_are_plugins_to_check() -> None:
    assert len(_plugin_packages()) >= 5


@pytest.mark.parametrize("package", _plugin_packages(), ids=lambda p: p.name)
def test_plugin_imports_only_the_sdk(package: Path) -> None:
    own = package.name
    bad = []
    for path in package.rglob("*.py"):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top.startswith("lstarb") and top not in ("lstarb_sdk", own):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "plugins may import only lstarb_sdk:\n" + "\n".join(bad)


def test_sdk_imports_no_runtime_or_plugin() -> None:
    bad = []
    for path in (ROOT / "lstarb_sdk").rglob("*.py"):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top.startswith("lstarb") and top != "lstarb_sdk":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "lstarb_sdk must stand alone:\n" + "\n".join(bad)


def _plugin_benchmarks() -> list[Path]:
    return sorted(p for p in (ROOT / "plugins").glob("*/benchmarks") if p.is_dir())


@pytest.mark.parametrize("folder", _plugin_benchmarks(), ids=lambda p: p.parent.name)
def test_plugin_benchmarks_measure_the_plugin_alone(folder: Path) -> None:
    """A benchmark that needs the runtime (a scanner, the simnet) lives in benchmarks/ at the root,
    so a plugin's folder stays importable with lstarb_sdk alone."""
    own = next(p for p in folder.parent.glob("lstarb_*") if (p / "__init__.py").exists()).name
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in folder.rglob("*.py")
        for line, module in _imports(path)
        if module.split(".")[0].startswith("lstarb")
        and module.split(".")[0] not in ("lstarb_sdk", own)
    ]
    assert not bad, "move these benchmarks to benchmarks/:\n" + "\n".join(bad)
