"""Thousands of slots: the market stays aligned and its gaps realistic, seed by seed.

Staking rewards are compressed (an absurd APY over 64-slot epochs) so that a few
thousand slots accrue what months do: without DEX prices that follow the rates, the
stake pools would leave their band within the run.
"""

from __future__ import annotations

import hashlib

import pytest

from lstarb_runtime.simnet import DriverConfig, Simnet

from .conftest import manual

SLOTS = 4000
CAP = 0.0101  # the widest gap (1%) plus rounding
LST_CAP = 0.0016  # LST pairs: 15 bp plus rounding
DRIFT = 0.0011  # pools that cannot move: 5 bp of drift on each mint, plus rounding


def _digest(net: Simnet) -> str:
    h = hashlib.sha256()
    for entry in sorted(net.store.entries(), key=lambda e: e.key):
        h.update(entry.key.encode() + entry.lamports.to_bytes(8, "little") + entry.data)
    return h.hexdigest()


@pytest.mark.slow
def test_thousands_of_slots_keep_prices_aligned_and_deterministic() -> None:
    config = DriverConfig(apy=1e30)
    nets = [
        Simnet(manual(drive=True, seed=seed, epoch_slots=64, driver=config))
        for seed in (13, 13, 14)
    ]
    net = nets[0]
    assert net.driver is not None
    driver, market, reference = net.driver, net.driver.market, net.driver.reference
    lsts = {pool.mint: address for address, pool in market.stake.items()} | {
        "So11111111111111111111111111111111111111112": ""
    }
    first_values = {mint: reference.value(mint) for mint in reference.anchors}
    worst = {"moving": 0.0, "lst": 0.0, "still": 0.0, "premium": 0.0}
    for slot in range(SLOTS):
        for each in nets:
            each.step()
        if slot % 10:
            continue
        for address in [*market.cp, *market.concentrated]:
            mint_a, mint_b = market.mints_of(address)
            gap = abs(market.mid_price(address) / reference.pair(mint_a, mint_b) - 1)  # type: ignore[operator]
            kind = (
                "still"
                if address in market.still
                else "lst"
                if {mint_a, mint_b} <= set(lsts)
                else "moving"
            )
            worst[kind] = max(worst[kind], gap)
        for mint, anchor in reference.anchors.items():
            pool = anchor.pool
            lamports, tokens = pool.rate(net.store.get(pool.address).data)  # type: ignore[union-attr]
            rate = lamports / tokens
            assert rate == reference.rates[mint]
            value = reference.value(mint)
            assert rate * (1 - anchor.exit_cost) <= value * (1 + 1e-12)  # no arbitrage at rest
            assert value <= rate * (1 + anchor.entry_cost) * (1 + 1e-12)
            worst["premium"] = max(worst["premium"], abs(rate / value - 1))
    assert worst["moving"] <= CAP and worst["lst"] <= LST_CAP and worst["still"] <= DRIFT, worst
    assert worst["moving"] > 0.001 and worst["lst"] > 0.0002  # gaps do open
    assert worst["premium"] <= 0.003  # a few basis points to 0.3%, all run long
    grown = {mint: reference.value(mint) / first - 1 for mint, first in first_values.items()}
    assert min(grown.values()) > 0.0015, grown  # months of rewards: LST values rose...
    for address in market.clmm:  # ...and their DEX pools followed
        mint_a, mint_b = market.mints_of(address)
        assert abs(market.mid_price(address) / reference.pair(mint_a, mint_b) - 1) <= CAP  # type: ignore[operator]
    assert driver.trades > SLOTS and not driver.trader.mismatches
    assert sum(driver.trader.refused.values()) < driver.trades / 20, driver.trader.refused
    assert _digest(nets[0]) == _digest(nets[1])
    assert _digest(nets[0]) != _digest(nets[2])
