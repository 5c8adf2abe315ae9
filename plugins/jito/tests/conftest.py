"""Shared fixtures of the jito tests: local block engines and signed transactions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from block_engine import BlockEngine  # noqa: E402


@pytest.fixture
def engine() -> Iterator[BlockEngine]:
    with BlockEngine() as peer:
        yield peer


@pytest.fixture
def engines() -> Iterator[list[BlockEngine]]:
    with BlockEngine() as a, BlockEngine() as b, BlockEngine() as c:
        yield [a, b, c]


class Sleeps:
    """An ``asyncio.sleep`` stand-in that records what the client asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        import asyncio

        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def fast(**overrides: Any) -> dict[str, Any]:
    """Settings for tests: short timeouts and backoffs."""
    base: dict[str, Any] = {
        "timeout_s": 0.5,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "poll_interval_s": 0.01,
        "invalid_after_s": 0.05,
    }
    base.update(overrides)
    return base
