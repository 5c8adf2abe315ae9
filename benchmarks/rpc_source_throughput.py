"""How many account notifications one rpc source handles, and how fast each gets through.

    python benchmarks/rpc_source_throughput.py [N]

The peer is ``lstarb simnet`` in a child process (its own interpreter and core), on free
loopback ports, slots stepped by hand; the parent runs the rpc source subscribed to 100 of
the bundled accounts (pool states, vaults, token accounts: 82 to 1,544 bytes). On request
the child changes those accounts round robin, N changes, one slot per 100 changes, either
as fast as it can or paced to a rate. Measured in the parent:

- notifications/s handled: AccountUpdates yielded by ``RpcSource.stream()`` per second
  while the peer pushes as fast as it can (the source's own ceiling when it is slower than
  the peer; the peer's push rate, read by a bare websockets client, is printed beside it);
- latency: frame received (``AccountUpdate.received_ns``, stamped when the websocket
  library hands the frame over) -> the update yielded by ``stream()``, p50 and p99, at
  paced rates (at saturation the number is queueing, not work);
- the two websocket clients the plugin could sit on, each parsing every frame into solders
  objects: solana-py's ``connect`` (websockets.legacy) and the websockets asyncio client.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

from solders.pubkey import Pubkey
from solders.rpc.responses import parse_websocket_message

warnings.simplefilter("ignore", DeprecationWarning)  # solana-py's client is websockets.legacy

ACCOUNTS = 100
PER_SLOT = 100


async def _serve() -> None:
    """Child: run the peer; on 'burst N RATE', change the chosen accounts N times."""
    from lstarb_runtime.simnet import Simnet, SimnetConfig

    net = Simnet(SimnetConfig(port=0, slot_ms=0))
    await net.start()
    chosen = [e for e in net.store.entries() if 80 <= len(e.data) <= 2_000][:ACCOUNTS]
    print(json.dumps({"http": net.http_url, "ws": net.ws_url, "keys": [e.key for e in chosen]}))
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    version = 0
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        _, count, rate = line.split()
        n, per_s = int(count), float(rate)
        start = loop.time()
        for i in range(n):
            entry = net.store.get(chosen[i % len(chosen)].key)
            assert entry is not None
            version += 1
            data = entry.data[:-8] + version.to_bytes(8, "little")
            net.store.put(entry.with_data(data), net.chain.slot)
            if i % PER_SLOT == PER_SLOT - 1:
                net.step()
            if per_s:
                delay = start + (i + 1) / per_s - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 50 == 49:
                await asyncio.sleep(0)  # let the writer task push
        print("done")
        sys.stdout.flush()
    await net.stop()


class Peer:
    def __init__(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout is not None
        info = json.loads(self.child.stdout.readline())
        self.http, self.ws = info["http"], info["ws"]
        self.keys = [Pubkey.from_string(k) for k in info["keys"]]

    def burst(self, n: int, rate: float = 0) -> None:
        assert self.child.stdin is not None
        self.child.stdin.write(f"burst {n} {rate}\n")
        self.child.stdin.flush()

    async def wait_done(self) -> None:
        assert self.child.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, self.child.stdout.readline)
        assert line.strip() == "done", line

    def close(self) -> None:
        self.child.terminate()
        self.child.wait(5)


async def _source_run(peer: Peer, n: int, rate: float) -> tuple[float, list[int]]:
    """Updates/s and received -> yielded latencies (ns) of one burst through RpcSource."""
    from lstarb_rpc import RpcConfig, RpcSource
    from lstarb_sdk import AccountUpdate

    source = RpcSource(RpcConfig(url=peer.http, ws_url=peer.ws, idle_timeout_s=120))
    await source.subscribe(peer.keys)
    latencies: list[int] = []
    stream = source.stream()
    seen = 0
    async for item in stream:  # the snapshot first
        if isinstance(item, AccountUpdate):
            seen += 1
            if seen == len(peer.keys):
                break
    peer.burst(n, rate)
    first = last = 0.0
    count = 0
    async for item in stream:
        if not isinstance(item, AccountUpdate):
            continue
        now = time.time_ns()
        latencies.append(now - item.received_ns)
        count += 1
        if count == 1:
            first = time.perf_counter()
        last = time.perf_counter()
        if count == n:
            break
    await peer.wait_done()
    await source.close()
    return (count - 1) / (last - first), latencies


async def _bare_rate(peer: Peer, n: int, client: str) -> float:
    """Frames/s read and parsed into solders objects by one websocket client."""
    from solders.account_decoder import UiAccountEncoding
    from solders.rpc.config import RpcAccountInfoConfig
    from solders.rpc.requests import AccountSubscribe

    if client == "solana-py":
        from solana.rpc.websocket_api import connect as solana_connect

        legacy = await solana_connect(peer.ws, max_size=None)

        async def send(request: AccountSubscribe) -> None:
            await legacy.send_data(request)

        async def receive() -> list[object]:
            return list(await legacy.recv())  # solana-py parses each frame with solders

        close = legacy.close
    else:
        from websockets.asyncio.client import connect

        ws = await connect(peer.ws, compression=None, max_size=None)

        async def send(request: AccountSubscribe) -> None:
            await ws.send(request.to_json())

        async def receive() -> list[object]:
            return list(parse_websocket_message(await ws.recv()))

        close = ws.close
    config = RpcAccountInfoConfig(encoding=UiAccountEncoding.Base64)
    for i, key in enumerate(peer.keys):
        await send(AccountSubscribe(key, config, i + 1))
    replies = 0
    while replies < len(peer.keys):
        replies += len(await receive())
    peer.burst(n)
    count = 0
    first = last = 0.0
    while count < n:
        count += len(await receive())
        if first == 0.0:
            first = time.perf_counter()
        last = time.perf_counter()
    await peer.wait_done()
    await close()
    return (count - 1) / (last - first)


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000


async def _main(n: int) -> None:
    peer = Peer()
    try:
        rows: list[tuple[str, str]] = []
        for client in ("websockets", "solana-py"):
            rate = await _bare_rate(peer, n, client)
            rows.append((f"frames/s read + parsed by the {client} client", f"{rate:,.0f}"))
        rate, _ = await _source_run(peer, n, 0)
        rows.append(("account notifications/s handled by one RpcSource", f"{rate:,.0f}"))
        for paced in (1_000, 5_000):
            _, lat = await _source_run(peer, min(n, paced * 4), paced)
            rows.append(
                (
                    f"received -> yielded at {paced:,}/s, p50 / p99 (µs)",
                    f"{statistics.median(lat) / 1000:.0f} / {_pct(lat, 0.99):.0f}",
                )
            )
    finally:
        peer.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"rpc source, {n:,} changes of {len(peer.keys)} accounts (load average {load})\n")
    print("| measure | value |\n|---|---:|")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve())
    else:
        asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
