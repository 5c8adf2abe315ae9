"""How fast the local RPC peer (``lstarb simnet``) serves: PubSub pushes and HTTP reads.

    python benchmarks/simnet_throughput.py [N]

The peer runs in a child process (its own interpreter and core, as ``lstarb simnet`` would),
on free loopback ports, slots stepped by hand. The parent is the client.

- notifications/s: the child changes one subscribed account N times as fast as it can
  (``store.put``, the same path a driver trade or a transaction takes); the client counts
  accountNotification frames from the first to the last. Measured with a bare websockets
  client (what the peer can push) and with solana-py's websocket client (which parses each
  frame into solders objects);
- getMultipleAccounts of 100 keys (the bundled market's accounts, 100 a request, base64 and
  base64+zstd): requests/s over one keep-alive connection, and over 4 in parallel.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import websockets

HOT = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"  # a 752-byte Raydium AMM V4 pool


async def _serve() -> None:
    """Child: run the peer; on 'burst N' from stdin, change the hot account N times."""
    from lstarb_runtime.simnet import Simnet, SimnetConfig

    net = Simnet(SimnetConfig(port=0, slot_ms=0))
    await net.start()
    print(json.dumps({"http": net.http_url, "ws": net.ws_url, "keys": list(net.store.keys())}))
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.startswith("quit"):
            break
        n = int(line.split()[1])
        entry = net.store.get(HOT)
        assert entry is not None
        started = time.perf_counter()
        for i in range(n):
            data = entry.data[:-8] + (i + 1).to_bytes(8, "little")
            net.store.put(entry.with_data(data), net.chain.slot)
            if i % 256 == 255:
                await asyncio.sleep(0)  # let the writers drain, as between slots
        while any(c.outbox for c in net.pubsub.connections):
            await asyncio.sleep(0.001)
        print(json.dumps({"pushed_per_s": n / (time.perf_counter() - started)}))
        sys.stdout.flush()
    await net.stop()


class Peer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.http, self.ws, self.keys = info["http"], info["ws"], info["keys"]

    def burst(self, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"burst {n}\n")
        self.proc.stdin.flush()

    def pushed(self) -> float:
        assert self.proc.stdout is not None
        return float(json.loads(self.proc.stdout.readline())["pushed_per_s"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=10)


async def raw_client(peer: Peer, n: int) -> tuple[float, float]:
    async with websockets.connect(peer.ws, max_queue=None, compression=None) as ws:
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "accountSubscribe",
            "params": [HOT, {"encoding": "base64", "commitment": "processed"}],
        }
        await ws.send(json.dumps(request))
        await ws.recv()
        peer.burst(n)
        await ws.recv()
        first = time.perf_counter()
        for _ in range(n - 1):
            await ws.recv()
        elapsed = time.perf_counter() - first
    return (n - 1) / elapsed, peer.pushed()


async def solana_py_client(peer: Peer, n: int) -> float:
    from solana.rpc.commitment import Processed
    from solana.rpc.websocket_api import connect
    from solders.pubkey import Pubkey

    async with connect(peer.ws, max_queue=None) as ws:
        await ws.account_subscribe(Pubkey.from_string(HOT), Processed, "base64")
        await ws.recv()
        peer.burst(n)
        got = len(await ws.recv())
        first = time.perf_counter()
        while got < n:
            got += len(await ws.recv())
        elapsed = time.perf_counter() - first
    peer.pushed()
    return (n - 1) / elapsed


async def multiple_accounts(
    peer: Peer, encoding: str, parallel: int, seconds: float
) -> tuple[float, int]:
    keys = sorted(peer.keys)[:100]
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "getMultipleAccounts",
        "params": [keys, {"encoding": encoding, "commitment": "confirmed"}],
    }
    size = 0
    count = 0

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        nonlocal size, count
        while time.perf_counter() < deadline:
            reply = await client.post(peer.http, json=body)
            size = len(reply.content)
            assert len(reply.json()["result"]["value"]) == 100
            count += 1

    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
    async with httpx.AsyncClient(limits=limits) as client:
        await client.post(peer.http, json=body)
        start = time.perf_counter()
        await asyncio.gather(*(worker(client, start + seconds) for _ in range(parallel)))
        elapsed = time.perf_counter() - start
    return count / elapsed, size


async def main(n: int) -> None:
    peer = Peer()
    try:
        raw_rate, pushed = await raw_client(peer, n)
        py_rate = await solana_py_client(peer, n // 4)
        rows = []
        for encoding in ("base64", "base64+zstd"):
            for parallel in (1, 4):
                rate, size = await multiple_accounts(peer, encoding, parallel, 3.0)
                rows.append((encoding, parallel, rate, size))
    finally:
        peer.close()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| notifications pushed by the peer to one socket (per s) | {pushed:,.0f} |")
    print(f"| notifications received, bare websockets client (per s) | {raw_rate:,.0f} |")
    print(f"| notifications received, solana-py websocket client (per s) | {py_rate:,.0f} |")
    for encoding, parallel, rate, size in rows:
        plural = "s" if parallel > 1 else ""
        print(
            f"| getMultipleAccounts, 100 keys, {encoding} ({size / 1024:,.0f} KiB a reply), "
            f"{parallel} connection{plural} (requests/s) | {rate:,.0f} |"
        )


if __name__ == "__main__":
    if "--serve" in sys.argv:
        asyncio.run(_serve())
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
