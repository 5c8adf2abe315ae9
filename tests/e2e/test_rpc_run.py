"""``lstarb run --plugins rpc,raydium,meteora,orca,pumpswap`` against a driven local peer.

The peer (a real simnet with its market driver) runs in a thread of its own, the run in the
test's thread, the bus on a real nats-server. Mid-run the peer goes away while its market
keeps moving, and comes back. Then, from MARKET_DATA alone:

- every change of a constant-product pool's vault is followed by that pool's state stamped
  with the same (slot, write order), before the vault's next change: each pool change is
  published on the notification that carried it, none folded into a later one (the
  accounts of a burst go on the tape first, ``[scanner] tape_first``, so the state comes
  after the burst's other accounts, not necessarily right after its own);
- the pool book rebuilt from the tape equals the peer's accounts: nothing was lost across
  the outage.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lstarb_runtime import cli as cli_module
from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.cli import cli
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_runtime.tape import rebuild_book
from lstarb_sdk.events import AccountEvent, EventModel, PoolStateEvent
from lstarb_sdk.tokens import MINTS_OF_INTEREST

PLUGINS = "rpc,raydium,meteora,orca,pumpswap"
CONSTANT_PRODUCT = {"raydium-amm-v4", "raydium-cpmm", "pumpswap"}


class PeerThread:
    """A driven simnet on its own event loop in a thread; slots stepped every 50 ms."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.net = self.call(self._make())
        self._stepper: asyncio.Task[None] | None = None

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(30)

    async def _make(self) -> Simnet:
        net = Simnet(SimnetConfig(port=0, slot_ms=0, drive=True, seed=12))
        await net.start()
        return net

    async def _step(self) -> None:
        while True:
            self.net.step()
            await asyncio.sleep(0.05)

    async def _start_stepping(self) -> None:
        self._stepper = asyncio.create_task(self._step())

    async def _stop_stepping(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
            self._stepper = None

    def stepping(self, on: bool) -> None:
        self.call(self._start_stepping() if on else self._stop_stepping())

    def down(self) -> int:
        port = self.net.port
        self.call(self.net.stop())
        return port

    def up(self, port: int) -> None:
        self.net.config.port = port
        self.call(self.net.start())

    def close(self) -> None:
        self.stepping(False)
        self.call(self.net.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def peer() -> Iterator[PeerThread]:
    thread = PeerThread()
    try:
        yield thread
    finally:
        thread.close()


async def _read_market_data(url: str) -> list[EventModel]:
    bus = await JetStreamBus.connect(url)
    try:
        states = {s.name: s for s in await bus.stream_states()}
        expected = states["MARKET_DATA"].messages
        got: list[EventModel] = []
        done = asyncio.Event()

        async def handle(delivery: Delivery) -> None:
            got.append(delivery.event)
            if len(got) >= expected:
                done.set()

        await bus.consume("MARKET_DATA", "e2e-rpc", handle)
        await asyncio.wait_for(done.wait(), 30)
        return got
    finally:
        await bus.close()


async def _rebuilt(url: str) -> Any:
    bus = await JetStreamBus.connect(url)
    try:
        return await rebuild_book(bus, cli_module._host())
    finally:
        await bus.close()


@pytest.mark.slow
def test_run_follows_a_driven_peer_through_an_outage(
    peer: PeerThread, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = free_local_url()
    config = tmp_path / "lstarb.toml"
    mints = ", ".join(f'"{m}"' for m in MINTS_OF_INTEREST)
    config.write_text(
        f'[plugins.rpc]\nurl = "{peer.net.http_url}"\nbackoff_max_s = 0.5\n'
        f"[scanner]\nmints = [{mints}]\n"
    )
    with EmbeddedNats(url, tmp_path / "server"):
        monkeypatch.setenv("LSTARB_NATS__URL", url)
        monkeypatch.setenv("LSTARB_NATS__EMBEDDED", "false")

        def script() -> None:
            import time

            peer.stepping(True)
            time.sleep(3)
            port = peer.down()  # the node goes away; its market does not stop
            time.sleep(1)
            peer.up(port)
            time.sleep(3)
            peer.stepping(False)  # a still market for the final comparison

        driver = threading.Thread(target=script)
        driver.start()
        args = ["run", "--config", str(config), "--plugins", PLUGINS, "--duration", "10"]
        result = runner.invoke(cli, args)
        driver.join()
        assert result.exit_code == 0, result.output
        pools = re.search(r"pools decoded\s+(\d+)", result.output)
        assert pools and int(pools.group(1)) >= 5, result.output
        assert "session ended: ConnectionLost" in result.output  # the outage reached the source
        events = asyncio.run(_read_market_data(url))
        book = asyncio.run(_rebuilt(url))

    # every constant-product vault change is published as that pool's state, at once
    vault_of = {
        key: address
        for address, pool in book.pools.items()
        if pool.dex in CONSTANT_PRODUCT
        for key in pool.accounts_to_update()
        if key != address
    }
    seen_keys: set[Any] = set()
    checked = 0
    for i, event in enumerate(events):
        if not isinstance(event, AccountEvent) or event.pubkey not in vault_of:
            continue
        if event.pubkey not in seen_keys:  # its first state: the snapshot, before the pool
            seen_keys.add(event.pubkey)
            continue
        following = []
        for later in events[i + 1 :]:
            if isinstance(later, AccountEvent) and later.pubkey == event.pubkey:
                break
            following.append(later)
        pool = vault_of[event.pubkey]
        assert any(
            isinstance(s, PoolStateEvent)
            and s.pool == pool
            and (s.slot, s.write_version) == (event.slot, event.write_version)
            for s in following
        ), f"vault {event.pubkey} at slot {event.slot}: no state of pool {pool} published"
        checked += 1
    assert checked >= 10  # the driver traded the pools many times

    # nothing lost across the outage: the book rebuilt from the tape is the peer's market
    assert book.pools
    differing = []
    for key, account in book.accounts.items():
        entry = peer.net.store.get(str(key))
        if entry is None:
            if account is not None:
                differing.append(str(key))
        elif account is None or bytes(account.data) != entry.data:
            differing.append(str(key))
    assert not differing, differing[:5]
