"""The strategies on the bundled real market plus the stake pools, against brute force.

The market's accounts come from different moments, so prices disagree for
real. Brute force enumerates every 2- and 3-pool cycle with plain nested
loops over all pools (no graph, no incremental index) and sizes each by
quoting every rung of the ladder (``sizing_reference``: no search, only the
definition of the sizes to try); the strategies, fed one pool update at a
time, must report exactly the cycles brute force finds, at the same sizes
and profits.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from itertools import permutations
from typing import Any

import pytest
from lst_testlib import market_pools
from sizing_reference import reference_best
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst.config import LstConfig
from lstarb_lst.cycle_strategy import CycleStrategy
from lstarb_lst.cycles import Cycle, Hop
from lstarb_lst.triangular import TriangularStrategy
from lstarb_lst.two_hop import TwoHopStrategy
from lstarb_sdk import Opportunity, Quote
from lstarb_sdk.errors import LstarbError
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


def quote_cycle(cycle: Cycle, size: int) -> list[Quote] | None:
    """Every leg of ``cycle`` quoted in turn (None: a leg refuses or pays nothing)."""
    quotes = []
    for hop in cycle.hops:
        try:
            q = pools()[hop.pool].quote(size, hop.input_mint)
        except LstarbError:
            return None
        if q.out_amount <= 0:
            return None
        quotes.append(q)
        size = q.out_amount
    return quotes


@cache
def brute_force_size(cycle: Cycle) -> tuple[int, int] | None:
    """(size, profit) at the best rung by scanning every rung (None: no gain at the probe)."""
    cfg = CONFIG
    return reference_best(
        lambda x: quote_cycle(cycle, x),
        cfg.default_max_size,
        cfg.size_bits,
        cfg.default_probe_size,
    )


def streamed(strategy: CycleStrategy) -> dict[str, Opportunity]:
    """Feed every pool as an update, in order; keep the newest report per cycle."""
    latest: dict[str, Opportunity] = {}
    for slot, pool in enumerate(pools().values(), start=1000):
        for opp in strategy.on_pool_update(pool, pools(), slot):
            latest[opp.metadata["cycle"]] = opp
    return latest


@pytest.mark.slow  # brute force quotes every rung of every gaining cycle: ~10 s
@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_strategies_find_exactly_what_brute_force_finds(cls: type[CycleStrategy]) -> None:
    strategy = cls(CONFIG)
    found = streamed(strategy)
    bases = [WSOL_MINT, USDC]
    brute = brute_force_cycles(cls.length, bases)
    assert {c.key for c in brute} == {c.key for c in strategy.cycles()}
    expected = {}
    for cycle in brute:
        sized = brute_force_size(cycle)
        if sized is not None and sized[1] >= CONFIG.default_min_profit:
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


@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_a_cycle_and_its_reverse_never_both_gain_at_the_probe(cls: type[CycleStrategy]) -> None:
    """Why the strategies skip the reverse of a cycle that gained: on every real pool here."""
    cycles = {c.key: c for c in brute_force_cycles(cls.length, [WSOL_MINT, USDC])}
    probe = CONFIG.default_probe_size

    def gains(cycle: Cycle) -> bool:
        quotes = quote_cycle(cycle, probe)
        return quotes is not None and quotes[-1].out_amount > probe

    gaining = [c for c in cycles.values() if gains(c)]
    assert len(gaining) >= 5
    for cycle in gaining:
        assert cycle.reverse in cycles and not gains(cycles[cycle.reverse])


def test_sizes_and_ids_do_not_depend_on_what_a_scanner_saw_before() -> None:
    """A scanner that saw other states first reports what a fresh one reports."""
    fresh = streamed(TriangularStrategy(CONFIG))
    seasoned = TriangularStrategy(CONFIG)
    shifted = market_pools(epoch=600)  # stake pools stale: other gains, other directions
    for slot, pool in enumerate(shifted.values(), start=900):
        seasoned.on_pool_update(pool, shifted, slot)
    again = streamed(seasoned)
    assert {k: (o.id, o.legs[0].in_amount, o.expected_profit) for k, o in again.items()} == {
        k: (o.id, o.legs[0].in_amount, o.expected_profit) for k, o in fresh.items()
    }


@pytest.mark.slow  # brute force quotes every rung of every gaining cycle (cached per cycle)
@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_hints_from_earlier_states_leave_every_size_what_brute_force_finds(
    cls: type[CycleStrategy],
) -> None:
    """Each cycle's search starts where its last one ended (a hint from other states, then
    from these very states, trusted): every size and profit is still the scan's, to the unit."""
    strategy = cls(CONFIG)
    shifted = market_pools(epoch=600)  # stake pools stale: other gains, other directions
    for slot, pool in enumerate(shifted.values(), start=900):
        strategy.on_pool_update(pool, shifted, slot)
    by_key = {c.key: c for c in strategy.cycles()}
    for _ in range(3):  # other states' hints, then this market's own, then trusted ones
        found = streamed(strategy)
        assert found
        for key, opp in found.items():
            assert (opp.legs[0].in_amount, opp.expected_profit) == brute_force_size(by_key[key])
    assert any(h.trusted for h in strategy._hints.values())


AMM_V4_SOL_USDC = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")


def _moved(vault: Account, factor: float) -> Account:
    data = bytes(vault.data)
    amount = int(int.from_bytes(data[64:72], "little") * factor)
    return Account(
        vault.lamports,
        data[:64] + amount.to_bytes(8, "little") + data[72:],
        vault.owner,
        vault.executable,
        vault.rent_epoch,
    )


