"""The compute-unit price: from config, or a percentile of recent fees read from a node.

The node is the real local peer (simnet, which answers getRecentPrioritizationFees over the
slots it keeps); the source is a plugin object offering ``recent_prioritization_fees`` (the
protocol the planner looks for on loaded submitters), asking over HTTP JSON-RPC.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from solders.pubkey import Pubkey

from lstarb_runtime.planner.fees import PriorityFees, RecentFeeSource, find_fee_source, percentile
from lstarb_runtime.planner.settings import PlannerSettings
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_sdk.errors import DataSourceError


class JsonRpcFees:
    """A recent-fee source: getRecentPrioritizationFees on one node."""

    name = "json-rpc-fees"

    def __init__(self, url: str) -> None:
        self.url = url

    async def recent_prioritization_fees(
        self, accounts: Sequence[Pubkey] = ()
    ) -> list[tuple[int, int]]:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getRecentPrioritizationFees",
            "params": [[str(a) for a in accounts]],
        }
        async with httpx.AsyncClient() as client:
            reply = (await client.post(self.url, json=body, timeout=5)).json()
        if "error" in reply:
            raise DataSourceError(f"getRecentPrioritizationFees: {reply['error']}")
        return [(int(r["slot"]), int(r["prioritizationFee"])) for r in reply["result"]]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 75) == 0
    assert percentile([5], 75) == 5
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 75) == 3
    assert percentile([4, 3, 2, 1], 100) == 4


def test_config_price_without_a_source() -> None:
    settings = PlannerSettings(compute_unit_price=4_321)
    assert find_fee_source([object()]) is None
    assert PriorityFees(settings, None).price == 4_321


async def test_recent_fees_from_a_node_priced_at_the_percentile_and_capped() -> None:
    async with Simnet(SimnetConfig(port=0, slot_ms=0, genesis_unix_time=1_760_000_000)) as net:
        chain = net.chain
        for _ in range(8):
            net.step()
        fees = [100, 2_000, 50_000, 7_000, 0, 300_000, 9_000, 1_000]
        first = chain.slot - len(fees) + 1
        chain.priority_fees.extend(zip(range(first, chain.slot + 1), fees, strict=True))
        source = JsonRpcFees(net.http_url)
        assert isinstance(source, RecentFeeSource)
        assert find_fee_source([object(), source]) is source
        replied = await source.recent_prioritization_fees()
        values = [fee for _, fee in replied]
        assert sorted(v for v in values if v) == sorted(v for v in fees if v)
        settings = PlannerSettings(recent_fee_percentile=75, compute_unit_price=1)
        fees_now = PriorityFees(settings, source)
        assert await fees_now.refresh() == percentile(values, 75) > 1
        capped = PriorityFees(
            PlannerSettings(recent_fee_percentile=100, compute_unit_price_max=250_000), source
        )
        assert await capped.refresh() == 250_000
        configured = PriorityFees(
            PlannerSettings(priority_fee_source="config", compute_unit_price=77), source
        )
        assert await configured.refresh() == 77 and configured.origin == "config"


async def test_a_failing_source_keeps_the_last_price_and_says_why() -> None:
    source = JsonRpcFees("http://127.0.0.1:9")  # nothing listens on the discard port
    fees = PriorityFees(PlannerSettings(compute_unit_price=555), source)
    assert await fees.refresh() == 555
    assert fees.failures == 1 and fees.last_error
