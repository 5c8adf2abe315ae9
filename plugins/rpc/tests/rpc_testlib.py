"""Peers for the rpc tests: the real simnet, and a proxy in front of it that misbehaves.

Everything listens on free 127.0.0.1 ports. :class:`FaultyPeer` forwards HTTP JSON-RPC and
PubSub frames to a simnet peer unchanged until a test asks it to misbehave: answer one
HTTP method with garbage, an error object, half a body or nothing; inject frames into the
websocket; cut a frame in the middle; stop forwarding (hang); refuse a subscription; lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import httpx
from solders.pubkey import Pubkey
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from lstarb_rpc import RpcConfig, RpcSource
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_sdk import AccountUpdate, SlotUpdate


def manual(**overrides: Any) -> SimnetConfig:
    """A simnet on free ports whose slots advance only when the test steps them."""
    settings: dict[str, Any] = {"port": 0, "slot_ms": 0, "genesis_unix_time": 1_760_000_000}
    settings.update(overrides)
    return SimnetConfig(**settings)


def fast_config(url: str, **overrides: Any) -> RpcConfig:
    """Source settings for tests: short timeouts and backoff so failures show in ms."""
    settings: dict[str, Any] = {
        "url": url,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.3,
        "connect_timeout_s": 1.0,
        "reply_timeout_s": 1.0,
        "request_timeout_s": 1.0,
        "idle_timeout_s": 5.0,
    }
    settings.update(overrides)
    return RpcConfig(**settings)


def keys_of(net: Simnet) -> list[Pubkey]:
    return [e.pubkey for e in net.store.entries()]


class Stepper:
    """Advances a manual simnet every ``period_s`` (the driver trades on each step)."""

    def __init__(self, net: Simnet, period_s: float = 0.02) -> None:
        self.net = net
        self.period_s = period_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.net.step()
            await asyncio.sleep(self.period_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class Collector:
    """Reads a source's stream: the latest update per account, and everything in order."""

    def __init__(self, source: RpcSource) -> None:
        self.source = source
        self.view: dict[Pubkey, AccountUpdate] = {}
        self.updates: list[AccountUpdate] = []
        self.slots: list[SlotUpdate] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.source.stream():
            if isinstance(item, AccountUpdate):
                self.view[item.pubkey] = item
                self.updates.append(item)
            else:
                self.slots.append(item)

    def differences(self, net: Simnet, keys: list[Pubkey]) -> list[str]:
        """Accounts whose latest update is not what the peer holds now."""
        out = []
        for key in keys:
            entry = net.store.get(str(key))
            update = self.view.get(key)
            if entry is None:
                if update is not None and update.lamports != 0:
                    out.append(f"{key}: closed on the peer, open in the view")
            elif update is None:
                out.append(f"{key}: never delivered")
            elif (update.data, update.lamports, str(update.owner)) != (
                entry.data,
                entry.lamports,
                entry.owner,
            ):
                out.append(f"{key}: view at slot {update.slot} differs from the peer")
        return out

    async def until(self, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not check():
            if loop.time() > deadline:
                raise AssertionError(f"not reached in {timeout_s} s")
            await asyncio.sleep(0.02)

    async def settle(self, net: Simnet, keys: list[Pubkey], timeout_s: float = 10.0) -> None:
        """Wait until the view equals the peer's accounts (the peer must be still)."""
        try:
            await self.until(lambda: not self.differences(net, keys), timeout_s)
        except AssertionError:
            diff = self.differences(net, keys)
            raise AssertionError(f"{len(diff)} accounts differ: {diff[:5]}") from None

    def versions_increase(self) -> bool:
        """Every account's (slot, write_version) strictly increased along the stream."""
        last: dict[Pubkey, tuple[int, int]] = {}
        for update in self.updates:
            version = (update.slot, update.write_version)
            if update.pubkey in last and version <= last[update.pubkey]:
                return False
            last[update.pubkey] = version
        return True

    async def close(self) -> None:
        await self.source.close()
        await asyncio.wait_for(self.task, 5)


@contextlib.asynccontextmanager
async def following(config: RpcConfig, keys: list[Pubkey]) -> AsyncIterator[Collector]:
    """A source subscribed to ``keys`` and a collector reading it; both closed after."""
    source = RpcSource(config)
    collector = Collector(source)
    await source.subscribe(keys)
    try:
        yield collector
    finally:
        await collector.close()


# ---------------------------------------------------------------- the misbehaving proxy
@dataclass
class Reply:
    """Answer with this body (HTTP 200) instead of forwarding."""

    body: str
    status: int = 200


HANG = "hang"  # accept the request, never answer
CUT = "cut"  # announce a body, send a piece of it, close the socket

Fault = Reply | str


@dataclass
class FaultyPeer:
    net: Simnet
    http_faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    """Per JSON-RPC method: faults to answer its next requests with (then forward again)."""
    refuse: set[str] = field(default_factory=set)
    """Accounts whose accountSubscribe gets an error object instead of a subscription."""
    delay_s: float = 0.0
    """Hold every frame to the client this long (a lagging node)."""
    hanging: bool = False
    """Forward nothing to the client (the socket stays open: a hung node)."""
    subscriptions: dict[str, int] = field(default_factory=dict)
    """Account (or "slot") -> subscription id, as the peer answered."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every HTTP JSON-RPC request received, decoded."""
    http_port: int = 0
    ws_port: int = 0
    clients: set[ServerConnection] = field(default_factory=set)
    _http: asyncio.Server | None = None
    _ws: Server | None = None
    _client: httpx.AsyncClient | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    async def __aenter__(self) -> FaultyPeer:
        self._client = httpx.AsyncClient(timeout=30)
        self._http = await asyncio.start_server(self._http_connection, "127.0.0.1", 0)
        self.http_port = self._http.sockets[0].getsockname()[1]
        self._ws = await serve(self._ws_connection, "127.0.0.1", 0, compression=None, max_size=None)
        self.ws_port = next(iter(self._ws.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        assert self._ws is not None and self._http is not None and self._client is not None
        self._ws.close()
        await self._ws.wait_closed()
        self._http.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._http.wait_closed(), 2)
        await self._client.aclose()

    # ------------------------------------------------------------ websocket
    async def inject(self, text: str | bytes) -> None:
        """Send a frame to every client as if the peer had sent it."""
        for client in list(self.clients):
            with contextlib.suppress(ConnectionClosed):
                await client.send(text)

    def cut_mid_frame(self) -> None:
        """Start a 1,000-byte text frame, send 10 bytes of it, drop the socket."""
        header = bytes([0x81, 126]) + struct.pack("!H", 1000)
        for client in list(self.clients):
            client.transport.write(header + b'{"jsonrpc"')
            client.transport.abort()

    async def _ws_connection(self, client: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream = await connect(self.net.ws_url, compression=None, max_size=None)
        except OSError:
            return
        self.clients.add(client)
        requests: dict[int, str] = {}
        outbox: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._up(client, upstream, requests))
                group.create_task(self._down(upstream, requests, outbox))
                group.create_task(self._send(client, outbox))
        except* (ConnectionClosed, OSError):
            pass
        finally:
            self.clients.discard(client)
            self._tasks.discard(task)
            await upstream.close()

    async def _up(
        self, client: ServerConnection, upstream: ClientConnection, requests: dict[int, str]
    ) -> None:
        async for message in client:
            doc = json.loads(message)
            method = doc.get("method", "")
            if method == "accountSubscribe":
                key = doc["params"][0]
                if key in self.refuse:
                    error = {"code": -32602, "message": "Invalid param: refused by the test"}
                    await client.send(
                        json.dumps({"jsonrpc": "2.0", "error": error, "id": doc["id"]})
                    )
                    continue
                requests[doc["id"]] = key
            elif method == "slotSubscribe":
                requests[doc["id"]] = "slot"
            await upstream.send(message)
        raise ConnectionClosed(None, None)

    async def _down(
        self,
        upstream: ClientConnection,
        requests: dict[int, str],
        outbox: asyncio.Queue[tuple[float, str | bytes]],
    ) -> None:
        loop = asyncio.get_running_loop()
        async for message in upstream:
            if isinstance(message, str) and '"result"' in message and '"id"' in message:
                doc = json.loads(message)
                if doc.get("id") in requests and isinstance(doc.get("result"), int):
                    self.subscriptions[requests[doc["id"]]] = doc["result"]
            if not self.hanging:
                outbox.put_nowait((loop.time() + self.delay_s, message))
        raise ConnectionClosed(None, None)

    async def _send(
        self, client: ServerConnection, outbox: asyncio.Queue[tuple[float, str | bytes]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, message = await outbox.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await client.send(message)

    # ------------------------------------------------------------ HTTP
    async def _http_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                body = await _read_request(conn, reader)
                if body is None:
                    return
                fault = self._fault_for(body)
                if fault == HANG:
                    await asyncio.sleep(3600)
                if fault == CUT:
                    head = conn.send(
                        h11.Response(status_code=200, headers=[("content-length", "1000")])
                    )
                    writer.write(head + b'{"jsonrpc":"2.0","result":{"conte')
                    await writer.drain()
                    return
                if isinstance(fault, Reply):
                    status, payload = fault.status, fault.body.encode()
                else:
                    assert self._client is not None
                    answer = await self._client.post(
                        self.net.http_url,
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    status, payload = answer.status_code, answer.content
                headers = [
                    ("content-length", str(len(payload))),
                    ("content-type", "application/json"),
                ]
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=payload)))
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    def _fault_for(self, body: bytes) -> Fault | None:
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        self.requests.append(doc)
        method = doc.get("method", "")
        queue = self.http_faults.get(method)
        return queue.popleft() if queue else None


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes | None:
    chunks = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65_536)
            if not data:
                return None
            conn.receive_data(data)
        elif isinstance(event, h11.Data):
            chunks.append(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(chunks)
        elif isinstance(event, h11.ConnectionClosed):
            return None


@contextlib.asynccontextmanager
async def hanging_listener() -> AsyncIterator[str]:
    """A TCP port that accepts connections and never says a word: ws://127.0.0.1:port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65_536):
                pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
