"""A process holding a per-process reader and a service group's durable, until it is killed.

Run by ``test_readers.py`` as ``python reader_child.py URL INACTIVE_SECONDS``: it prints the
reader's consumer name once the reader has handled and acknowledged the first opportunity, then
waits forever.
"""

from __future__ import annotations

import asyncio
import sys

from lstarb_runtime.bus import Delivery, JetStreamBus


async def main(url: str, inactive: float) -> None:
    bus = await JetStreamBus.connect(url, fetch_timeout=0.2, follower_inactive=inactive)
    got = asyncio.Event()

    async def handle(_: Delivery) -> None:
        got.set()

    async def ignore(_: Delivery) -> None:
        return None

    await bus.consume("OPPORTUNITIES", "planner", ignore)
    reader = await bus.follow("OPPORTUNITIES", "child-reader", handle)
    await got.wait()
    while reader.stats.handled < 1:  # acknowledged, not only handled: an event left unacknowledged
        await asyncio.sleep(0.01)  # keeps the server from deleting the reader for ack_wait (30 s)
    await bus.nc.flush()
    print(reader.durable, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
