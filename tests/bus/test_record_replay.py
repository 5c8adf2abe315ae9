"""``lstarb record`` and the replay source (issue 12 item 3): a recorded tape replays to the
same pool states, in order, and a recording says which accounts the chain does not have.

The market is the bundled real mainnet accounts; the tape moves it (vault balances of a
constant-product pool change over later slots), a real nats-server carries it, the real
``lstarb record`` command saves it, and the replay source drives a pool book the way the
scanner does. The book it ends with quotes exactly as the book built from the published
events.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.plugin import lstarb_dex_adapters as orca_adapters
from lstarb_raydium.plugin import lstarb_dex_adapters as raydium_adapters
from lstarb_runtime.builtin.replay import (
    ReplayConfig,
    ReplaySource,
    TapeReplaySource,
    bundled_market,
    clock_account,
    load_market,
    open_replay,
)
from lstarb_runtime.bus import EmbeddedNats
from lstarb_runtime.bus.cli import record
from lstarb_runtime.bus.recording import DATA_FILE, MAGIC, read_records
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import AccountUpdate, DataSourceError
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import AccountEvent
from lstarb_sdk.events.examples import example_pool_state
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, account_from_json

from .conftest import fresh_jetstream_bus

MARKET_DIR = bundled_market()
ABSENT_TICK_ARRAY = Pubkey.from_string("3A3xa2M5oqcc7DqoHFQsu1wtF333ntbxmnEiPmUKKWTW")
"""A tick-array PDA of the jitosol-sol-ts1 Whirlpool that did not exist on chain (fixture
manifest, tick_arrays_absent_uninitialized)."""


def _adapters() -> list[type]:
    return [*orca_adapters(), *raydium_adapters()]


def _vault(name: str) -> tuple[Pubkey, Account]:
    doc = json.loads((MARKET_DIR / "raydium" / "cpmm" / "sol-usdc-7Juw" / name).read_text())
    return account_from_json(doc)


def _with_amount(account: Account, amount: int) -> Account:
    data = bytearray(account.data)
    struct.pack_into("<Q", data, 64, amount)  # SPL token account: amount at offset 64
    return Account(account.lamports, bytes(data), account.owner, account.executable, 0)


def _tape() -> list[AccountEvent]:
    """Every bundled account at slot 100, one known absent, then 6 trades moving a CPMM pool."""
    events: list[AccountEvent] = []
    market = load_market(MARKET_DIR)
    market[SYSVAR_CLOCK_ID] = clock_account(100, int(time.time()))  # as the scanner saw it
    for key, account in market.items():
        events.append(
            AccountEvent.from_account(key, account, slot=100, seq=len(events) + 1, write_version=1)
        )
    events.append(AccountEvent.from_account(ABSENT_TICK_ARRAY, None, slot=100, seq=len(events) + 1))
    (k0, v0), (k1, v1) = _vault("vault_0.json"), _vault("vault_1.json")
    a0 = int.from_bytes(bytes(v0.data)[64:72], "little")
    a1 = int.from_bytes(bytes(v1.data)[64:72], "little")
    for i in range(1, 7):
        slot = 100 + i
        a0, a1 = a0 + 10**9 * i, a1 - a1 // 100  # a trade: in one vault, out of the other
        for key, account, amount in ((k0, v0, a0), (k1, v1, a1)):
            events.append(
                AccountEvent.from_account(
                    key,
                    _with_amount(account, amount),
                    slot=slot,
                    seq=len(events) + 1,
                    write_version=1,
                )
            )
    return events


def _quotes(book: PoolBook) -> dict[tuple[str, str], object]:
    out: dict[tuple[str, str], object] = {}
    for address, pool in book.pools.items():
        for mint in pool.mints:
            try:
                q = book.quote(address, book.whole_token(mint), mint)
                out[(str(address), str(mint))] = (q.in_amount, q.out_amount, q.fee_amount)
            except LstarbError as exc:
                out[(str(address), str(mint))] = type(exc).__name__
    return out


def _book_from_events(events: list[AccountEvent]) -> PoolBook:
    """The scanner's book: every event applied in seq order (as lstarb_runtime.tape does)."""
    book = PoolBook(_adapters(), keep_unwanted=True)
    for e in events:
        book.apply(e.pubkey, e.account(), (e.slot, e.write_version))
    return book


