"""Connecting to NATS, and knowing when the connection drops and for how long the bus was blind.

Why a monitor: nats-py reconnects by itself, but a server that restarted has lost its memory
streams and every durable consumer on them, and publishes in flight were lost with the socket.
The bus must learn of each reconnect to re-assert its streams and re-send what was not
acknowledged; the log (and the run summary) must say what happened and how long nothing got
through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final, Protocol

import nats
from nats.aio.client import Client

from lstarb_runtime.bus.embedded import is_loopback, parse_url, probe
from lstarb_runtime.bus.interface import BusError

log = logging.getLogger("lstarb.bus")

RECONNECT_WAIT: Final = 0.25
"""Seconds between reconnect attempts; the client retries forever."""


class ConnectionListener(Protocol):
    def connection_lost(self) -> None: ...

    def connection_restored(self, blind_seconds: float) -> None: ...


class ConnectionMonitor:
    """Tracks drops and reconnects of one NATS connection and tells its listeners."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.nc: Client | None = None
        self.lost_at: float | None = None
        self.listeners: list[ConnectionListener] = []

    @property
    def blind_for(self) -> float:
        """Seconds since the connection dropped (0 while connected)."""
        return 0.0 if self.lost_at is None else time.monotonic() - self.lost_at

    def _closing(self) -> bool:
        return self.nc is not None and (self.nc.is_closed or self.nc.is_draining)

    async def disconnected(self) -> None:
        if self._closing() or self.lost_at is not None:
            return
        self.lost_at = time.monotonic()
        log.warning("NATS connection to %s lost; reconnecting every %gs", self.url, RECONNECT_WAIT)
        for listener in self.listeners:
            listener.connection_lost()

    async def reconnected(self) -> None:
        blind = self.blind_for
        self.lost_at = None
        log.warning("NATS reconnected to %s after %.2fs blind", self.url, blind)
        for listener in self.listeners:
            listener.connection_restored(blind)


async def connect_nats(
    url: str,
    *,
    name: str = "lstarb",
    connect_timeout: float = 2.0,
    monitor: ConnectionMonitor | None = None,
) -> Client:
    """Connect with reconnects forever; a dropped connection is logged and survived."""
    watch = monitor or ConnectionMonitor(url)

    async def error(exc: Exception) -> None:
        log.debug("NATS client error: %r", exc)

    # nats-py retries the *first* connect forever when reconnects are unlimited: check first
    # that something answers, and bound the whole attempt.
    host, port = parse_url(url)
    await asyncio.to_thread(is_loopback, host)  # BusError naming the host if it does not resolve
    if await asyncio.to_thread(probe, host, port, connect_timeout) != "nats":
        raise BusError(f"cannot connect to NATS at {url}: no NATS server answers there")
    try:
        connecting = nats.connect(
            url,
            name=name,
            connect_timeout=connect_timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,
            disconnected_cb=watch.disconnected,
            reconnected_cb=watch.reconnected,
            error_cb=error,
        )
        nc = await asyncio.wait_for(connecting, timeout=5 * connect_timeout)
    except Exception as exc:  # nats raises several unrelated types for "cannot connect"
        raise BusError(f"cannot connect to NATS at {url}: {exc!r}") from None
    watch.nc = nc
    return nc
