"""The local control API: the kill switch over HTTP, on 127.0.0.1, for holders of a token.

Why its own small HTTP/1.1 server on asyncio streams: three endpoints, JSON in and out, one
request per connection; a web framework would be a dependency for nothing. What it must get
right is access, and that is here:

- it listens on 127.0.0.1 only (never configurable: remote control goes through NATS);
- it does not start without a token (``[control] token_file``, or ``LSTARB_CONTROL_TOKEN``):
  no token, no access. Every request needs ``Authorization: Bearer TOKEN``; a missing token
  is answered 401, a wrong one 403, compared in constant time;
- every kill and resume is audited on SYSTEM (``SystemCommandEvent``) with who (the token's
  name, the caller's address, the operator the body names) and why (the body's reason);
  reads and refusals are logged.

Endpoints: ``GET /status``; ``POST /kill {"reason": "...", "operator": "..."}`` (a reason is
required); ``POST /resume {"reason": "..."}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from lstarb_runtime.bus import Bus, BusError
from lstarb_runtime.config import Settings
from lstarb_runtime.control import state as control
from lstarb_runtime.control.settings import ControlSettings
from lstarb_runtime.keypair import check_permissions
from lstarb_runtime.services.base import Health, Service
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk.errors import ConfigError, DecodeError

log = logging.getLogger("lstarb.control")

HOST: Final = "127.0.0.1"
TOKEN_ENV: Final = "LSTARB_CONTROL__TOKEN"
MIN_TOKEN: Final = 16
"""Shortest token accepted: a guessable token is no token."""
MAX_HEAD: Final = 16 * 1024
MAX_BODY: Final = 64 * 1024
READ_TIMEOUT: Final = 5.0

_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Token:
    """One bearer token and the name it is audited under."""

    name: str
    secret: str = field(repr=False)


def _token(name: str, secret: str, where: str) -> Token:
    if len(secret) < MIN_TOKEN:
        raise ConfigError(f"{where}: the token is shorter than {MIN_TOKEN} characters")
    if any(c.isspace() for c in secret):
        raise ConfigError(f"{where}: the token contains white space")
    return Token(name, secret)


def load_tokens(settings: ControlSettings) -> list[Token]:
    """The tokens that open the API: ``NAME:TOKEN`` lines (or one bare token) of the token
    file, else ``control.token`` (``LSTARB_CONTROL__TOKEN``). Neither: :class:`ConfigError`,
    the API does not start.

    Messages name the file and line, never a token."""
    path = settings.token_file
    if path is not None:
        check_permissions(path, what="control.token_file")
        tokens: list[Token] = []
        for n, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, secret = line.partition(":")
            if not sep:
                name, secret = "token", line
            tokens.append(_token(name.strip() or "token", secret.strip(), f"{path} line {n}"))
        if not tokens:
            raise ConfigError(f"control.token_file {path} holds no token")
        return tokens
    secret = settings.token.get_secret_value().strip() if settings.token else ""
    if secret:
        return [_token("env", secret, TOKEN_ENV)]
    raise ConfigError(
        "the control API needs a bearer token: set [control] token_file (NAME:TOKEN lines, "
        f"mode 600) or {TOKEN_ENV}; no token, no access"
    )


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: str


async def _read_request(reader: asyncio.StreamReader, peer: str) -> Request:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    except asyncio.LimitOverrunError:
        raise HttpError(413, "request head too large") from None
    except (asyncio.IncompleteReadError, TimeoutError):
        raise HttpError(400, "incomplete request") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"not an HTTP/1.x request line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            key, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, f"malformed header line {line[:80]!r}")
            headers[key.strip().lower()] = value.strip()
    length = headers.get("content-length", "0")
    if not length.isdigit():
        raise HttpError(400, f"Content-Length {length!r} is not a number")
    if int(length) > MAX_BODY:
        raise HttpError(413, f"body over {MAX_BODY} bytes")
    try:
        body = await asyncio.wait_for(reader.readexactly(int(length)), READ_TIMEOUT)
    except (asyncio.IncompleteReadError, TimeoutError):
        raise HttpError(400, "body shorter than Content-Length") from None
    return Request(parts[0].upper(), parts[1].split("?", 1)[0], headers, body, peer)


def _json_body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        doc = json.loads(request.body)
    except ValueError as exc:
        raise HttpError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise HttpError(400, "the body must be a JSON object")
    return doc


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise HttpError(400, f"{key!r} must be a string")
    return value.strip()


class ControlServer:
    """The running API; :attr:`url` says where, :meth:`close` stops it."""

    def __init__(
        self,
        bus: Bus,
        halt: HaltSwitch,
        tokens: list[Token],
        services: Callable[[], list[Health]] | None = None,
    ) -> None:
        self.bus = bus
        self.halt = halt
        self.tokens = tokens
        self.services = services or list
        self.stats: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, HOST, port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ one connection
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        try:
            try:
                request = await _read_request(reader, peer)
                status, doc = await self._handle(request)
                extra: dict[str, str] = {}
            except HttpError as exc:
                status, doc, extra = exc.status, {"error": str(exc)}, exc.headers
            self.stats[str(status)] += 1
            await self._respond(writer, status, doc, extra)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        doc: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> None:
        body = (json.dumps(doc, indent=2) + "\n").encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    def _authorize(self, request: Request) -> Token:
        given = request.headers.get("authorization", "")
        scheme, _, secret = given.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            log.warning(
                "control API: %s %s from %s refused: no token",
                request.method,
                request.path,
                request.peer,
            )
            raise HttpError(
                401, "a bearer token is required", {"WWW-Authenticate": 'Bearer realm="lstarb"'}
            )
        offered = secret.strip().encode()
        match = None
        for token in self.tokens:  # every token compared, in constant time each
            if hmac.compare_digest(offered, token.secret.encode()):
                match = token
        if match is None:
            log.warning(
                "control API: %s %s from %s refused: wrong token",
                request.method,
                request.path,
                request.peer,
            )
            raise HttpError(403, "the token is not valid")
        return match

    async def _handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        routes = {"/status": "GET", "/kill": "POST", "/resume": "POST"}
        want = routes.get(request.path)
        token = self._authorize(request)  # before anything else, even a 404
        if want is None:
            raise HttpError(404, f"no endpoint {request.path}; endpoints: {', '.join(routes)}")
        if request.method != want:
            raise HttpError(405, f"{request.path} takes {want}", {"Allow": want})
        if request.path == "/status":
            log.info("control API: status read by %s from %s", token.name, request.peer)
            return 200, await self._status()
        doc = _json_body(request)
        reason, operator = _text(doc, "reason"), _text(doc, "operator")
        halted = request.path == "/kill"
        if halted and not reason:
            raise HttpError(400, 'a kill needs a reason: {"reason": "..."}')
        who = f"api:{token.name}@{request.peer}" + (f" ({operator})" if operator else "")
        try:
            before, after = await control.command(self.bus, halted=halted, reason=reason, by=who)
        except BusError as exc:
            raise HttpError(503, f"the kill switch could not be written: {exc}") from None
        log.warning("control API: %s by %s: %s", request.path[1:], who, reason or "(no reason)")
        return 200, {"before": asdict(before), "state": asdict(after), "by": who}

    async def _status(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = asdict(await control.read(self.bus))
        except (BusError, DecodeError) as exc:
            state = {"error": f"the control bucket could not be read: {exc}"}
        return {
            "cluster": state,
            "process": {
                "halted": self.halt.halted,
                "reason": self.halt.reason,
                "since_ns": self.halt.since_ns,
            },
            "services": [
                {"role": h.role, "state": str(h.state), "halted": h.halted, "reason": h.reason}
                for h in self.services()
            ],
        }


async def serve_control_api(
    settings: Settings,
    halt: HaltSwitch,
    bus: Bus,
    *,
    services: Callable[[], list[Health]] | None = None,
) -> ControlServer:
    """Start the API on 127.0.0.1:``[control] port`` (0: any free port).

    :class:`ConfigError` when no token is configured or the port is unset."""
    port = settings.control.port
    if port is None:
        raise ConfigError("control.port is not set (lstarb run --control-port PORT)")
    server = ControlServer(bus, halt, load_tokens(settings.control), services)
    try:
        await server.start(port)
    except OSError as exc:
        raise ConfigError(f"control API: cannot listen on {HOST}:{port}: {exc.strerror}") from None
    log.info("control API on %s (%d tokens)", server.url, len(server.tokens))
    return server


async def start_control_api(
    settings: Settings,
    halt: HaltSwitch,
    bus: Bus,
    services: Callable[[], list[Service]],
    echo: Callable[[str], None],
) -> ControlServer | None:
    """The runner's hook: the API when ``[control] port`` is set (``--control-port``), else
    None. Its status shows the health of the run's services."""
    if settings.control.port is None:
        return None
    server = await serve_control_api(
        settings, halt, bus, services=lambda: [s.health() for s in services()]
    )
    echo(f"control API: {server.url} (bearer token required)")
    return server
