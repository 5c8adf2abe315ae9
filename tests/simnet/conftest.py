"""Peers for the simnet tests: real servers on free loopback ports, slots stepped by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lstarb_runtime.simnet import Simnet, SimnetConfig


def manual(**overrides: object) -> SimnetConfig:
    """A peer on free ports whose slots advance only when the test calls ``step()``."""
    settings: dict[str, object] = {"port": 0, "slot_ms": 0, "genesis_unix_time": 1_760_000_000}
    settings.update(overrides)
    return SimnetConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def net() -> AsyncIterator[Simnet]:
    async with Simnet(manual()) as peer:
        yield peer


@pytest.fixture
async def driven() -> AsyncIterator[Simnet]:
    async with Simnet(manual(drive=True, seed=7, epoch_slots=64)) as peer:
        yield peer
