"""getRecentPrioritizationFees on the simnet peer: Agave's JSON shape (a list of
``{"slot", "prioritizationFee"}`` over the last 150 slots, oldest first), the network's fees
deterministic from the seed and the slot, a landed transaction's fee lowering its slot's
minimum, and Agave's refusals of bad params."""

from __future__ import annotations

from typing import Any

import httpx

from lstarb_runtime.simnet import Simnet, SimnetConfig


async def _fees(net: Simnet, params: list[Any] | None = None) -> Any:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 7, "method": "getRecentPrioritizationFees"}
    if params is not None:
        body["params"] = params
    async with httpx.AsyncClient() as http:
        return (await http.post(net.http_url, json=body)).json()


def _config(**kwargs: Any) -> SimnetConfig:
    return SimnetConfig(port=0, slot_ms=0, genesis_unix_time=1_760_000_000, **kwargs)


async def test_the_shape_and_a_deterministic_spread_around_the_median() -> None:
    async with Simnet(_config(priority_fee_median=8_000)) as net:
        for _ in range(199):
            net.step()
        reply = await _fees(net, [[]])
        again = await _fees(net)
    assert reply["jsonrpc"] == "2.0" and reply["id"] == 7
    rows = reply["result"]
    assert len(rows) == 150 and again["result"] == rows
    assert all(set(row) == {"slot", "prioritizationFee"} for row in rows)
    slots = [row["slot"] for row in rows]
    assert slots == list(range(net.chain.slot - 149, net.chain.slot + 1))
    fees = [row["prioritizationFee"] for row in rows]
    assert set(fees) <= {8_000 * k // 4 for k in range(9)}
    assert len(set(fees)) >= 5  # a spread, not a constant
    ordered = sorted(fees)
    assert 4_000 <= ordered[len(ordered) // 2] <= 12_000


async def test_the_same_seed_reports_the_same_fees_another_does_not() -> None:
    async def fees(seed: int) -> list[Any]:
        async with Simnet(_config(seed=seed)) as net:
            for _ in range(40):
                net.step()
            return list((await _fees(net))["result"])

    first = await fees(3)
    assert first == await fees(3)
    assert first != await fees(4)


async def test_no_network_fees_and_a_landed_fee_lowers_its_slot() -> None:
    async with Simnet(_config(priority_fee_median=0)) as net:
        for _ in range(3):
            net.step()
        assert {row["prioritizationFee"] for row in (await _fees(net))["result"]} == {0}
        net.chain.record("sig-a", None, priority_fee_per_cu=5_000)
        net.chain.record("sig-b", None, priority_fee_per_cu=700)
        rows = (await _fees(net))["result"]
    assert rows[-1] == {"slot": net.chain.slot, "prioritizationFee": 700}
    assert {row["prioritizationFee"] for row in rows[:-1]} == {0}


async def test_bad_params_are_refused_as_agave_refuses_them() -> None:
    async with Simnet(_config()) as net:
        not_a_list = await _fees(net, ["So11111111111111111111111111111111111111112"])
        too_many = await _fees(net, [["So11111111111111111111111111111111111111112"] * 129])
        not_a_key = await _fees(net, [["not-a-key"]])
    for reply in (not_a_list, too_many, not_a_key):
        assert reply["error"]["code"] == -32602, reply
    assert "max 128" in too_many["error"]["message"]
