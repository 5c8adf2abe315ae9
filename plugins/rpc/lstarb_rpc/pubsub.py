"""One PubSub websocket: subscription requests, their replies, notifications dispatched.

The ``websockets`` asyncio client carries solders' request types and
``parse_websocket_message``. Not solana-py's ``connect``: it sits on
``websockets.legacy`` (deprecated since websockets 14), raises out of ``recv`` on a
subscription error or a reply to an id it did not send (losing the rest of the frame),
and does not guard solders' panics. Both read about 50,000 notifications/s here (see
docs/performance.md), so speed did not decide.

Bad input never ends the connection: a malformed message, an error object, a reply to an
unknown request, a notification for an unknown subscription is counted on the endpoint's
health (logged the first time) and skipped. The connection ends when the peer closes it,
the socket breaks (a frame cut mid-message), or nothing arrives for ``idle_timeout_s``
(a peer that accepted and hung); the endpoint then reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from solders.rpc.responses import (
    AccountNotification,
    ProgramNotification,
    SignatureNotification,
    SlotNotification,
    SubscriptionResult,
    UnsubscribeResult,
    parse_websocket_message,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.wire import MalformedReply, RpcReplyError, error_of, excerpt, parse
from lstarb_sdk.errors import DataSourceError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""An account holds up to 10 MiB: its base64 text and JSON wrapper fit in 16 MiB."""

Handler = Callable[[Any, int], None]
"""Called with a notification (solders type) and the ns wall time its frame arrived."""

Request = Callable[[int], Any]
"""Builds a solders request body for a request id."""

NOTIFICATIONS = (AccountNotification, ProgramNotification, SlotNotification, SignatureNotification)


class ConnectionLost(DataSourceError):
    """The websocket ended: closed by the peer, broken, or silent for too long."""


