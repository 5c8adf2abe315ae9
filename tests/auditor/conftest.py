"""A real nats-server and a fresh ledger (SQLite file, or a PostgreSQL schema of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lstarb_runtime.bus import EmbeddedNats, free_local_url

from ..ledger.conftest import postgres_url  # noqa: F401 (fixture)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every auditor test runs on both databases: they must behave the same."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'ledger.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
