"""Shared fixtures of the jito tests: local block engines and signed transactions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from block_engine import BlockEngine  # noqa: E402
from jito_testlib import Sleeps  # noqa: E402


@pytest.fixture
def engine() -> Iterator[BlockEngine]:
    with BlockEngine() as peer:
        yield peer


@pytest.fixture
def engines() -> Iterator[list[BlockEngine]]:
    with BlockEngine() as a, BlockEngine() as b, BlockEngine() as c:
        yield [a, b, c]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
