"""signatureSubscribe over one lazily opened websocket: a future per signature.

The submitter's fast path to a verdict. When the socket cannot be opened or breaks, the
futures simply never resolve and the submitter's getSignatureStatuses polling decides;
the next watch opens a new socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

from solders.rpc.config import RpcSignatureSubscribeConfig
from solders.rpc.requests import SignatureSubscribe
from solders.signature import Signature

from lstarb_rpc.config import RpcConfig
from lstarb_rpc.health import EndpointHealth
from lstarb_rpc.pubsub import PubSubConnection
from lstarb_rpc.rpc_http import COMMITMENTS
from lstarb_sdk.errors import DataSourceError

Verdict = tuple[int, Any]
"""(slot, err) of a signature notification: err None means it succeeded."""


class SignatureWatcher:
    def __init__(self, ws_url: str, config: RpcConfig, health: EndpointHealth) -> None:
        self.ws_url = ws_url
        self.config = config
        self.health = health
        self._conn: PubSubConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def watch(self, signature: Signature) -> asyncio.Future[Verdict] | None:
        """A future resolved when ``signature`` reaches the confirm commitment; None when
        the websocket is unavailable (then polling decides)."""
        loop = asyncio.get_running_loop()
        verdict: asyncio.Future[Verdict] = loop.create_future()
        config = RpcSignatureSubscribeConfig(commitment=COMMITMENTS[self.config.confirm_commitment])
        try:
            conn = await self._connection()
            replies = await conn.subscribe(
                [(partial(SignatureSubscribe, signature, config), partial(_resolve, verdict))],
                self.config.reply_timeout_s,
            )
        except (OSError, TimeoutError, DataSourceError) as exc:
            self.health.problem("connection_errors", f"signatureSubscribe: {exc!r}")
            await self._drop()
            return None
        subscription = replies[0]
        if isinstance(subscription, BaseException):
            return None
        verdict.add_done_callback(lambda _: conn.handlers.pop(subscription, None))  # one-shot
        return verdict

    async def _connection(self) -> PubSubConnection:
        async with self._lock:
            if self._conn is not None and self._reader is not None and not self._reader.done():
                return self._conn
            await self._drop()
            conn = await PubSubConnection.open(
                self.ws_url,
                self.health,
                connect_timeout_s=self.config.connect_timeout_s,
                idle_timeout_s=None,
            )
            self._conn = conn
            self._reader = asyncio.create_task(self._read(conn), name="lstarb rpc signatures")
            return conn

    async def _read(self, conn: PubSubConnection) -> None:
        with contextlib.suppress(DataSourceError):
            await conn.run()

    async def _drop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await self._drop()


def _resolve(verdict: asyncio.Future[Verdict], item: Any, received_ns: int) -> None:
    if not verdict.done():
        result = item.result
        verdict.set_result((result.context.slot, result.value.err))
