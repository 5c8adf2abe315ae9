"""The last slot on the MARKET_DATA tape, read before the embedded peer starts.

Why: the tape outlives a run (a NATS server that answers keeps its streams), and every
reader of it (planners, the executor's book) orders account states by slot. A peer that
started at its default slot again would serve states older than the previous run's, and
its market would look stale to everyone. So the peer starts after the tape's last slot.

Why the last message and not a scan: the scanner publishes in apply order and the chain
never goes back, so the stream's last message carries the highest slot; one direct get is
cheap whatever the tape's length. Nothing answering, no stream, an empty stream or an
unreadable last message all mean "no slot to follow": the run starts as before.
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js.errors import NotFoundError

from lstarb_runtime.bus.embedded import parse_url, probe
from lstarb_sdk.events import decode_event

log = logging.getLogger("lstarb.embedded")

TAPE_STREAM = "MARKET_DATA"


async def last_tape_slot(url: str, *, timeout: float = 2.0) -> int | None:
    """The slot of the last event on MARKET_DATA at ``url``; None when there is none.

    Never raises for an unreachable server or a strange tape: the peer then starts at its
    default slot (which is what a fresh server's empty tape needs anyway).
    """
    try:
        host, port = parse_url(url)
        if await asyncio.to_thread(probe, host, port, timeout) != "nats":
            return None
        nc = await nats.connect(
            url,
            name="lstarb-tape-slot",
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )
    except Exception as exc:
        log.warning("the market tape's last slot could not be read at %s: %s", url, exc)
        return None
    try:
        js = nc.jetstream(timeout=timeout)
        try:
            info = await js.stream_info(TAPE_STREAM)
        except NotFoundError:
            return None
        last = info.state.last_seq
        if not last or not info.state.messages:
            return None
        msg = await js.get_msg(TAPE_STREAM, seq=last)
        slot = getattr(decode_event(msg.data or b""), "slot", None)
        return int(slot) if isinstance(slot, int) else None
    except Exception as exc:
        log.warning("the market tape's last slot could not be read at %s: %s", url, exc)
        return None
    finally:
        await nc.close()
