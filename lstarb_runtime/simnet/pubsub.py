"""The PubSub websocket: subscriptions and their notifications, as Agave sends them.

Subscriptions with the same parameters share one id across all connections (Agave
de-duplicates them the same way), and each connection has its own outgoing queue and
writer task: a client that reads slowly or disconnects mid-stream only loses its own
queue, never delays or breaks the others. A queue past 256 MiB closes that connection
("notification queue full").

Notifications are built once per subscription and change (the same text goes to every
connection holding the id) and carry ``context.slot`` where Agave's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from solders.signature import Signature
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from lstarb_runtime.simnet.chain import COMMITMENT_RANK
from lstarb_runtime.simnet.encoding import (
    AccountConfig,
    RpcFilter,
    account_config,
    account_text,
    commitment_of,
    config_object,
    parse_filters,
    passes,
)
from lstarb_runtime.simnet.errors import RpcError, invalid_params
from lstarb_runtime.simnet.jsonrpc import respond
from lstarb_runtime.simnet.methods import pubkey_param
from lstarb_runtime.simnet.store import Entry

if TYPE_CHECKING:
    from lstarb_runtime.simnet.server import Simnet

log = logging.getLogger("lstarb.simnet")

MAX_QUEUE_BYTES = 256 * 1024 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024


_HELD_METHODS = frozenset({"accountNotification", "programNotification"})
"""What :meth:`PubSub.hold` holds back: the notifications of account states."""


@dataclass(eq=False)
class Subscription:
    id: int
    kind: str  # account, program, slot, root, signature
    key: str = ""
    config: AccountConfig | None = None
    filters: tuple[RpcFilter, ...] = ()
    commitment: str = "finalized"
    received: bool = False
    dedupe: tuple[Any, ...] = ()
    connections: set[Connection] = field(default_factory=set)


class Connection:
    """One client socket: its subscriptions and its outgoing queue."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.subscriptions: dict[int, Subscription] = {}
        self.outbox: deque[str] = deque()
        self.queued_bytes = 0
        self.wake = asyncio.Event()
        self.closed = False
        self.sent = 0

    def push(self, text: str) -> None:
        if self.closed:
            return
        self.queued_bytes += len(text)
        if self.queued_bytes > MAX_QUEUE_BYTES:
            log.warning(
                "simnet pubsub: notification queue full; closing %s", self.ws.remote_address
            )
            self.closed = True
            self.outbox.clear()
            self.wake.set()
            return
        self.outbox.append(text)
        self.wake.set()

    async def writer(self) -> None:
        ws = self.ws
        try:
            while not self.closed:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox:
                    text = self.outbox.popleft()
                    self.queued_bytes -= len(text)
                    await ws.send(text)
                    self.sent += 1
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            if self.queued_bytes > MAX_QUEUE_BYTES:
                await ws.close(1008, "notification queue full")


