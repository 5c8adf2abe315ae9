"""Bad input never stops the source: each kind is counted, logged once, and it carries on.

The peer is a real simnet behind :class:`FaultyPeer`, a proxy on its own loopback ports
that injects what a broken or hostile node sends. After each fault the market moves on,
and the source's view must again equal the peer's accounts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from rpc_testlib import (
    CUT,
    HANG,
    Collector,
    FaultyPeer,
    Reply,
    Stepper,
    fast_config,
    following,
    hanging_listener,
    keys_of,
    manual,
)
from solders.pubkey import Pubkey

from lstarb_rpc import EndpointConfig
from lstarb_runtime.simnet import Simnet
from lstarb_sdk.solana import SYSVAR_CLOCK_ID

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Rig:
    net: Simnet
    proxy: FaultyPeer
    seen: Collector
    keys: list[Pubkey]
    caplog: pytest.LogCaptureFixture

    @property
    def counters(self) -> dict[str, int]:
        return self.seen.source.counters()["proxy"]

    async def carries_on(self) -> None:
        """The market moves; the view follows it to the peer's exact final state."""
        stepper = Stepper(self.net)
        stepper.start()
        await asyncio.sleep(0.3)
        await stepper.stop()
        await self.seen.settle(self.net, self.keys)
        assert self.seen.versions_increase()

    def warnings(self, kind: str) -> int:
        return sum(
            f"counted as {kind};" in r.getMessage()
            for r in self.caplog.records
            if r.levelno == logging.WARNING
        )


@pytest.fixture
async def rig(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Rig]:
    caplog.set_level(logging.INFO, logger="lstarb.plugin.rpc")
    async with Simnet(manual(drive=True, seed=3)) as net, FaultyPeer(net) as proxy:
        keys = keys_of(net)
        config = fast_config(proxy.http_url, ws_url=proxy.ws_url, name="proxy", idle_timeout_s=2)
        async with following(config, keys) as seen:
            await seen.settle(net, keys)
            yield Rig(net, proxy, seen, keys, caplog)


def notification(method: str, result: object, subscription: int) -> str:
    params = {"result": result, "subscription": subscription}
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params})


def account_value(data: bytes) -> dict[str, object]:
    return {
        "data": [base64.b64encode(data).decode(), "base64"],
        "executable": False,
        "lamports": 1,
        "owner": "11111111111111111111111111111111",
        "rentEpoch": 0,
        "space": len(data),
    }


