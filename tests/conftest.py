"""Fixtures shared by the runtime and end-to-end tests."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime import logs
from lstarb_runtime.bus import free_local_url


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A CLI runner with no LSTARB_* settings from the caller's shell and a bus of its own.

    ``lstarb run`` publishes to NATS; pointing it at a free port makes it start its embedded
    nats-server (data under ``tmp_path``) instead of touching a server some other process owns.
    """
    for var in [v for v in os.environ if v.startswith("LSTARB_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("LSTARB_NATS__URL", free_local_url())
    monkeypatch.setenv("LSTARB_NATS__DATA_DIR", str(tmp_path / "nats"))
    monkeypatch.setenv("LSTARB_AUDITOR__LEDGER_PATH", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setattr(cli_module, "_HOST", None)
    return CliRunner()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The runtime's log handler writing JSON lines into a string; the root logger is put
    back as it was afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    handler = logs.configure_logging("DEBUG", "json", service="auditor", stream=stream)
    yield stream
    root.removeHandler(handler)
    for h in before:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)
