"""A real nats-server per test (the inspect commands only read what it holds)."""

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