async def test_malformed_frames_are_counted_logged_once_and_skipped(rig: Rig) -> None:
    good = notification(
        "accountNotification", {"context": {"slot": 1}, "value": account_value(b"x")}, 1
    )
    frames: list[str | bytes] = [
        "not json at all",
        good[: len(good) // 2],  # a message cut in the middle of its JSON
        notification("accountNotification", {"context": {"slot": 1}, "value": {"data": 5}}, 1),
        b"\x00\x01 a binary frame",
    ]
    for frame in frames * 2:
        await rig.proxy.inject(frame)
    await rig.seen.until(lambda: rig.counters["malformed"] == 8)
    assert rig.warnings("malformed") == 1
    await rig.carries_on()
    assert rig.counters["connects"] == 1  # nothing here needed a reconnect


async def test_error_objects_even_those_solders_panics_on(rig: Rig) -> None:
    for _ in range(2):
        await rig.proxy.inject(
            '{"jsonrpc":"2.0","error":{"code":-32005,"message":"behind"},"id":null}'
        )
        await rig.proxy.inject(
            '{"jsonrpc":"2.0","error":{"code":-32016,"message":"Minimum context slot"},"id":77}'
        )
        await rig.proxy.inject('[{"jsonrpc":"2.0","error":"not an object","id":3}]')
    await rig.seen.until(lambda: rig.counters["rpc_errors"] == 6)
    assert rig.warnings("rpc_errors") == 1
    await rig.carries_on()
    assert rig.counters["connects"] == 1


async def test_notifications_and_replies_for_unknown_subscriptions(rig: Rig) -> None:
    value = {"context": {"slot": rig.net.chain.slot + 5}, "value": account_value(b"forged")}
    for _ in range(2):
        await rig.proxy.inject(notification("accountNotification", value, 987_654))
        await rig.proxy.inject('{"jsonrpc":"2.0","result":123,"id":999999}')
    await rig.seen.until(lambda: rig.counters["unknown_subscriptions"] == 4)
    assert rig.warnings("unknown_subscriptions") == 1
    assert all(u.data != b"forged" for u in rig.seen.updates)
    await rig.carries_on()


async def test_out_of_order_slots_never_move_the_view_back(rig: Rig) -> None:
    await rig.carries_on()
    slot = rig.net.chain.slot
    key = SYSVAR_CLOCK_ID  # notified every slot, last at ``slot``
    old = {"context": {"slot": slot - 3}, "value": account_value(b"an older state")}
    slots = rig.proxy.subscriptions["slot"]
    for _ in range(2):
        await rig.proxy.inject(
            notification(
                "slotNotification", {"parent": slot - 11, "root": 0, "slot": slot - 10}, slots
            )
        )
    await rig.seen.until(lambda: rig.counters["out_of_order_slots"] == 2)
    sub = rig.proxy.subscriptions[str(key)]
    await rig.proxy.inject(notification("accountNotification", old, sub))
    await asyncio.sleep(0.1)
    assert rig.warnings("out_of_order_slots") == 1
    assert all(u.data != b"an older state" for u in rig.seen.updates)
    assert max(s.slot for s in rig.seen.slots) == slot
    await rig.carries_on()


async def test_a_frame_cut_mid_message_reconnects_and_refetches(rig: Rig) -> None:
    for round_ in (1, 2):
        await rig.seen.until(lambda: rig.counters["connected"] == 1)
        rig.proxy.cut_mid_frame()
        await rig.seen.until(lambda r=round_: rig.counters["disconnects"] == r)
        await rig.carries_on()
    assert rig.counters["connects"] == 3
    assert rig.counters["connection_errors"] == 2 and rig.warnings("connection_errors") == 1
    assert rig.counters["fetched"] == 3 * len(rig.keys)


async def test_a_peer_that_goes_silent_is_left_and_rejoined(rig: Rig) -> None:
    stepper = Stepper(rig.net)
    stepper.start()
    rig.proxy.hanging = True  # the socket stays open, pings are answered, nothing else
    await rig.seen.until(lambda: rig.counters["timeouts"] >= 1)
    rig.proxy.hanging = False
    await stepper.stop()
    await rig.seen.settle(rig.net, rig.keys)
    assert rig.counters["connects"] >= 2 and rig.warnings("timeouts") == 1


async def test_http_replies_malformed_erroneous_cut_failing_or_hanging(rig: Rig) -> None:
    faults = [
        Reply("{ this is not json"),
        Reply('{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"Node is behind"}}'),
        Reply('{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":1},"value":[null]}}'),
        Reply("upstream failure", status=502),
        CUT,
        HANG,
    ]
    rig.proxy.http_faults["getMultipleAccounts"].extend(faults)
    stepper = Stepper(rig.net)  # the websocket stays busy while the re-fetches fail
    stepper.start()
    rig.proxy.cut_mid_frame()  # reconnect: the re-fetch meets the faults one by one
    await rig.seen.until(lambda: rig.counters["timeouts"] == 1, 20)
    await stepper.stop()
    await rig.carries_on()
    counts = rig.counters
    assert counts["malformed"] == 2  # not JSON; one account for a batch of keys
    assert counts["rpc_errors"] == 1 and counts["timeouts"] == 1
    assert counts["http_errors"] == 2  # 502; a body cut short
    assert all(rig.warnings(k) == 1 for k in ("malformed", "rpc_errors", "http_errors"))


async def test_a_refused_subscription_leaves_the_others_working(rig: Rig) -> None:
    refused = str(rig.keys[0])
    rig.proxy.refuse.add(refused)
    rig.proxy.cut_mid_frame()
    await rig.seen.until(
        lambda: any("subscriptions refused" in r.getMessage() for r in rig.caplog.records)
    )
    assert rig.counters["rpc_errors"] == 1
    await rig.carries_on()


async def test_a_node_that_accepts_and_never_answers_the_handshake() -> None:
    async with (
        Simnet(manual(drive=True, seed=9)) as net,
        hanging_listener() as silent_ws,
    ):
        keys = keys_of(net)
        config = fast_config(
            net.http_url,
            ws_url=silent_ws,
            name="silent",
            connect_timeout_s=0.2,
            endpoints=[EndpointConfig(url=net.http_url, name="good")],
        )
        async with following(config, keys) as seen:
            await seen.until(lambda: seen.source.counters()["silent"]["timeouts"] >= 2)
            stepper = Stepper(net)
            stepper.start()
            await asyncio.sleep(0.3)
            await stepper.stop()
            await seen.settle(net, keys)
            counters = seen.source.counters()
        assert counters["silent"]["connects"] == 0 and counters["good"]["connects"] == 1
        assert seen.versions_increase()
