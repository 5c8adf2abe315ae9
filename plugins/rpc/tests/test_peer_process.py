"""Against ``lstarb simnet --drive`` as a user runs it: a process killed with SIGKILL mid-run
(no close frame, no goodbye) and started again; the source ends equal to the new peer."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from typing import Any

import pytest
from rpc_testlib import Collector, fast_config
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey

from lstarb_rpc import RpcSource
from lstarb_runtime.builtin.replay import bundled_market, load_market

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def start_peer(port: int, start_epoch: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "simnet",
            "--port",
            str(port),
            "--drive",
            "--seed",
            "4",
            "--slot-ms",
            "40",
            "--start-epoch",
            str(start_epoch),
            "--duration",
            "120",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


async def matches_the_peer(seen: Collector, http: str, keys: list[Pubkey]) -> list[str]:
    """Accounts whose view is neither the peer's state at slot C nor newer than C, once the
    source has seen slot C + 2 (PubSub sends a slot's changes before the next slot's tick)."""
    async with AsyncClient(http) as client:
        snapshot = {}
        for i in range(0, len(keys), 100):
            reply = await client.get_multiple_accounts(keys[i : i + 100], Confirmed)
            for key, account in zip(keys[i : i + 100], reply.value, strict=True):
                snapshot[key] = (reply.context.slot, account)
    newest = max(slot for slot, _ in snapshot.values())
    await seen.until(lambda: bool(seen.slots) and seen.slots[-1].slot >= newest + 2)
    wrong = []
    for key, (slot, account) in snapshot.items():
        update = seen.view.get(key)
        if update is not None and update.slot > slot:
            continue
        if account is None or update is None or update.data != bytes(account.data):
            wrong.append(str(key))
    return wrong


async def test_peer_killed_with_sigkill_and_restarted() -> None:
    keys = list(load_market(bundled_market()))
    first, info = start_peer(0, 950)
    port = int(info["http"].rsplit(":", 1)[1])
    second = None
    source = RpcSource(fast_config(info["http"]))
    seen = Collector(source)
    try:
        await source.subscribe(keys)
        await asyncio.sleep(1.0)
        assert not await matches_the_peer(seen, info["http"], keys)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        await seen.until(lambda: source.counters()[f"127.0.0.1:{port}"]["disconnects"] >= 1)
        # the node comes back later in the chain, its accounts as they now are
        second, again = start_peer(port, 951)
        assert again["http"] == info["http"]
        await seen.until(lambda: source.counters()[f"127.0.0.1:{port}"]["connects"] >= 2, 20)
        await asyncio.sleep(0.5)
        assert not await matches_the_peer(seen, info["http"], keys)
        assert seen.versions_increase()
        assert seen.slots[-1].slot >= 951 * 432_000
    finally:
        await seen.close()
        for proc in (first, second):
            if proc is not None:
                proc.kill()
                proc.wait(10)
