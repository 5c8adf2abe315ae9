"""The strategies on the bundled real market plus the stake pools, against brute force.

The market's accounts come from different moments, so prices disagree for
real. Brute force enumerates every 2- and 3-pool cycle with plain nested
loops over all pools (no graph, no incremental index) and sizes each with the
same exact quotes; the strategies, fed one pool update at a time, must report
exactly the cycles brute force finds, at the same sizes and profits.
"""

from __future__ import annotations

from functools import cache
from itertools import permutations
from typing import Any

import pytest
from lst_testlib import market_pools
from solders.pubkey import Pubkey

from lstarb_lst.config import LstConfig
from lstarb_lst.cycle_strategy import CycleStrategy
from lstarb_lst.cycles import Cycle, Hop
from lstarb_lst.triangular import TriangularStrategy
from lstarb_lst.two_hop import TwoHopStrategy
from lstarb_sdk import Opportunity
from lstarb_sdk.solana import WSOL_MINT

USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
CONFIG = LstConfig(base_mints=[str(WSOL_MINT), str(USDC)])


@cache
def pools() -> dict[Pubkey, Any]:
    return market_pools()


def brute_force_cycles(length: int, bases: list[Pubkey]) -> list[Cycle]:
    everything = list(pools().items())
    out = []
    for base in bases:
        for combo in permutations(everything, length):
            mint = base
            hops = []
            for address, pool in combo:
                if mint not in pool.mints:
                    break
                nxt = pool.other_mint(mint)
                hops.append(Hop(address, mint, nxt))
                mint = nxt
            else:
                mids = [h.output_mint for h in hops[:-1]]
                if mint == base and base not in mids and len(set(mids)) == len(mids):
                    out.append(Cycle.of(base, hops))
    return out


def streamed(strategy: CycleStrategy) -> dict[str, Opportunity]:
    """Feed every pool as an update, in order; keep the newest report per cycle."""
    latest: dict[str, Opportunity] = {}
    for slot, pool in enumerate(pools().values(), start=1000):
        for opp in strategy.on_pool_update(pool, pools(), slot):
            latest[opp.metadata["cycle"]] = opp
    return latest


@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_strategies_find_exactly_what_brute_force_finds(cls: type[CycleStrategy]) -> None:
    strategy = cls(CONFIG)
    found = streamed(strategy)
    bases = [WSOL_MINT, USDC]
    brute = brute_force_cycles(cls.length, bases)
    assert {c.key for c in brute} == {c.key for c in strategy.cycles()}
    expected = {}
    for cycle in brute:
        sized = strategy.size(cycle, pools())
        if sized is not None and sized[1] >= 1:
            expected[cycle.key] = sized
    got = {k: (o.legs[0].in_amount, o.expected_profit) for k, o in found.items()}
    assert got == expected
    assert len(got) >= 5  # real price gaps: the market has profitable cycles of both kinds
    if cls is TriangularStrategy:  # stake-pool legs take part in triangles
        assert any(leg.dex == "spl-stake-pool" for o in found.values() for leg in o.legs)


@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_no_opportunity_loses_on_requote(cls: type[CycleStrategy]) -> None:
    found = streamed(cls(CONFIG))
    assert found
    for opp in found.values():
        amount = opp.legs[0].in_amount
        for leg in opp.legs:
            assert leg.in_amount == amount
            q = pools()[leg.pool].quote(amount, leg.input_mint)
            assert (q.in_amount, q.out_amount) == (leg.in_amount, leg.out_amount)
            amount = q.out_amount
        assert amount - opp.legs[0].in_amount == opp.expected_profit > 0


@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_chosen_size_beats_a_dense_scan(cls: type[CycleStrategy]) -> None:
    """The search is never worse than 400 sizes spread geometrically over the whole range."""
    strategy = cls(CONFIG)
    found = streamed(strategy)
    by_key = {c.key: c for c in strategy.cycles()}
    for key, opp in found.items():
        cycle = by_key[key]
        top = CONFIG.default_max_size
        best_scan = 0
        for i in range(400):
            x = max(1, int(top ** (i / 399)))
            amount = x
            try:
                for hop in cycle.hops:
                    amount = pools()[hop.pool].quote(amount, hop.input_mint).out_amount
            except Exception:
                continue
            best_scan = max(best_scan, amount - x)
        assert opp.expected_profit >= best_scan, (key, opp.expected_profit, best_scan)


def test_opportunity_ids_follow_cycle_state_and_size() -> None:
    a = streamed(TwoHopStrategy(CONFIG))
    b = streamed(TwoHopStrategy(CONFIG))  # a second scanner on the same states
    assert {o.id for o in a.values()} == {o.id for o in b.values()}
    assert len({o.id for o in a.values()}) == len(a)
    for opp in a.values():
        assert opp.metadata["state"] and 0 <= float(opp.metadata["confidence"]) <= 1


def test_only_cycles_through_the_changed_pool_are_evaluated() -> None:
    strategy = TriangularStrategy(CONFIG)
    streamed(strategy)
    for address, pool in pools().items():
        for opp in strategy.on_pool_update(pool, pools(), 5000):
            assert address in {leg.pool for leg in opp.legs}


def test_config_excludes_pools_and_mints_and_sets_minimum_profit() -> None:
    everything = streamed(TwoHopStrategy(CONFIG))
    pool = next(iter(everything.values())).legs[0].pool
    without = streamed(TwoHopStrategy(CONFIG.model_copy(update={"exclude_pools": [str(pool)]})))
    assert without and all(pool not in {leg.pool for leg in o.legs} for o in without.values())
    no_usdc = streamed(TwoHopStrategy(CONFIG.model_copy(update={"exclude_mints": [str(USDC)]})))
    assert all(USDC not in {leg.output_mint for leg in o.legs} for o in no_usdc.values())
    assert len(no_usdc) < len(everything)
    floor = sorted(o.expected_profit for o in everything.values())[len(everything) // 2]
    rich = streamed(TwoHopStrategy(CONFIG.model_copy(update={"default_min_profit": floor})))
    assert rich and all(o.expected_profit >= floor for o in rich.values())
    assert len(rich) < len(everything)
