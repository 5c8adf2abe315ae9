"""Shared fixtures of the jito tests: local block engines and signed transactions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from block_engine import BlockEngine
from jito_testlib import Sleeps


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
