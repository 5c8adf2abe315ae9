"""The driven market offers the lst strategies arbitrage at a believable rate.

The harness is the one ``benchmarks/simnet_opportunities.py`` reports from: a driven
peer, a pool book fed every account it writes, the two-hop and triangular strategies
told of every pool change, every cycle evaluated at the end of each slot.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HARNESS = Path(__file__).parents[2] / "benchmarks" / "simnet_opportunities.py"
SLOTS = 1500  # ten simulated minutes


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("simnet_opportunities", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_opportunities_open_with_trades_and_close_with_trades() -> None:
    harness = _harness()
    watch = harness.MarketWatch(seed=7)
    moved: dict[int, set[str]] = {}
    pools_of = {}
    for address, pool in watch.book.pools.items():
        for key in pool.accounts_to_update():
            pools_of.setdefault(str(key), set()).add(str(address))
        pools_of.setdefault(str(address), set()).add(str(address))

    def note(entry: object, slot: int) -> None:
        moved.setdefault(slot, set()).update(pools_of.get(entry.key, ()))  # type: ignore[attr-defined]

    watch.net.store.listeners.append(note)
    watch.run(SLOTS)
    stats = watch.stats()
    assert watch.detected > 0  # the strategies report from pool updates, as in the scanner
    assert stats["per_minute"] >= 3, stats  # several a minute, after costs
    assert stats["closed"] >= stats["opened"] - 3  # they vanish again
    assert stats["median_slots_open"] <= 10
    for episode in watch.episodes:
        assert episode.profit < 5 * 10**9  # never more than a few SOL
        # a trade (or a stake pool's crank) on one of its pools opened it, and closed it
        assert set(episode.cycle) & moved.get(episode.opened, set()), episode
        if episode.closed is not None:
            assert set(episode.cycle) & moved.get(episode.closed, set()), episode
    kinds = watch.pools_involved()
    assert any("spl-stake-pool" in k or "marinade" in k for k in kinds)  # LST arbitrage
    assert any("raydium-clmm" in k for k in kinds)  # SOL/USDC across DEXes
    assert 1_000_000 < stats["median_profit"] < 100_000_000, stats
