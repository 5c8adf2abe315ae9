"""A local block engine on 127.0.0.1 speaking Jito's documented JSON-RPC, for tests.

It serves the documented paths and methods (sendBundle, sendTransaction with
bundleOnly, getBundleStatuses, getInflightBundleStatuses, getTipAccounts),
checks bundles the way the real one does (at most 5 transactions, base64 or
base58, signatures that verify, a tip of at least 1,000 lamports to one of
its tip accounts), keeps bundle state the test moves (land, fail), and can
misbehave on purpose: answer 429 (HTTP or JSON-RPC), fail with 500, hang,
send malformed replies, and reorder status lists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
TIP_ACCOUNTS = [
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
    "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
    "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
    "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
    "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
]
METHODS_BY_PATH = {
    "/api/v1/bundles": {
        "sendBundle",
        "getBundleStatuses",
        "getTipAccounts",
        "getInflightBundleStatuses",
    },
    "/api/v1/getBundleStatuses": {"getBundleStatuses"},
    "/api/v1/getInflightBundleStatuses": {"getInflightBundleStatuses"},
    "/api/v1/getTipAccounts": {"getTipAccounts"},
    "/api/v1/transactions": {"sendTransaction"},
}


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    """Base58 (Bitcoin alphabet), for the deprecated encoding the docs still show."""
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes(len(text) - len(text.lstrip("1"))) + body


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class BundleState:
    signatures: list[str]
    status: str = "Pending"  # Pending, Landed, Failed
    slot: int | None = None
    err: Any = field(default_factory=lambda: {"Ok": None})


class BlockEngine:
    """The peer; ``url`` is its base URL. Use as a context manager."""

    def __init__(self, *, tip_accounts: list[str] | None = None, slot: int = 280_999_028) -> None:
        self.tip_accounts = list(tip_accounts or TIP_ACCOUNTS)
        self.slot = slot
        self.requests: list[Request] = []
        self.bundles: dict[str, BundleState] = {}
        self.misbehave: deque[str] = deque()
        self.reorder = False
        self.hang_s = 2.0
        self.lock = threading.Lock()
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle's algorithm
                # and delayed ACKs hold every reply back ~40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                engine._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BlockEngine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests do ---------------------------------------------------------------

    def then(self, *behaviours: str) -> None:
        """Misbehave on the next requests, one behaviour each: ``429``, ``429-rpc``,
        ``429-retry-after``, ``500``, ``hang``, ``not-json``, ``wrong-id``, ``no-result``,
        ``bad-result``, ``html-400``."""
        self.misbehave.extend(behaviours)

    def land(self, bundle_id: str, slot: int, err: Any = None) -> None:
        with self.lock:
            b = self.bundles[bundle_id]
            b.status, b.slot = "Landed", slot
            b.err = err if err is not None else {"Ok": None}

    def fail(self, bundle_id: str) -> None:
        with self.lock:
            self.bundles[bundle_id].status = "Failed"

    def calls(self, method: str) -> list[Request]:
        return [
            r for r in self.requests if isinstance(r.body, dict) and r.body.get("method") == method
        ]

    # -- HTTP ------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        url = urlparse(h.path)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        with self.lock:
            self.requests.append(
                Request(
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in h.headers.items()},
                    body,
                )
            )
            behaviour = self.misbehave.popleft() if self.misbehave else None
        request_id = body.get("id") if isinstance(body, dict) else None
        if behaviour == "hang":
            time.sleep(self.hang_s)
            return self._send(h, 200, {"jsonrpc": "2.0", "id": request_id, "result": "late"})
        if behaviour == "429":
            return self._send(h, 429, "Too Many Requests", content_type="text/plain")
        if behaviour == "429-retry-after":
            return self._send(h, 429, "Rate limited. Retry after 50ms", content_type="text/plain")
        if behaviour == "429-rpc":
            err = {
                "code": -32097,
                "message": "Network congested. Endpoint is globally rate limited.",
            }
            return self._send(h, 429, {"jsonrpc": "2.0", "id": request_id, "error": err})
        if behaviour == "500":
            return self._send(h, 500, "internal error", content_type="text/plain")
        if behaviour == "html-400":
            return self._send(h, 400, "<html>bad request</html>", content_type="text/html")
        if behaviour == "not-json":
            return self._send(h, 200, "{not json", content_type="application/json")
        if behaviour == "wrong-id":
            return self._send(h, 200, {"jsonrpc": "2.0", "id": 999_999, "result": "x"})
        if behaviour == "no-result":
            return self._send(h, 200, {"jsonrpc": "2.0", "id": request_id})
        if behaviour == "bad-result":
            return self._send(h, 200, {"jsonrpc": "2.0", "id": request_id, "result": {"value": 7}})
        extra_headers: dict[str, str] = {}
        try:
            result = self._dispatch(url.path, parse_qs(url.query), body, extra_headers)
        except RpcFailure as exc:
            err = {"code": exc.code, "message": exc.message}
            return self._send(h, 200, {"jsonrpc": "2.0", "id": request_id, "error": err})
        return self._send(
            h, 200, {"jsonrpc": "2.0", "result": result, "id": request_id}, extra_headers
        )

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a hang test): nothing to answer

    # -- JSON-RPC --------------------------------------------------------------------

    def _dispatch(
        self, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]
    ) -> Any:
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or "method" not in body:
            raise RpcFailure(-32600, "Invalid request")
        method, params = body["method"], body.get("params", [])
        if method not in METHODS_BY_PATH.get(path, set()):
            raise RpcFailure(-32601, f"Method not found: {method} on {path}")
        if method == "getTipAccounts":
            return list(self.tip_accounts)
        if method == "sendBundle":
            return self._send_bundle(params)
        if method == "sendTransaction":
            return self._send_transaction(params, query, headers)
        if method in ("getBundleStatuses", "getInflightBundleStatuses"):
            if not params or not isinstance(params[0], list) or len(params[0]) > 5:
                raise RpcFailure(-32602, "params must be a list of at most 5 bundle ids")
            ids = list(reversed(params[0])) if self.reorder else params[0]
            if method == "getBundleStatuses":
                return {"context": {"slot": self.slot}, "value": [self._landed(i) for i in ids]}
            return {"context": {"slot": self.slot}, "value": [self._inflight(i) for i in ids]}
        raise RpcFailure(-32601, f"Method not found: {method}")

    def _decode(self, params: list[Any], index: int) -> list[VersionedTransaction]:
        encoding = "base58"
        if len(params) > 1 and isinstance(params[1], dict):
            encoding = params[1].get("encoding", "base58")
        items = params[0] if isinstance(params[0], list) else [params[0]]
        txs = []
        for i, text in enumerate(items):
            try:
                raw = (
                    base64.b64decode(text, validate=True)
                    if encoding == "base64"
                    else b58decode(text)
                )
                tx = VersionedTransaction.from_bytes(raw)
            except Exception:
                raise RpcFailure(-32602, f"transaction #{i + index} could not be decoded") from None
            if not all(tx.verify_with_results()):
                raise RpcFailure(-32602, f"transaction #{i + index} has an invalid signature")
            txs.append(tx)
        return txs

    def _tip(self, txs: list[VersionedTransaction]) -> int:
        tips = {Pubkey.from_string(t) for t in self.tip_accounts}
        total = 0
        for tx in txs:
            keys = tx.message.account_keys
            for ix in tx.message.instructions:
                data = bytes(ix.data)
                if (
                    keys[ix.program_id_index] == SYSTEM_PROGRAM
                    and data[:4] == b"\x02\x00\x00\x00"
                    and keys[bytes(ix.accounts)[1]] in tips
                ):
                    total += int.from_bytes(data[4:12], "little")
        return total

    def _register(self, txs: list[VersionedTransaction]) -> str:
        sigs = [str(tx.signatures[0]) for tx in txs]
        bundle_id = hashlib.sha256(",".join(sigs).encode()).hexdigest()
        with self.lock:
            self.bundles.setdefault(bundle_id, BundleState(sigs))
        return bundle_id

    def _send_bundle(self, params: list[Any]) -> str:
        if not params or not isinstance(params[0], list) or not params[0]:
            raise RpcFailure(-32602, "params[0] must be a non-empty list of transactions")
        if len(params[0]) > 5:
            raise RpcFailure(-32602, f"bundle has {len(params[0])} transactions, at most 5 allowed")
        txs = self._decode(params, 0)
        if self._tip(txs) < 1000:
            raise RpcFailure(-32602, "bundle must tip at least 1000 lamports to a tip account")
        return self._register(txs)

    def _send_transaction(
        self, params: list[Any], query: dict[str, list[str]], headers: dict[str, str]
    ) -> str:
        if not params or not isinstance(params[0], str):
            raise RpcFailure(-32602, "params[0] must be a transaction")
        (tx,) = self._decode(params, 0)
        if query.get("bundleOnly") == ["true"]:
            if self._tip([tx]) < 1000:
                raise RpcFailure(-32602, "bundleOnly transaction must tip at least 1000 lamports")
            headers["x-bundle-id"] = self._register([tx])
        return str(tx.signatures[0])

    def _landed(self, bundle_id: str) -> Any:
        b = self.bundles.get(bundle_id)
        if b is None or b.status != "Landed":
            return None
        return {
            "bundle_id": bundle_id,
            "transactions": b.signatures,
            "slot": b.slot,
            "confirmation_status": "confirmed",
            "err": b.err,
        }

    def _inflight(self, bundle_id: str) -> Any:
        b = self.bundles.get(bundle_id)
        status = "Invalid" if b is None else b.status
        slot = b.slot if b is not None and b.status == "Landed" else None
        return {"bundle_id": bundle_id, "status": status, "landed_slot": slot}