class PubSub:
    def __init__(self, net: Simnet) -> None:
        self.net = net
        self.server: Server | None = None
        self.connections: set[Connection] = set()
        self._next_id = 0
        self._by_dedupe: dict[tuple[Any, ...], Subscription] = {}
        self._accounts: dict[str, list[Subscription]] = {}
        self._programs: dict[str, list[Subscription]] = {}
        self._signatures: dict[str, list[Subscription]] = {}
        self._slots: list[Subscription] = []
        self._roots: list[Subscription] = []
        self.notifications = 0
        self._held: list[tuple[Subscription, str]] | None = None
        """Account and program notifications held back (:meth:`hold`), in order."""
        self._holds = 0

    # ------------------------------------------------------------ server
    async def start(self, host: str, port: int) -> int:
        self.server = await serve(
            self._handler, host, port, compression=None, max_size=MAX_MESSAGE_BYTES
        )
        return int(next(iter(self.server.sockets)).getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = Connection(ws)
        self.connections.add(conn)
        writer = asyncio.create_task(self._guard(conn))
        try:
            async for message in ws:
                answer = respond(message, lambda method, params: self._call(conn, method, params))
                if answer is not None:
                    conn.push(answer)
        except ConnectionClosed:
            pass
        finally:
            self._drop(conn)
            conn.closed = True
            conn.wake.set()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _guard(self, conn: Connection) -> None:
        await conn.writer()
        if conn.closed and conn.queued_bytes > MAX_QUEUE_BYTES:
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for sub in list(conn.subscriptions.values()):
            self._release(conn, sub)
        conn.subscriptions.clear()

    # ------------------------------------------------------------ methods
    def _call(self, conn: Connection, method: str, params: Sequence[Any]) -> Any:
        if method.endswith("Unsubscribe") and method[:-11] in _KINDS:
            return self._unsubscribe(conn, _KINDS[method[:-11]], params)
        if method.endswith("Subscribe") and method[:-9] in _KINDS:
            return self._subscribe(conn, _KINDS[method[:-9]], params)
        raise KeyError(method)

    def _subscribe(self, conn: Connection, kind: str, params: Sequence[Any]) -> int:
        sub = self._parse(kind, params)
        existing = self._by_dedupe.get(sub.dedupe)
        if existing is not None:
            sub = existing
        else:
            self._next_id += 1
            sub.id = self._next_id
            self._by_dedupe[sub.dedupe] = sub
            self._index(sub).append(sub)
        sub.connections.add(conn)
        conn.subscriptions[sub.id] = sub
        if kind == "signature":
            self.net.loop_soon(self.check_signatures)
        return sub.id

    def _parse(self, kind: str, params: Sequence[Any]) -> Subscription:
        if kind in ("account", "program"):
            if not params:
                raise invalid_params(
                    "Invalid params: invalid length 0, expected at least 1 element."
                )
            key = pubkey_param(params[0])
            raw = config_object(params, 1)
            config = account_config(raw, default_encoding="binary")
            filters = parse_filters(raw.get("filters")) if kind == "program" else ()
            return Subscription(
                0,
                kind,
                key,
                config,
                filters,
                config.commitment,
                dedupe=(kind, key, config.encoding, config.data_slice, config.commitment, filters),
            )
        if kind == "signature":
            if not params or not isinstance(params[0], str):
                raise invalid_params(
                    "Invalid params: invalid length 0, expected at least 1 element."
                )
            try:
                Signature.from_string(params[0])
            except ValueError:
                raise invalid_params("Invalid param: Invalid") from None
            raw = config_object(params, 1)
            commitment = commitment_of(raw)
            received = bool(raw.get("enableReceivedNotification"))
            return Subscription(
                0,
                kind,
                params[0],
                commitment=commitment,
                received=received,
                dedupe=(kind, params[0], commitment, received),
            )
        return Subscription(0, kind, dedupe=(kind,))

    def _index(self, sub: Subscription) -> list[Subscription]:
        if sub.kind == "account":
            return self._accounts.setdefault(sub.key, [])
        if sub.kind == "program":
            return self._programs.setdefault(sub.key, [])
        if sub.kind == "signature":
            return self._signatures.setdefault(sub.key, [])
        return self._slots if sub.kind == "slot" else self._roots

    def _unsubscribe(self, conn: Connection, kind: str, params: Sequence[Any]) -> bool:
        if not params or isinstance(params[0], bool) or not isinstance(params[0], int):
            raise invalid_params("Invalid params: invalid type, expected a subscription id.")
        sub = conn.subscriptions.get(params[0])
        if sub is None or sub.kind != kind:
            raise RpcError(-32602, "Invalid subscription id.")
        del conn.subscriptions[sub.id]
        self._release(conn, sub)
        return True

    def _release(self, conn: Connection, sub: Subscription) -> None:
        sub.connections.discard(conn)
        if sub.connections:
            return
        self._by_dedupe.pop(sub.dedupe, None)
        index = self._index(sub)
        if sub in index:
            index.remove(sub)
        if not index and sub.kind in ("account", "program", "signature"):
            {"account": self._accounts, "program": self._programs, "signature": self._signatures}[
                sub.kind
            ].pop(sub.key, None)

    # ------------------------------------------------------------ notifications
    def hold(self) -> int:
        """Hold account and program notifications back until :meth:`release` (slot and
        signature notifications still go at once); returns the hold's number.

        Why: with the peer's ShredStream on, a slot's swaps go out as entries first and
        their account notifications after them, as a node's notifications follow the
        leader's shreds on a real cluster.
        """
        self.release()
        self._held = []
        self._holds += 1
        return self._holds

    def release(self, number: int | None = None) -> None:
        """Send what is held (only if ``number`` is the hold in force, when given)."""
        if self._held is None or (number is not None and number != self._holds):
            return
        held, self._held = self._held, None
        for sub, text in held:
            self._push(sub, text)

    def _send(self, sub: Subscription, method: str, result_json: str) -> None:
        text = (
            f'{{"jsonrpc":"2.0","method":"{method}","params":{{"result":{result_json},'
            f'"subscription":{sub.id}}}}}'
        )
        if self._held is not None and method in _HELD_METHODS:
            self._held.append((sub, text))
            return
        self._push(sub, text)

    def _push(self, sub: Subscription, text: str) -> None:
        for conn in sub.connections:
            conn.push(text)
            self.notifications += 1

    def on_account(self, entry: Entry, slot: int) -> None:
        """Store listener: an account changed in ``slot``."""
        for sub in self._accounts.get(entry.key, ()):
            assert sub.config is not None
            value = account_text(entry, sub.config)
            self._send(
                sub, "accountNotification", f'{{"context":{{"slot":{slot}}},"value":{value}}}'
            )
        for sub in self._programs.get(entry.owner, ()):
            if not passes(sub.filters, entry.data):
                continue
            assert sub.config is not None
            value = f'{{"pubkey":"{entry.key}","account":{account_text(entry, sub.config)}}}'

            self._send(
                sub, "programNotification", f'{{"context":{{"slot":{slot}}},"value":{value}}}'
            )

    def on_slot(self, slot: int, parent: int, root: int) -> None:
        body = f'{{"parent":{parent},"root":{root},"slot":{slot}}}'
        for sub in self._slots:
            self._send(sub, "slotNotification", body)
        for sub in self._roots:
            self._send(sub, "rootNotification", str(root))

    def on_received(self, signature: str) -> None:
        for sub in list(self._signatures.get(signature, ())):
            if sub.received:
                slot = self.net.chain.slot
                self._send(
                    sub,
                    "signatureNotification",
                    f'{{"context":{{"slot":{slot}}},"value":"receivedSignature"}}',
                )

    def check_signatures(self) -> None:
        """Notify (once, then drop) signature subscriptions whose commitment is reached."""
        chain = self.net.chain
        for signature, subs in list(self._signatures.items()):
            status = chain.statuses.get(signature)
            if status is None:
                continue
            level = COMMITMENT_RANK[chain.confirmation(status)]
            for sub in list(subs):
                if COMMITMENT_RANK[sub.commitment] > level:
                    continue
                value = json.dumps({"err": status.err}, separators=(",", ":"))
                self._send(
                    sub,
                    "signatureNotification",
                    f'{{"context":{{"slot":{chain.slot}}},"value":{value}}}',
                )
                for conn in list(sub.connections):
                    conn.subscriptions.pop(sub.id, None)
                    self._release(conn, sub)


_KINDS = {
    "account": "account",
    "program": "program",
    "slot": "slot",
    "root": "root",
    "signature": "signature",
}