async def _book_from_source(source: ReplaySource) -> tuple[PoolBook, list[AccountUpdate]]:
    """Drive a book from a data source as the scanner does: snapshot, subscribe, stream."""
    book = PoolBook(_adapters(), keep_unwanted=True)
    snapshot = await source.fetch(list(source.known_accounts()))
    for key, account in snapshot.items():
        book.apply(key, account, (source.newest_slot(), 0))
    await source.subscribe(book.accounts)
    streamed = []
    async for update in source.stream():
        if isinstance(update, AccountUpdate):
            streamed.append(update)
            account = Account(update.lamports, update.data, update.owner, False, 0)
            book.apply(update.pubkey, account, (update.slot, update.write_version))
    await source.close()
    return book, streamed


def _record(url: str, out: Path, count: int) -> str:
    result = CliRunner().invoke(
        record, ["--out", str(out), "--nats-url", url, "-n", str(count), "--duration", "30"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_recorded_tape_replays_to_identical_pool_states(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    events = _tape()

    async def publish() -> None:
        bus = await fresh_jetstream_bus(nats_server.url)
        for i, e in enumerate(events):
            await bus.publish_nowait(e)
            if i == 3:  # pool states are on the stream too: recorded, not replayed
                await bus.publish_nowait(example_pool_state())
        assert await bus.flush() == 0
        await bus.close()

    asyncio.run(publish())
    out = tmp_path / "tape"
    said = _record(nats_server.url, out, len(events) + 1)
    assert (
        f"recorded {len(events) + 1} MARKET_DATA events ({len(events)} account updates, 1 pool"
        in said
    )

    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["format"] == "lstarb-recording" and manifest["messages"] == len(events) + 1
    assert (out / DATA_FILE).read_bytes()[:8] == MAGIC
    records = list(read_records(out))
    assert [r.sequence for r in records] == list(range(1, len(events) + 2))
    assert all(r.time_ns >= records[0].time_ns for r in records)

    source = open_replay(out, slot=0, unix_timestamp=1_700_000_000)
    assert isinstance(source, TapeReplaySource)
    assert asyncio.run(source.fetch([ABSENT_TICK_ARRAY, Pubkey.new_unique()])) == {
        ABSENT_TICK_ARRAY: None  # known absent: None; unknown: left out (no news)
    }
    replayed, streamed = asyncio.run(_book_from_source(source))
    assert [u.slot for u in streamed] == [e.slot for e in events[-12:]]  # in recorded order
    assert all(u.source == "replay" and u.write_version == 1 for u in streamed)
    expected = _book_from_events(events)
    assert len(expected.pools) >= 5 and set(replayed.pools) == set(expected.pools)
    assert _quotes(replayed) == _quotes(expected)
    # the tape moved the market: the final book differs from the first snapshot
    assert _quotes(_book_from_events(events[:-12])) != _quotes(expected)


def test_recorded_pace_is_kept_and_speed_zero_is_as_fast_as_possible(tmp_path: Path) -> None:
    from lstarb_runtime.bus.recording import Record, RecordingWriter

    key = Pubkey.new_unique()
    owner = Pubkey.new_unique()
    out = tmp_path / "paced"
    with RecordingWriter(out) as w:
        for i in range(4):  # 4 updates of one account, 0.2 s apart
            e = AccountEvent(pubkey=key, owner=owner, slot=10 + i, data=bytes([i]), seq=i + 1)
            w.write(Record(i + 1, 1_000_000_000 + i * 200_000_000, f"md.account.{key}", e.encode()))

    async def play(speed: float) -> tuple[float, list[int]]:
        source = TapeReplaySource.from_recording(out, speed=speed)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = [u.data[0] async for u in source.stream() if isinstance(u, AccountUpdate)]
        return loop.time() - t0, got

    took, got = asyncio.run(play(1.0))
    assert got == [1, 2, 3]  # the first update is the snapshot
    assert took >= 0.6 - 0.05  # three gaps of 0.2 s, at the recorded pace
    took_fast, got_fast = asyncio.run(play(0.0))
    assert got_fast == [1, 2, 3] and took_fast < took


def test_a_dump_directory_manifest_lists_absent_accounts(tmp_path: Path) -> None:
    src = MARKET_DIR / "orca" / "jitosol-sol-ts1"
    dump = tmp_path / "dump"
    dump.mkdir()
    for f in src.glob("*.json"):
        (dump / f.name).write_text(f.read_text())
    (dump / "MANIFEST.json").write_text(
        json.dumps(
            {
                "pool_sets": [
                    {
                        "label": "jitosol-sol-ts1",
                        "note": "not a key, and not under an absent key",
                        "tick_arrays_absent_uninitialized": [
                            {"start_tick_index": -968, "pda": str(ABSENT_TICK_ARRAY)}
                        ],
                    }
                ]
            }
        )
    )
    source = open_replay(dump, slot=5, unix_timestamp=1_700_000_000)
    assert ABSENT_TICK_ARRAY in set(source.known_accounts())
    snapshot = asyncio.run(source.fetch(source.known_accounts()))
    assert snapshot[ABSENT_TICK_ARRAY] is None
    assert sum(a is not None for a in snapshot.values()) == len(list(src.glob("*.json"))) + 1
    assert SYSVAR_CLOCK_ID in snapshot  # a Clock is made up when the dump has none


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_a_bad_replay_path_is_named(tmp_path: Path, make: str) -> None:
    path = tmp_path / "market"
    if make == "file":
        path.write_text("{}")
    elif make == "empty":
        path.mkdir()
    if make == "empty":
        with pytest.raises(DataSourceError, match=f"replay path {path} holds no account files"):
            open_replay(path, slot=0, unix_timestamp=None)
        return
    with pytest.raises(ValueError, match="does not exist" if make == "missing" else "is a file"):
        ReplayConfig(path=path)
    with pytest.raises(DataSourceError, match=str(path)):
        open_replay(path, slot=0, unix_timestamp=None)


def test_record_refuses_a_directory_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    result = CliRunner().invoke(
        record, ["--out", str(tmp_path), "--nats-url", "nats://127.0.0.1:1"]
    )
    assert result.exit_code == 2 and "not an empty directory" in result.output


def test_a_cut_short_recording_keeps_its_whole_records(tmp_path: Path) -> None:
    from lstarb_runtime.bus.recording import Record, RecordingWriter

    key, owner = Pubkey.new_unique(), Pubkey.new_unique()
    with RecordingWriter(tmp_path / "r") as w:
        for i in range(3):
            e = AccountEvent(pubkey=key, owner=owner, slot=i, seq=i + 1)
            w.write(Record(i + 1, i, f"md.account.{key}", e.encode()))
    data = tmp_path / "r" / DATA_FILE
    data.write_bytes(data.read_bytes()[:-7])
    assert [r.sequence for r in read_records(tmp_path / "r")] == [1, 2]


def test_lstarb_replay_runs_on_a_recording(tmp_path: Path) -> None:
    """The command end to end: ``lstarb replay DIR --speed 0`` is ``lstarb run`` on the tape."""
    import os
    import subprocess
    import sys

    from lstarb_runtime.bus import free_local_url
    from lstarb_runtime.bus.recording import Record, RecordingWriter

    events = _tape()
    with RecordingWriter(tmp_path / "tape") as w:
        for i, e in enumerate(events):
            w.write(Record(i + 1, 10**18 + i, f"md.account.{e.pubkey}", e.encode()))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")},
        "LSTARB_NATS__URL": free_local_url(),
        "LSTARB_NATS__DATA_DIR": str(tmp_path / "nats"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "replay",
            str(tmp_path / "tape"),
            "--speed",
            "0",
            "--plugins",
            "raydium,orca",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pools = len(_book_from_events(events).pools)
    assert f"replay: {len(events) - 12} accounts, {pools} pools" in done.stdout, done.stdout
    assert "stream ended after 12 account updates" in done.stdout, done.stdout
