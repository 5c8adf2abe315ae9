"""The rpc source against the real local peer: snapshots, every change, restarts, endpoints."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from rpc_testlib import (
    Collector,
    FaultyPeer,
    Stepper,
    fast_config,
    following,
    keys_of,
    manual,
)
from solders.pubkey import Pubkey

from lstarb_rpc import EndpointConfig, RpcSource
from lstarb_runtime.simnet import Simnet
from lstarb_runtime.simnet.store import Entry
from lstarb_sdk import AccountFilter, AccountUpdate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_snapshot_in_batches_of_100_with_zstd_then_every_change() -> None:
    async with Simnet(manual(drive=True, seed=11)) as net, FaultyPeer(net) as proxy:
        keys = keys_of(net)
        assert len(keys) > 100
        config = fast_config(proxy.http_url, ws_url=proxy.ws_url)
        async with following(config, keys) as seen:
            await seen.settle(net, keys)  # the snapshot
            snapshots = [r for r in proxy.requests if r["method"] == "getMultipleAccounts"]
            assert len(snapshots) == -(-len(keys) // 100)
            assert all(len(r["params"][0]) <= 100 for r in snapshots)
            assert {r["params"][1]["encoding"] for r in snapshots} == {"base64+zstd"}
            assert {r["params"][1]["commitment"] for r in snapshots} == {"confirmed"}
            first = len(seen.updates)
            stepper = Stepper(net)
            stepper.start()
            await asyncio.sleep(1.0)
            await stepper.stop()
            await seen.settle(net, keys)
            counters = seen.source.counters()[f"127.0.0.1:{proxy.http_port}"]
        assert net.driver is not None and net.driver.trades > 10
        assert len(seen.updates) > first + net.driver.trades  # every trade moves two vaults
        assert seen.versions_increase()
        assert seen.slots and seen.slots[-1].slot == net.chain.slot
        assert seen.source.newest_slot() == net.chain.slot
        assert counters["connects"] == 1 and counters["fetched"] == len(keys)
        assert counters["subscriptions"] == len(keys) + 1  # and the slot subscription
        problems = ("malformed", "rpc_errors", "timeouts", "connection_errors", "http_errors")
        assert all(counters[p] == 0 for p in problems)


async def test_fetch_gives_none_for_missing_accounts_and_accounts_appear_and_close() -> None:
    async with Simnet(manual()) as net:
        keys = keys_of(net)[:3]
        missing = Pubkey.new_unique()
        source = RpcSource(fast_config(net.http_url))
        try:
            assert source.newest_slot() == 0
            net.step()
            fetched = await source.fetch([*keys, missing])
            assert source.newest_slot() == net.chain.slot  # the snapshot's slot
        finally:
            await source.close()
        assert fetched[missing] is None
        assert all(bytes(fetched[k].data) == net.store.get(str(k)).data for k in keys)  # type: ignore[union-attr]
        async with following(fast_config(net.http_url), [*keys, missing]) as seen:
            await seen.settle(net, keys)
            assert missing not in seen.view  # nothing to say of an account that never was
            net.store.put(Entry(str(missing), 5_000, b"\x01\x02", keys[0].__str__()), net.step())
            await seen.until(lambda: missing in seen.view)
            assert seen.view[missing].data == b"\x01\x02"
            net.store.remove(str(missing), net.step())
            await seen.until(lambda: seen.view[missing].lamports == 0)
            assert seen.view[missing].data == b"" and seen.versions_increase()


async def test_accounts_subscribed_later_are_subscribed_then_fetched() -> None:
    async with Simnet(manual(drive=True, seed=5)) as net:
        keys = keys_of(net)
        first, later = keys[:40], keys[40:]
        async with following(fast_config(net.http_url), first) as seen:
            await seen.settle(net, first)
            assert not any(k in seen.view for k in later)
            stepper = Stepper(net)
            stepper.start()
            await seen.source.subscribe(later)
            await asyncio.sleep(0.5)
            await stepper.stop()
            await seen.settle(net, keys)
            counters = next(iter(seen.source.counters().values()))
        assert counters["subscriptions"] == len(keys) + 1
        assert counters["connects"] == 1 and seen.versions_increase()


async def test_peer_killed_mid_run_and_restarted_loses_no_final_state() -> None:
    async with Simnet(manual(drive=True, seed=23)) as net:
        keys = keys_of(net)
        config = fast_config(net.http_url)
        async with following(config, keys) as seen:
            await seen.settle(net, keys)
            stepper = Stepper(net)
            stepper.start()
            await asyncio.sleep(0.4)
            port = net.port
            await net.stop()  # the peer goes away mid-run; the market keeps moving
            await asyncio.sleep(0.4)
            await stepper.stop()
            missed = net.chain.slot
            assert seen.differences(net, keys)  # the source missed what moved meanwhile
            net.config.port = port
            await net.start()
            stepper.start()
            await asyncio.sleep(0.4)
            await stepper.stop()
            await seen.settle(net, keys)
            counters = next(iter(seen.source.counters().values()))
        assert counters["connects"] >= 2 and counters["disconnects"] >= 1
        assert counters["fetched"] >= 2 * len(keys)  # re-fetched after reconnecting
        assert seen.slots[-1].slot == net.chain.slot > missed
        assert seen.versions_increase()


async def test_several_endpoints_the_freshest_wins_and_a_lagging_one_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="lstarb.plugin.rpc")
    async with Simnet(manual(drive=True, seed=31)) as net, FaultyPeer(net, delay_s=0.4) as slow:
        keys = keys_of(net)
        config = fast_config(
            slow.http_url,
            ws_url=slow.ws_url,
            name="slow",
            lag_slots=4,
            endpoints=[EndpointConfig(url=net.http_url, name="fast")],
        )
        async with following(config, keys) as seen:
            await seen.settle(net, keys)
            stepper = Stepper(net)
            stepper.start()
            await seen.until(lambda: seen.source.lagging() == ["slow"])
            await asyncio.sleep(0.5)
            await stepper.stop()
            await seen.settle(net, keys)
            counters = seen.source.counters()
        assert counters["slow"]["lag_events"] >= 1 and counters["fast"]["lag_events"] == 0
        assert any("rpc endpoint slow lags" in r.getMessage() for r in caplog.records)
        moved = [u for u in seen.updates if u.slot > seen.updates[0].slot]
        from_fast = sum(u.source == "rpc:fast" for u in moved)
        assert from_fast > 0.9 * len(moved)  # the freshest wins
        assert counters["slow"]["stale"] > 0  # the slow one only repeats what came
        assert seen.versions_increase()


async def test_discover_and_follow_program_filters() -> None:
    async with Simnet(manual()) as net:
        sample = net.store.get(str(keys_of(net)[0]))
        assert sample is not None
        owner = Pubkey.from_string(sample.owner)
        filters = [
            AccountFilter(data_size=len(sample.data), memcmp=((0, sample.data[:8]),)),
            AccountFilter(data_size=165),
        ]
        expected = {
            e.key
            for e in net.store.owned_by(sample.owner)
            if any(f.matches(e.data) for f in filters)
        }
        source = RpcSource(fast_config(net.http_url, follow_programs=True))
        seen = Collector(source)
        try:
            found = await source.discover(owner, filters)
            assert {str(k) for k in found} == expected and sample.key in expected
            assert all(bytes(a.data) == net.store.get(str(k)).data for k, a in found.items())  # type: ignore[union-attr]
            await seen.until(lambda: next(iter(source.counters().values()))["subscriptions"] == 3)
            newcomer = Pubkey.new_unique()  # a pool created after discovery
            net.store.put(Entry(str(newcomer), 10_000, sample.data, sample.owner), net.step())
            await seen.until(lambda: newcomer in seen.view)
            assert seen.view[newcomer].data == sample.data
        finally:
            await seen.close()


async def test_a_slots_notifications_are_handed_over_one_at_a_time() -> None:
    """A slot's notifications arrive together. Each is parsed and handed to the stream's
    reader before the next is even read off the socket (its ``received_ns`` comes after the
    reader took the one before), and more_arrived() says that more is waiting until the
    last of them is handed over."""
    async with Simnet(manual(drive=True, seed=11)) as net:
        keys = keys_of(net)
        source = RpcSource(fast_config(net.http_url, ws_url=net.ws_url))
        taken: list[tuple[AccountUpdate, int, bool]] = []

        async def read() -> None:
            async for item in source.stream():
                if isinstance(item, AccountUpdate):
                    taken.append((item, time.time_ns(), source.more_arrived()))

        reader = asyncio.create_task(read())
        await source.subscribe(keys)
        [name] = source.counters()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while source.counters()[name]["subscriptions"] < len(keys) + 1 or len(taken) < len(keys):
            assert loop.time() < deadline, "the snapshot and the subscriptions take too long"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        before = len(taken)
        net.step()  # the driver trades: vaults and the Clock move, notified back to back
        await asyncio.sleep(0.5)
        burst = taken[before:]
        await source.close()
        await asyncio.wait_for(reader, 5)
    assert len(burst) >= 3
    assert {update.slot for update, _, _ in burst} == {net.chain.slot}
    for (_, handed_ns, _), (later, _, _) in itertools.pairwise(burst):
        assert handed_ns < later.received_ns  # handed over before the next was read
    assert [more for _, _, more in burst] == [True] * (len(burst) - 1) + [False]
