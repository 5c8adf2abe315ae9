"""The halt switch follows the ``control`` bucket through a nats-server restart."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.control import state as control
from lstarb_runtime.services.halt import HaltSwitch


async def _until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_change_made_after_a_server_restart_reaches_the_switch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = EmbeddedNats(free_local_url(), tmp_path / "nats")
    server.start()
    bus = other = None
    halt = HaltSwitch()
    try:
        bus = await JetStreamBus.connect(server.url)
        await bus.ensure_streams()
        await halt.follow(bus)
        await control.command(bus, halted=True, reason="before", by="t")
        await _until(lambda: halt.halted)
        server.stop()
        server.start()  # same store: the bucket keeps the state
        other = await JetStreamBus.connect(server.url)
        assert (await control.read(other)).halted
        with caplog.at_level(logging.WARNING, logger="lstarb.halt"):
            await control.command(other, halted=False, reason="after", by="t")
            await _until(lambda: not halt.halted)
        assert halt.reason == "resume (by t): after"
        # the watch's subscription died with the server; the direct read found the change
        assert "changed unseen by the watch" in caplog.text
    finally:
        await halt.stop()
        for b in (bus, other):
            if b is not None:
                await b.close()
        server.stop()


async def test_a_switch_stopped_at_once_leaves_no_watch_running(tmp_path: Path) -> None:
    """A run that ends while the watch is still being set up must still exit: every task of
    the switch ends (a watch whose cancellation nats-py turned into an error once looped on
    retries forever and held ``asyncio.run`` at exit)."""
    server = EmbeddedNats(free_local_url(), tmp_path / "nats")
    server.start()
    bus = await JetStreamBus.connect(server.url)
    try:
        await bus.ensure_streams()
        for n in range(30):
            halt = HaltSwitch()
            await halt.follow(bus)
            for _ in range(n % 4):
                await asyncio.sleep(0)  # stop at different points of the watch's set-up
            await asyncio.wait_for(halt.stop(), 10)
        await bus.close()  # the connection goes: a watch still alive would now fail and retry
        await asyncio.sleep(1.5)
        mine = [t for t in asyncio.all_tasks() if t.get_name().startswith("lstarb-halt")]
        assert all(t.done() for t in mine), mine
    finally:
        await bus.close()
        server.stop()
