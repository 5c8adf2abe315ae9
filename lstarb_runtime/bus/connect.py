"""``connect_bus``: the one call a run makes to get a ready bus (server, streams and all)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lstarb_runtime.bus.embedded import (
    DEFAULT_STORE_DIR,
    EmbeddedNats,
    PortInUseError,
    is_loopback,
    parse_url,
    probe,
)
from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.bus.jetstream import JetStreamBus

log = logging.getLogger("lstarb.bus")


@asynccontextmanager
async def connect_bus(
    url: str = "nats://127.0.0.1:4222",
    *,
    embedded: bool = True,
    live: bool = False,
    store_dir: str | os.PathLike[str] = DEFAULT_STORE_DIR,
    binary: str | os.PathLike[str] | None = None,
    ensure_streams: bool = True,
    keep_server: bool = False,
    **bus_options: Any,
) -> AsyncIterator[JetStreamBus]:
    """Connect to NATS at ``url``, starting our own server if allowed, and ensure the streams.

    When nothing answers at ``url``, ``embedded`` is true, the run is not ``live`` and the
    URL's host is this machine's loopback, a nats-server with JetStream is started on the URL's
    port with ``store_dir`` as its data directory, and stopped when the block exits. A live
    run never starts its own server: a live trader must not silently run on a throw-away bus.
    Raises
    :class:`~lstarb_runtime.bus.embedded.PortInUseError` when the port answers but not as
    NATS, :class:`~lstarb_runtime.bus.embedded.NatsServerNotFoundError` when the binary is
    missing, :class:`~lstarb_runtime.bus.interface.BusError` otherwise.

    ``keep_server``: a server started here is left running when the block exits (in a session
    of its own, so Ctrl-C in the terminal does not stop it either), and the log says how to
    stop it; ``lstarb streams``, ``lstarb tail`` and the next run find it.
    """
    host, port = parse_url(url)
    loopback = await asyncio.to_thread(is_loopback, host)  # BusError if it does not resolve
    state = await asyncio.to_thread(probe, host, port)
    server: EmbeddedNats | None = None
    if state == "other":
        raise PortInUseError(
            f"{host}:{port} answers but is not a NATS server; set nats.url to a NATS server"
        )
    if state == "none":
        if live:
            raise BusError(
                f"no NATS server answers at {url}; a live run never starts its own, "
                "start nats-server -js (or point nats.url at one)"
            )
        if not embedded:
            raise BusError(f"no NATS server answers at {url} and nats.embedded is off")
        if not loopback:
            raise BusError(
                f"no NATS server answers at {url}; lstarb starts a server of its own only on "
                f"this machine's loopback (127.0.0.1, localhost, ::1), and {host} is not: "
                "start nats-server -js there, or point nats.url at a running server"
            )
        server = EmbeddedNats(url, store_dir, binary=binary, own_session=keep_server)
        await asyncio.to_thread(server.start)
        log.warning("started an embedded nats-server at %s (data in %s)", url, server.store_dir)
    try:
        bus = await JetStreamBus.connect(url, **bus_options)
        try:
            if ensure_streams:
                await bus.ensure_streams()
            yield bus
        finally:
            await bus.close()
    finally:
        if server is not None and keep_server:
            pid = server.detach()
            log.warning(
                "left the embedded nats-server running at %s (pid %s, data in %s); "
                "stop it with: kill %s",
                url,
                pid,
                server.store_dir,
                pid,
            )
        elif server is not None:
            await asyncio.to_thread(server.stop)
