"""Recent priority fees through the rpc submitter (the SDK's PriorityFeeSource), over real
HTTP against the simnet peer: the values its getRecentPrioritizationFees reports, the
accounts passed on, the planner's percentile and cap on top; then malformed replies from the
misbehaving proxy (an error object, wrong types, a result that is not a list), each counted
on the endpoint and raised, and the planner falling back to its configured price."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rpc_testlib import FaultyPeer, Reply, fast_config, manual
from solders.pubkey import Pubkey

from lstarb_rpc.submitter import RpcSubmitter
from lstarb_rpc.wire import MalformedReply, RpcReplyError
from lstarb_runtime.planner.fees import PriorityFees, find_fee_source
from lstarb_runtime.planner.settings import PlannerSettings
from lstarb_runtime.simnet import Simnet
from lstarb_sdk import PriorityFeeSource
from lstarb_sdk.fees import percentile

POOL = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")


def _reply(result: Any) -> Reply:
    return Reply(json.dumps({"jsonrpc": "2.0", "result": result, "id": 1}))


async def _stepped(net: Simnet, slots: int) -> None:
    for _ in range(slots):
        net.step()


async def test_the_fees_the_node_reports_and_the_planner_prices_on_them() -> None:
    async with Simnet(manual(priority_fee_median=20_000)) as net, FaultyPeer(net) as proxy:
        await _stepped(net, 160)
        submitter = RpcSubmitter(fast_config(proxy.http_url), paper=True)
        try:
            assert isinstance(submitter, PriorityFeeSource)
            assert find_fee_source([object(), submitter]) is submitter
            fees = await submitter.recent_priority_fees([POOL])
            expected = [fee for _, fee in net.chain.prioritization_fees()]
            assert fees == expected and len(fees) == 150
            asked = [r for r in proxy.requests if r["method"] == "getRecentPrioritizationFees"]
            assert asked[-1]["params"] == [[str(POOL)]]

            settings = PlannerSettings(
                recent_fee_percentile=75,
                compute_unit_price=1,
                priority_fee_accounts=[str(POOL)],
            )
            priced = PriorityFees(settings, submitter)
            assert await priced.refresh() == percentile(expected, 75) > 1
            assert priced.origin.startswith("recent fees (p75")
            capped = PriorityFees(
                PlannerSettings(recent_fee_percentile=100, compute_unit_price_max=25_000),
                submitter,
            )
            assert await capped.refresh() == 25_000 < max(expected)
            configured = PriorityFees(
                PlannerSettings(priority_fee_source="config", compute_unit_price=77), submitter
            )
            assert await configured.refresh() == 77 and configured.origin == "config"
            assert submitter.health.snapshot()["malformed"] == 0
        finally:
            await submitter.close()


BAD_REPLIES: list[tuple[str, Reply, type[Exception], str]] = [
    (
        "error object",
        Reply(
            json.dumps({"jsonrpc": "2.0", "error": {"code": -32603, "message": "boom"}, "id": 1})
        ),
        RpcReplyError,
        "rpc_errors",
    ),
    ("slot is text", _reply([{"slot": "9", "prioritizationFee": 5}]), MalformedReply, "malformed"),
    ("fee negative", _reply([{"slot": 9, "prioritizationFee": -5}]), MalformedReply, "malformed"),
    ("fee a bool", _reply([{"slot": 9, "prioritizationFee": True}]), MalformedReply, "malformed"),
    ("fee missing", _reply([{"slot": 9}]), MalformedReply, "malformed"),
    ("result an object", _reply({"slot": 9}), MalformedReply, "malformed"),
    ("row a number", _reply([5]), MalformedReply, "malformed"),
    ("not JSON", Reply('{"jsonrpc": "2.0", "error": '), MalformedReply, "malformed"),
]


@pytest.mark.parametrize(
    ("bad", "kind", "counter"), [b[1:] for b in BAD_REPLIES], ids=[b[0] for b in BAD_REPLIES]
)
async def test_a_malformed_reply_is_counted_raised_and_priced_at_config(
    bad: Reply, kind: type[Exception], counter: str
) -> None:
    async with Simnet(manual(priority_fee_median=20_000)) as net, FaultyPeer(net) as proxy:
        await _stepped(net, 20)
        submitter = RpcSubmitter(fast_config(proxy.http_url), paper=True)
        try:
            settings = PlannerSettings(compute_unit_price=4_321, recent_fee_max_age_s=0)
            fees = PriorityFees(settings, submitter)
            good = await fees.refresh()
            assert good != 4_321 and fees.recent == good

            proxy.http_faults["getRecentPrioritizationFees"].append(bad)
            with pytest.raises(kind):
                await submitter.recent_priority_fees()
            assert submitter.health.snapshot()[counter] == 1

            proxy.http_faults["getRecentPrioritizationFees"].append(bad)
            assert await fees.refresh() == 4_321  # the last read is too old: config
            assert fees.failures == 1 and fees.failed[kind.__name__] == 1
            assert fees.recent is None and fees.origin.startswith("config (recent fees")
            assert submitter.health.snapshot()[counter] == 2

            assert await fees.refresh() == good  # the node answers again: recent again
            assert fees.failures == 0 and fees.origin.startswith("recent fees")
        finally:
            await submitter.close()


async def test_a_failed_read_keeps_a_recent_price_until_it_is_too_old() -> None:
    now = [100.0]
    async with Simnet(manual(priority_fee_median=20_000)) as net, FaultyPeer(net) as proxy:
        await _stepped(net, 20)
        submitter = RpcSubmitter(fast_config(proxy.http_url), paper=True)
        try:
            settings = PlannerSettings(compute_unit_price=4_321, recent_fee_max_age_s=10)
            fees = PriorityFees(settings, submitter, clock=lambda: now[0])
            good = await fees.refresh()
            bad = _reply("nope")
            proxy.http_faults["getRecentPrioritizationFees"].extend([bad, bad])
            now[0] += 9
            assert await fees.refresh() == good  # 9 s old: still the recent price
            now[0] += 2
            assert await fees.refresh() == 4_321  # 11 s old: the configured one
            assert fees.failures == 2
        finally:
            await submitter.close()


async def test_a_node_that_is_down_is_a_failed_read_not_a_crash() -> None:
    submitter = RpcSubmitter(fast_config("http://127.0.0.1:9"), paper=True)  # discard port
    try:
        fees = PriorityFees(PlannerSettings(compute_unit_price=555), submitter)
        assert await fees.refresh() == 555
        assert fees.failures == 1 and fees.last_error
        assert submitter.health.snapshot()["http_errors"] == 1
    finally:
        await submitter.close()
