"""The market tape: any process rebuilds the scanner's pool book from MARKET_DATA.

Why it works: the scanner publishes every account its pool book took, in the order it took
them (``AccountEvent``, subject ``md.account.<pubkey>``, ``seq`` = apply order), and its book
decides everything from those accounts alone (:meth:`PoolBook.apply`). A book fed the same
accounts in the same order through the same method ends the same: same pools, same cached
accounts, same quotes. So a planner or executor in another process, on another machine,
quotes exactly what the scanner saw, and a recorded tape replays to the same decisions.

One call for a snapshot (:func:`rebuild_book`); :class:`Tape` to keep following.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from lstarb_runtime.bus import Bus, BusError, Consumer, Delivery
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk.events import AccountEvent

log = logging.getLogger("lstarb.tape")

TAPE_SUBJECTS: Final = "md.account.>"


class Tape:
    """Keeps ``book`` equal to the scanner's by applying the tape's account events in order.

    Every reader needs the whole tape, so each :class:`Tape` reads from the stream's start
    through a reader of its own (:meth:`Bus.follow`: never a shared consumer group, gone from
    the server when the tape stops or its process dies).
    """

    def __init__(self, bus: Bus, book: PoolBook) -> None:
        self.bus = bus
        self.book = book
        self.applied = 0
        """Account events the book took (the rest were unchanged or older states)."""
        self.read = 0
        self._consumer: Consumer | None = None

    async def _handle(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, AccountEvent):
            return
        self.read += 1
        if self.book.apply(event.pubkey, event.account(), (event.slot, event.write_version)):
            self.applied += 1

    async def start(self, *, timeout: float = 30.0, poll: float = 0.02) -> None:
        """Start following and return once the book holds everything on the tape now.

        Raises :class:`BusError` when the tape cannot be read up to now within ``timeout``.
        """
        self._consumer = consumer = await self.bus.follow(
            "MARKET_DATA", "tape", self._handle, filter_subject=TAPE_SUBJECTS
        )
        deadline = time.monotonic() + timeout
        while True:
            states = {s.name: s for s in await self.bus.stream_states()}
            pending = states["MARKET_DATA"].consumers.get(consumer.durable)
            if pending == 0:
                return
            if time.monotonic() >= deadline:
                await self.stop()
                raise BusError(
                    f"the market tape was not read within {timeout:g}s "
                    f"({self.read} events read, {pending} pending)"
                )
            await asyncio.sleep(poll)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


async def rebuild_book(bus: Bus, host: PluginHost, *, timeout: float = 30.0) -> PoolBook:
    """The scanner's pool book as of now, from the tape, with the host's DEX adapters."""
    tape = Tape(bus, PoolBook.for_tape(host))
    await tape.start(timeout=timeout)
    await tape.stop()
    log.info("rebuilt %d pools from %d tape events", len(tape.book.pools), tape.read)
    return tape.book