class PubSubConnection:
    def __init__(
        self, ws: ClientConnection, health: EndpointHealth, idle_timeout_s: float | None
    ) -> None:
        self.ws = ws
        self.health = health
        self.idle_timeout_s = idle_timeout_s
        self.handlers: dict[int, Handler] = {}
        self._pending: dict[int, tuple[asyncio.Future[int], Handler]] = {}
        self._ids = itertools.count(1)
        self._last_message = time.monotonic()
        self._idle = False

    @classmethod
    async def open(
        cls,
        url: str,
        health: EndpointHealth,
        *,
        connect_timeout_s: float,
        idle_timeout_s: float | None,
    ) -> PubSubConnection:
        """Connect; ``idle_timeout_s`` None: a quiet socket is fine (pings keep it honest)."""
        ws = await connect(
            url,
            open_timeout=connect_timeout_s,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            close_timeout=1,
            user_agent_header="lstarb-plugin-rpc",
        )
        return cls(ws, health, idle_timeout_s)

    async def close(self) -> None:
        for future, _ in self._pending.values():
            future.cancel()
        self._pending.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 1.0)
        self.ws.transport.abort()

    # ------------------------------------------------------------ requests
    async def subscribe(
        self, requests: Sequence[tuple[Request, Handler]], timeout_s: float
    ) -> list[int | BaseException]:
        """Send the subscriptions, wait for every reply: each a subscription id, or the
        error the peer answered with. TimeoutError if any reply is missing after
        ``timeout_s`` (a peer that hangs)."""
        loop = asyncio.get_running_loop()
        futures = []
        for build, handler in requests:
            request_id = next(self._ids)
            future: asyncio.Future[int] = loop.create_future()
            self._pending[request_id] = (future, handler)
            futures.append(future)
            await self.ws.send(build(request_id).to_json())
        if not futures:
            return []
        _, missing = await asyncio.wait(futures, timeout=timeout_s)
        for future in missing:
            future.cancel()
        results = [f.exception() or f.result() for f in futures if not f.cancelled()]
        if missing:
            raise TimeoutError(
                f"no reply to {len(missing)} of {len(futures)} subscriptions in {timeout_s} s"
            )
        return results

    async def send(self, build: Request) -> None:
        """A request whose reply nobody waits for (an unsubscribe)."""
        await self.ws.send(build(next(self._ids)).to_json())

    # ------------------------------------------------------------ reading
    async def run(self) -> None:
        """Read until the connection ends; raises ConnectionLost saying why."""
        watchdog = None
        if self.idle_timeout_s is not None:
            watchdog = asyncio.create_task(self._watchdog(self.idle_timeout_s))
        try:
            async for message in self.ws:
                received_ns = time.time_ns()
                self._last_message = time.monotonic()
                if isinstance(message, bytes):
                    self.health.problem("malformed", f"binary frame {excerpt(message)}")
                    continue
                self.on_message(message, received_ns)
                if self.unread():
                    # a slot's notifications arrive together: the stream's reader (the
                    # scanner, which tapes each) takes this one before the next is parsed,
                    # and waits for the rest while more_arrived() says so
                    await asyncio.sleep(0)
        except ConnectionClosedOK as exc:
            raise ConnectionLost(f"closed by the peer ({_close_reason(exc)})") from None
        except ConnectionClosed as exc:
            if self._idle:
                raise ConnectionLost(f"silent for {self.idle_timeout_s} s") from None
            raise ConnectionLost(f"connection broken ({_close_reason(exc)})") from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
        raise ConnectionLost("closed by the peer")

    def unread(self) -> bool:
        """Whether frames have arrived that :meth:`run` has not read yet.

        websockets parses frames as bytes arrive and queues them for ``recv``; that queue is
        not public, so a version without it reads as "nothing unread" (the scanner then
        takes a burst as complete when the stream has nothing ready, as before).
        """
        frames = getattr(getattr(self.ws, "recv_messages", None), "frames", None)
        return bool(frames)

    async def _watchdog(self, idle_timeout_s: float) -> None:
        period = min(1.0, idle_timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            if time.monotonic() - self._last_message > idle_timeout_s:
                self._idle = True
                self.health.problem(
                    "timeouts", f"no message for {idle_timeout_s} s: the peer hangs"
                )
                self.ws.transport.abort()
                return

    def on_message(self, text: str, received_ns: int) -> None:
        """One text frame: notifications dispatched, replies matched, bad input counted."""
        if '"error"' in text:
            self._with_errors(text, received_ns)
        else:
            self._dispatch(text, received_ns)

    def _dispatch(self, text: str, received_ns: int) -> None:
        try:
            items = parse(parse_websocket_message, text, "PubSub message")
        except MalformedReply as exc:
            self.health.problem("malformed", str(exc))
            return
        for item in items:
            if isinstance(item, NOTIFICATIONS):
                handler = self.handlers.get(item.subscription)
                if handler is None:
                    self.health.problem(
                        "unknown_subscriptions",
                        f"{type(item).__name__} for subscription {item.subscription}, "
                        "never made here",
                    )
                    continue
                try:
                    handler(item, received_ns)
                except Exception as exc:  # a notification of an unexpected shape
                    self.health.problem("malformed", f"{type(item).__name__}: {exc!r}")
            elif isinstance(item, SubscriptionResult):
                self._reply(item.id, item.result)
            elif not isinstance(item, UnsubscribeResult):
                self.health.problem(
                    "malformed", f"unexpected {type(item).__name__}: {excerpt(text)}"
                )

    def _with_errors(self, text: str, received_ns: int) -> None:
        """A frame with an error object: read by the stdlib (solders panics on some)."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            self.health.problem("malformed", f"not JSON ({exc}): {excerpt(text)}")
            return
        for part in doc if isinstance(doc, list) else [doc]:
            error = error_of(part)
            if error is None:
                self._dispatch(json.dumps(part), received_ns)
            else:
                self._failed(error)

    def _reply(self, request_id: int, subscription: int) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is None:
            self.health.problem(
                "unknown_subscriptions", f"reply to request {request_id}, never sent here"
            )
            return
        future, handler = pending
        self.handlers[subscription] = handler
        if not future.done():
            future.set_result(subscription)

    def _failed(self, error: RpcReplyError) -> None:
        self.health.problem("rpc_errors", f"PubSub request {error.id}: {error}")
        pending = self._pending.pop(error.id, None) if isinstance(error.id, int) else None
        if pending is not None and not pending[0].done():
            pending[0].set_exception(error)


def _close_reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "no close frame"
    return f"code {frame.code}" + (f", {frame.reason}" if frame.reason else "")
