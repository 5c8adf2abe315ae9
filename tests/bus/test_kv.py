"""Key-value buckets on both buses (memory and a real nats-server): one behaviour.

``create`` is the exactly-once primitive the planner and executor rely on: of two writers that
race to create one key, exactly one wins, on either bus, every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue as NatsKeyValue

from lstarb_runtime.bus import (
    KV_BUCKETS,
    Bus,
    EmbeddedNats,
    Entry,
    JetStreamBus,
    KeyExists,
    KVError,
    MemoryBus,
    WrongRevision,
    free_local_url,
)

from .conftest import fresh_jetstream_bus
from .test_behaviour import until


async def test_the_three_buckets_of_the_design(any_bus: Bus) -> None:
    assert [b.name for b in KV_BUCKETS] == ["control", "plans", "inflight"]
    for b in KV_BUCKETS:
        assert any_bus.kv(b.name).bucket == b.name
    with pytest.raises(KVError, match="unknown bucket 'nope'"):
        any_bus.kv("nope")


async def test_get_put_create_update_delete(any_bus: Bus) -> None:
    kv = any_bus.kv("control")
    assert await kv.get("halted") is None
    r1 = await kv.put("halted", b"1")
    got = await kv.get("halted")
    assert got == Entry("halted", b"1", r1)
    with pytest.raises(KeyExists, match="halted"):
        await kv.create("halted", b"again")
    r2 = await kv.update("halted", b"0", r1)
    assert r2 > r1 and (await kv.get("halted")) == Entry("halted", b"0", r2)
    with pytest.raises(WrongRevision):
        await kv.update("halted", b"stale", r1)
    await kv.delete("halted")
    assert await kv.get("halted") is None
    r3 = await kv.create("halted", b"1")  # a deleted key may be created again
    assert r3 > r2
    with pytest.raises(KVError, match="invalid key"):
        await kv.put("no spaces", b"")


async def test_create_is_exactly_once_under_concurrent_writers(any_bus: Bus) -> None:
    """Two writers race for each of 50 plan ids: each id is won exactly once."""
    kv = any_bus.kv("plans")
    second: Bus = any_bus
    if isinstance(any_bus, JetStreamBus):  # a second connection, as a second executor has
        second = await JetStreamBus.connect(any_bus._monitor.url)  # type: ignore[union-attr]
    try:
        kv2 = second.kv("plans")

        async def claim(store: object, key: str, who: bytes) -> bytes | None:
            try:
                await store.create(key, who)  # type: ignore[attr-defined]
            except KeyExists:
                return None
            return who

        keys = [f"plan-{i}" for i in range(50)]
        results = await asyncio.gather(
            *(claim(kv, k, b"a") for k in keys), *(claim(kv2, k, b"b") for k in keys)
        )
        winners = {k: [r for r in (results[i], results[50 + i]) if r] for i, k in enumerate(keys)}
        assert all(len(w) == 1 for w in winners.values()), winners
        for k, (who,) in winners.items():
            entry = await kv.get(k)
            assert entry is not None and entry.value == who
    finally:
        if second is not any_bus:
            await second.close()


async def test_watch_gives_current_values_then_changes(any_bus: Bus) -> None:
    kv = any_bus.kv("inflight")
    await kv.put("sig1", b"sent")
    await kv.put("sig2", b"sent")
    await kv.delete("sig2")
    seen: list[Entry] = []

    async def follow() -> None:
        async for entry in kv.watch(">"):
            seen.append(entry)

    task = asyncio.create_task(follow())
    await until(lambda: len(seen) == 1)
    assert (seen[0].key, seen[0].value, seen[0].deleted) == ("sig1", b"sent", False)
    await kv.put("sig3", b"sent")
    await kv.delete("sig1")
    await until(lambda: len(seen) == 3)
    assert [(e.key, e.deleted) for e in seen[1:]] == [("sig3", False), ("sig1", True)]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_watch_one_key(any_bus: Bus) -> None:
    kv = any_bus.kv("control")
    got: list[Entry] = []

    async def follow() -> None:
        async for entry in kv.watch("halted"):
            got.append(entry)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.1)
    await kv.put("reason", b"x")
    await kv.put("halted", b"1")
    await until(lambda: len(got) == 1)
    assert got[0].key == "halted"
    task.cancel()


async def test_keys_lists_live_keys_even_when_the_client_listing_says_none(
    js_bus: JetStreamBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nats-py's key listing can answer "no keys" for a bucket that holds some (its watcher's
    set-up races the first delivery: 1 listing in 400 on a busy machine). A restarted
    executor listing its plans in flight must not get nothing: the keys come from the
    bucket's stream, deleted ones left out."""
    kv = js_bus.kv("inflight")
    for key in ("plan.a.sig1", "plan.b.sig2", "plan.c.sig3"):
        await kv.put(key, b"x")
    await kv.delete("plan.b.sig2")

    async def no_keys(self: NatsKeyValue, *args: object, **kwargs: object) -> list[str]:
        raise NoKeysError

    monkeypatch.setattr(NatsKeyValue, "keys", no_keys)
    assert sorted(await kv.keys()) == ["plan.a.sig1", "plan.c.sig3"]
    for key in ("plan.a.sig1", "plan.c.sig3"):
        await kv.delete(key)
    assert await kv.keys() == []


async def test_buckets_survive_a_server_killed_and_restarted(tmp_path: Path) -> None:
    server = EmbeddedNats(free_local_url(), tmp_path / "nats").start()
    try:
        bus = await JetStreamBus.connect(server.url)
        await bus.ensure_streams()
        await bus.kv("plans").create("plan-1", b"sent")
        await asyncio.to_thread(server.kill)
        await until(lambda: not bus.nc.is_connected)
        await asyncio.to_thread(server.start)
        await until(lambda: bus.nc.is_connected and bus.stats.reasserts == 1, timeout=20)
        with pytest.raises(KeyExists):  # the guard held across the crash
            await bus.kv("plans").create("plan-1", b"again")
        await bus.kv("plans").create("plan-2", b"sent")
        await bus.close()
    finally:
        server.stop()


async def test_buckets_are_re_created_when_lost(nats_server: EmbeddedNats) -> None:
    bus = await fresh_jetstream_bus(nats_server.url)
    await bus.js.delete_stream("KV_control")
    bus._reassert("a test")
    await until(lambda: bus.stats.reasserts == 1)
    assert await bus.kv("control").put("halted", b"0") > 0
    await bus.close()


@pytest.fixture
async def memory_bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus()
    yield bus
    await bus.close()


async def test_memory_ttl_expires_keys(
    memory_bus: MemoryBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lstarb_runtime.bus.kv as kv_module

    kv = memory_bus.kv("plans")
    await kv.create("p", b"1")
    now = kv_module.time.monotonic()
    monkeypatch.setattr(kv_module.time, "monotonic", lambda: now + kv.spec.ttl + 1)
    assert await kv.get("p") is None
    await kv.create("p", b"2")
