"""``Bus.push``: what was published goes to the server now, not at the loop's next turn.

Observed from outside the process's event loop: a plain-socket NATS subscriber in a thread
reads the subject while the loop is blocked (as it is while the scanner works through a
burst), so only bytes already written can reach it.
"""

from __future__ import annotations

import asyncio
import time

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.bus import EmbeddedNats
from lstarb_runtime.bus.streams import subject_of
from lstarb_sdk.events import AccountEvent

from .conftest import fresh_jetstream_bus
from .raw_nats import start_subscriber

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def _event(seq: int) -> AccountEvent:
    account = Account(2_039_280, bytes(165), TOKEN_PROGRAM, False, 0)
    return AccountEvent.from_account(
        Pubkey.from_string("So11111111111111111111111111111111111111112"),
        account,
        slot=300_000_000 + seq,
        seq=seq,
        write_version=seq,
    )


async def test_push_writes_the_publishes_while_the_loop_is_busy(nats_server: EmbeddedNats) -> None:
    bus = await fresh_jetstream_bus(nats_server.url)
    try:
        await bus.publish(_event(1))  # the bus's acknowledgement inbox is set up
        subject = subject_of(_event(2))
        got = await asyncio.to_thread(start_subscriber, nats_server.url, subject)

        await bus.publish_nowait(_event(2))
        time.sleep(0.5)  # the loop is blocked: the client's flusher does not run
        assert got.empty()  # still in the client's buffer

        bus.push()
        time.sleep(0.5)  # still blocked: only what push wrote can arrive
        assert got.get_nowait().split()[1] == subject.encode()

        bus.push()  # nothing left to write: a no-op
        await bus.publish_nowait(_event(3))
        await bus.flush()  # the loop turns: acknowledged as usual
        assert await asyncio.to_thread(got.get, True, 5)
        assert got.empty()  # each published once
    finally:
        await bus.close()