@pytest.mark.parametrize("cls", [TwoHopStrategy, TriangularStrategy])
def test_quotes_kept_across_updates_are_dropped_when_their_pool_changes(
    cls: type[CycleStrategy],
) -> None:
    """A strategy that keeps quotes across updates reports, after each move of a pool, what a
    strategy that never saw the pool before reports; and a move changes what is reported."""
    from lstarb_runtime.builtin.replay import bundled_market, load_market

    market = market_pools()  # its own adapters: this test moves one
    pool = market[AMM_V4_SOL_USDC]
    accounts = load_market(bundled_market())
    vault = next(
        k
        for k in pool.accounts_to_update()
        if k in accounts and len(accounts[k].data) >= 72 and accounts[k].data[:32] == bytes(USDC)
    )
    seasoned = cls(CONFIG)
    for slot, p in enumerate(market.values(), start=1000):
        seasoned.on_pool_update(p, market, slot)
    account, before = accounts[vault], None
    for step, factor in enumerate((1.012, 1 / 1.012, 1.012, 1.03, 0.97, 1.0001)):
        account = _moved(account, factor)
        pool.update({vault: account})
        got = seasoned.on_pool_update(pool, market, 2000 + step)
        fresh = cls(CONFIG)  # no quotes kept yet
        fresh.sync(market)
        want = fresh.on_pool_update(pool, market, 2000 + step)
        assert [(o.id, o.legs, o.expected_profit) for o in got] == [
            (o.id, o.legs, o.expected_profit) for o in want
        ]
        assert got and [o.id for o in got] != before  # the move changed what is reported
        before = [o.id for o in got]
        for other in (p for a, p in market.items() if a != AMM_V4_SOL_USDC):
            # the moved pool is now a leg that did not change: its kept quotes are the new ones
            got = seasoned.on_pool_update(other, market, 2000 + step)
            want = fresh.on_pool_update(other, market, 2000 + step)
            assert [(o.id, o.legs) for o in got] == [(o.id, o.legs) for o in want]


def test_carry_over_off_finds_the_same() -> None:
    """``carry_over = false`` (every search afresh) reports what the default reports."""
    fresh = CONFIG.model_copy(update={"carry_over": False})
    for cls in (TwoHopStrategy, TriangularStrategy):
        on, off = cls(CONFIG), cls(fresh)
        for _ in range(2):  # the second pass with hints and kept quotes
            a, b = streamed(on), streamed(off)
            assert {k: (o.id, o.legs) for k, o in a.items()} == {
                k: (o.id, o.legs) for k, o in b.items()
            }
        assert on._hints and not off._hints


def test_confidence_is_the_documented_product() -> None:
    """Integer confidence against the formula written out with exact fractions."""
    strategy = TriangularStrategy(CONFIG)
    found = streamed(strategy)
    book = strategy.fair_values()
    assert book is not None
    probe = CONFIG.default_probe_size
    by_key = {c.key: c for c in strategy.cycles()}
    for key, opp in found.items():
        agree = Fraction(1)
        stale = False
        for leg in opp.legs:
            a, b = book.get(leg.input_mint), book.get(leg.output_mint)
            if a is None or b is None:
                agree *= Fraction(4, 5)
                continue
            stale = stale or a.stale or b.stale
            off = abs(Fraction(leg.out_amount, leg.in_amount) / (a.ratio / b.ratio) - 1)
            if off > Fraction(2, 100):
                agree *= 1 - Fraction(4, 5) * min(
                    off - Fraction(2, 100), Fraction(8, 100)
                ) / Fraction(8, 100)
        fresh = Fraction(7, 10) if stale else Fraction(1)  # every pool changed within 150 slots
        small = quote_cycle(by_key[key], probe)
        assert small is not None
        impact = max(
            Fraction(s.out_amount, s.in_amount) / Fraction(leg.out_amount, leg.in_amount) - 1
            for s, leg in zip(small, opp.legs, strict=True)
        )
        want = agree * fresh / (1 + 10 * max(impact, Fraction(0)))
        got = int(opp.metadata["confidence_ppm"])
        assert 0 <= got <= 1_000_000
        assert abs(Fraction(got, 1_000_000) - want) <= Fraction(8, 1_000_000), (key, got, want)


class _Unshared(TriangularStrategy):
    """Sizes each cycle with its own quotes, as before quotes were shared within an update."""

    def size(self, cycle: Cycle, pools: Any, memo: Any = None) -> Any:
        return super().size(cycle, pools, None)


class _Counted:
    """A pool whose quotes are written down (everything else is the pool's own)."""

    def __init__(self, pool: Any, calls: list[tuple[Pubkey, Pubkey, int]]) -> None:
        self._pool, self._calls = pool, calls

    def quote(self, amount: int, mint: Pubkey, *, exact_in: bool = True) -> Quote:
        self._calls.append((self._pool.address, mint, amount))
        return self._pool.quote(amount, mint, exact_in=exact_in)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def test_an_update_quotes_each_leg_amount_once_and_finds_the_same() -> None:
    """Cycles through the changed pool share its quotes; what they report does not change."""
    calls: list[tuple[Pubkey, Pubkey, int]] = []
    counted = {address: _Counted(pool, calls) for address, pool in pools().items()}
    shared, unshared = TriangularStrategy(CONFIG), _Unshared(CONFIG)
    repeated = reported = 0
    for slot, pool in enumerate(pools().values(), start=1000):
        calls.clear()
        got = shared.on_pool_update(pool, counted, slot)
        assert len(calls) == len(set(calls))  # each (pool, mint, amount) once per update
        calls.clear()
        want = unshared.on_pool_update(pool, counted, slot)
        repeated += len(calls) - len(set(calls))
        reported += len(got)
        assert [(o.id, o.legs, o.expected_profit) for o in got] == [
            (o.id, o.legs, o.expected_profit) for o in want
        ]
    assert reported > 0
    assert repeated > 0  # without sharing, cycles through a changed pool quote it again
