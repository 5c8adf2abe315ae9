"""A TCP proxy on 127.0.0.1 in front of a nats-server, which a test can break on purpose.

Why: a connection that drops while the server stays up, or that silently stops carrying bytes,
is what production networks do; killing the server cannot show it. The proxy forwards both
ways until told to swallow one direction (``hold_up``: client to server, ``hold_down``: server
to client) or to cut every connection (``drop``); the client then reconnects through it.
"""

from __future__ import annotations

import asyncio
import contextlib


class FlakyProxy:
    """Forwards 127.0.0.1:<free port> to ``target``; ``url`` is what the client dials."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.hold_up = False
        self.hold_down = False
        self.swallowed_up = 0
        self.swallowed_down = 0
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"nats://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> FlakyProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        link = (client_w, server_w)
        self._links.add(link)
        for task in (
            asyncio.create_task(self._pump(client_r, server_w, up=True)),
            asyncio.create_task(self._pump(server_r, client_w, up=False)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, up: bool
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                if self.hold_up if up else self.hold_down:
                    if up:
                        self.swallowed_up += len(data)
                    else:
                        self.swallowed_down += len(data)
                    continue
                dst.write(data)
                await dst.drain()
        dst.close()

    async def drop(self) -> None:
        """Cut every connection now (the server stays up; new connections are accepted)."""
        links, self._links = self._links, set()
        for client_w, server_w in links:
            for w in (client_w, server_w):
                with contextlib.suppress(Exception):
                    w.transport.abort()

    async def close(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
