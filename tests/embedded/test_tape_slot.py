"""Where the embedded peer's chain starts: after the last slot on a real server's tape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.bus import EmbeddedNats, connect_bus, free_local_url
from lstarb_runtime.embedded.peer import EmbeddedPeer, draw_seed, start_slot_after
from lstarb_runtime.embedded.tape_slot import last_tape_slot
from lstarb_runtime.simnet.chain import DEFAULT_START_EPOCH, MAINNET_EPOCH_SLOTS
from lstarb_sdk.events import AccountEvent

DEFAULT_FIRST_SLOT = DEFAULT_START_EPOCH * MAINNET_EPOCH_SLOTS


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as server:
        yield server


async def test_the_last_event_on_the_tape_gives_the_slot(nats: EmbeddedNats) -> None:
    async with connect_bus(nats.url, embedded=False) as bus:
        assert await last_tape_slot(nats.url) is None  # streams, but an empty tape
        key, owner = Pubkey.new_unique(), Pubkey.new_unique()
        for seq, slot in enumerate([DEFAULT_FIRST_SLOT + 7, DEFAULT_FIRST_SLOT + 950], 1):
            await bus.publish(AccountEvent(pubkey=key, owner=owner, slot=slot, seq=seq))
    assert await last_tape_slot(nats.url) == DEFAULT_FIRST_SLOT + 950


async def test_no_server_and_no_stream_mean_no_slot(nats: EmbeddedNats) -> None:
    assert await last_tape_slot(free_local_url(), timeout=0.5) is None
    assert await last_tape_slot(nats.url) is None  # a server whose streams nobody made


def test_the_chain_starts_after_the_tape_never_before_its_default() -> None:
    assert start_slot_after(None) is None
    assert start_slot_after(DEFAULT_FIRST_SLOT + 950) == DEFAULT_FIRST_SLOT + 951
    assert start_slot_after(12) == DEFAULT_FIRST_SLOT  # an older tape (another chain)


def test_an_explicit_seed_is_kept_and_none_draws_one() -> None:
    given, drawn = EmbeddedPeer(6, 400), EmbeddedPeer(None, 400)
    assert (given.seed, given.seed_drawn) == (6, False)
    assert drawn.seed_drawn and 0 < drawn.seed < 1_000_000
    assert len({draw_seed() for _ in range(5)}) > 1
