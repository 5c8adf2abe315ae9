"""The HTTP side of the peer: POST JSON-RPC on one port, HTTP/1.1 keep-alive.

h11 does the HTTP framing (it ships with httpx, already a dependency); each connection
is one asyncio task. What Agave's HTTP server refuses is refused the same way: bodies
over 50 kB (413), a content type other than JSON (415), methods other than POST and
OPTIONS (405); ``GET /health`` answers ``ok`` as a validator does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import h11

from lstarb_runtime.simnet.jsonrpc import Call, respond

log = logging.getLogger("lstarb.simnet")

MAX_REQUEST_BODY = 50 * 1024
_JSON = (b"content-type", b"application/json; charset=utf-8")
_CORS = (b"access-control-allow-origin", b"*")


class HttpServer:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.server: asyncio.Server | None = None
        self.requests = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._connection, host, port, reuse_address=True)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for task in list(self._tasks):
                task.cancel()
            await self.server.wait_closed()
            self.server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BODY + 16_384)
        try:
            while True:
                request, body, too_large = await self._read(conn, reader)
                if request is None:
                    break
                status, payload, content_type = self._answer(request, body, too_large)
                headers = [
                    (b"content-length", str(len(payload)).encode()),
                    (b"content-type", content_type),
                    _CORS,
                ]
                if too_large:
                    headers.append((b"connection", b"close"))
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=payload)))
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or too_large:
                    break
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except h11.LocalProtocolError as exc:
            log.debug("simnet http: %s", exc)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[h11.Request | None, bytes, bool]:
        request: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65_536)
                conn.receive_data(data)
                if not data and request is None:
                    return None, b"", False
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size <= MAX_REQUEST_BODY:
                    chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks), size > MAX_REQUEST_BODY
            elif isinstance(event, h11.ConnectionClosed):
                return None, b"", False

    def _answer(
        self, request: h11.Request, body: bytes, too_large: bool
    ) -> tuple[int, bytes, bytes]:
        text = b"text/plain; charset=utf-8"
        method = request.method.upper()
        if method == b"GET" and request.target.split(b"?")[0] == b"/health":
            return 200, b"ok", text
        if method == b"OPTIONS":
            return 200, b"", text
        if method != b"POST":
            return 405, b"Used HTTP Method is not allowed. POST or OPTIONS is required", text
        if too_large:
            return 413, b"Payload Too Large", text
        content_type = dict(request.headers).get(b"content-type", b"")
        if content_type.split(b";")[0].strip().lower() != b"application/json":
            return (
                415,
                b"Supplied content type is not allowed. Content-Type: application/json is required",
                text,
            )
        self.requests += 1
        answer = respond(body, self.call)
        return 200, b"" if answer is None else answer.encode(), _JSON[1]
