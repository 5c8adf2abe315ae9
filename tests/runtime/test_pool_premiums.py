"""Fair value and premium published with LST/SOL pool states (issue 13 item 2).

Real plugin host, the bundled market's real Orca LST/SOL pools and stake pools, the lst
plugin's own strategies; the premium is checked against the pool's published price and the
stake pool's own fair value, and on Prometheus's gauge.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

import lstarb_lst.plugin as lst_plugin
from lstarb_runtime import metrics
from lstarb_runtime.builtin.replay import ReplaySource
from lstarb_runtime.bus import MemoryBus
from lstarb_runtime.services.scanner import Scanner
from lstarb_sdk import AccountUpdate, Opportunity, PoolAdapter, SlotUpdate, Strategy
from lstarb_sdk.events import PoolStateEvent
from lstarb_sdk.fair_value import FairValue, FairValueBook
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.tokens import token_by_symbol

from .scanning import Plugin, SummarisedWhirlpool, env_for, host_with, read_stream, scan
from .test_scanner import MARKET, MARKET_SLOT, WHIRLPOOLS

JITOSOL = token_by_symbol("JitoSOL").mint  # type: ignore[union-attr]


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus()
    await bus.ensure_streams()
    yield bus
    await bus.close()


class Prices(Strategy):
    """A strategy that finds nothing and prices JitoSOL at a rate the test sets."""

    name = "prices"
    rate = (1_250_000_000, 1_000_000_000)
    epoch = 812

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        return ()

    def fair_values(self) -> FairValueBook:
        lamports, tokens = self.rate
        return FairValueBook([FairValue(JITOSOL, lamports, tokens, self.epoch, True, JITOSOL)])


def sol_per_lst(event: PoolStateEvent) -> float:
    """The pool's SOL per whole LST from its published price (mint_b per whole mint_a)."""
    return event.price_human if event.mint_b == WSOL_MINT else 1 / event.price_human


async def states_of(bus: MemoryBus, durable: str) -> list[PoolStateEvent]:
    events = [d.event for d in await read_stream(bus, "MARKET_DATA", durable)]
    return [e for e in events if isinstance(e, PoolStateEvent)]


def gauge(pool: Pubkey, lst: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(
        "lstarb_pool_premium_bps", {"pool": str(pool), "lst": lst}
    )


def lst_pools(states: list[PoolStateEvent], mint: Pubkey) -> list[PoolStateEvent]:
    return [e for e in states if mint in (e.mint_a, e.mint_b) and WSOL_MINT in (e.mint_a, e.mint_b)]


async def test_a_strategys_fair_value_is_published_with_its_lsts_pools(bus: MemoryBus) -> None:
    Prices.rate = (1_250_000_000, 1_000_000_000)
    host = host_with(
        [SummarisedWhirlpool], ("pricer", Plugin(lstarb_strategies=lambda context: [Prices()]))
    )
    scanner = await scan(env_for(bus, host, []))
    states = await states_of(bus, "check")
    jito = lst_pools(states, JITOSOL)
    assert jito, "the bundled market has a JitoSOL/SOL whirlpool"
    for event in jito:
        assert (event.fair_value, event.fair_value_epoch, event.fair_value_stale) == (
            1.25,
            812,
            True,
        )
        assert event.premium_bps == pytest.approx((sol_per_lst(event) / 1.25 - 1) * 10_000)
        assert event.premium_bps < -100  # the 2023 pool priced JitoSOL near 1.02 SOL
    others = [e for e in states if JITOSOL not in (e.mint_a, e.mint_b)]
    assert others and all(
        (e.fair_value, e.fair_value_epoch, e.fair_value_stale, e.premium_bps) == (0, 0, False, 0)
        for e in others
    )
    assert gauge(jito[-1].pool, "JitoSOL") == jito[-1].premium_bps

    # the fair value moves (a new epoch): the JitoSOL pool is published again, though quiet
    Prices.rate, Prices.epoch = (1_300_000_000, 1_000_000_000), 813
    other = next(e.pool for e in others)
    held = MARKET[other]
    bumped = Account(held.lamports + 1, held.data, held.owner, held.executable, 0)
    await take(scanner, other, bumped)
    again = lst_pools(await states_of(bus, "again"), JITOSOL)
    assert len(again) == len(jito) + 1
    last = again[-1]
    assert (last.fair_value, last.fair_value_epoch) == (1.3, 813)
    assert last.premium_bps == pytest.approx((sol_per_lst(last) / 1.3 - 1) * 10_000)
    assert gauge(last.pool, "JitoSOL") == last.premium_bps


async def take(scanner: Scanner, key: Pubkey, account: Account) -> None:
    change = await scanner.take(key, account, version=(scanner.slot + 1, 0), source="test")
    assert change is not None


async def test_the_lst_plugins_fair_values_price_every_lst_sol_pool(bus: MemoryBus) -> None:
    """The lst plugin's strategies and stake pools: each whirlpool's LST priced as its program
    pays, and its premium the pool's price against that."""
    host = host_with([SummarisedWhirlpool, *lst_plugin.ADAPTERS], ("lst", lst_plugin))
    scanner = await scan(env_for(bus, host, []))
    books = [s.fair_values() for _, s in scanner.strategies]
    assert books and all(b is books[0] for b in books)  # the plugin's strategies share one
    fair = {v.mint: v for v in books[0] if v.mint != WSOL_MINT}
    states = await states_of(bus, "check")
    latest = {e.pool: e for e in states if e.pool in set(WHIRLPOOLS)}
    assert len(latest) == len(WHIRLPOOLS) == 3
    for event in latest.values():
        lst = event.mint_b if event.mint_a == WSOL_MINT else event.mint_a
        value = fair[lst]
        assert event.fair_value == value.lamports / value.tokens
        assert event.fair_value_epoch == (value.epoch or 0)  # Marinade prices continuously
        assert event.fair_value_stale == value.stale
        assert event.premium_bps == pytest.approx((sol_per_lst(event) / event.fair_value - 1) * 1e4)
        symbol = next(
            t.symbol
            for t in [token_by_symbol(s) for s in ("JitoSOL", "mSOL", "bSOL")]
            if t and t.mint == lst
        )
        assert gauge(event.pool, symbol) == event.premium_bps


async def test_premium_series_are_bounded(bus: MemoryBus, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_PREMIUM_SERIES pools the premium is on MARKET_DATA only, not in Prometheus."""
    from lstarb_runtime import pool_premiums

    monkeypatch.setattr(pool_premiums, "MAX_PREMIUM_SERIES", 1)
    host = host_with([SummarisedWhirlpool, *lst_plugin.ADAPTERS], ("lst", lst_plugin))
    scanner = await scan(env_for(bus, host, []))
    priced = {e.pool for e in await states_of(bus, "check") if e.fair_value > 0}
    # the three Orca pools, and a stake pool the strategies follow (a pool of its own too)
    assert set(WHIRLPOOLS) <= priced and len(priced) > 1
    assert scanner.premiums.exported == 1


class BrokenPricer(Prices):
    name = "broken-pricer"

    def fair_values(self) -> FairValueBook:
        raise RuntimeError("pricer bug")


async def test_a_strategy_whose_fair_values_raise_is_skipped(bus: MemoryBus) -> None:
    Prices.rate, Prices.epoch = (1_250_000_000, 1_000_000_000), 812
    pricers = Plugin(lstarb_strategies=lambda context: [BrokenPricer(), Prices()])
    scanner = await scan(env_for(bus, host_with([SummarisedWhirlpool], ("pricers", pricers)), []))
    states = await states_of(bus, "check")
    assert {e.pool for e in states} == set(WHIRLPOOLS)  # every pool published all the same
    assert {e.fair_value for e in lst_pools(states, JITOSOL)} == {1.25}  # from the other one
    assert scanner.premiums.faults > 0


class RepricedBy(Prices):
    """Prices JitoSOL; a new state of the account it reads (``KEY``) moves the rate."""

    name = "repriced-by"
    key = Pubkey.default()

    def accounts_wanted(self) -> Sequence[Pubkey]:
        return [self.key]

    def on_accounts(
        self, accounts: Mapping[Pubkey, Account | None], slot: int
    ) -> Sequence[Opportunity]:
        if slot > MARKET_SLOT:
            type(self).rate = (1_300_000_000, 1_000_000_000)
        return ()


class PoolThenPricing(ReplaySource):
    """The market, then one burst: a JitoSOL/SOL whirlpool's liquidity moves, then the
    account its LST's fair value is read from."""

    name = "pool-then-pricing"

    def __init__(self, pool: Pubkey, pricing: Pubkey) -> None:
        super().__init__(MARKET)
        self.pool, self.pricing = pool, pricing

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        async for update in super().stream():
            yield update
        await asyncio.sleep(0)
        held = MARKET[self.pool]
        data = bytearray(held.data)
        data[49:65] = (int.from_bytes(data[49:65], "little") + 10**6).to_bytes(16, "little")
        moved = Account(held.lamports, bytes(data), held.owner, False, 0)
        read = MARKET[self.pricing]
        bumped = Account(read.lamports + 1, read.data, read.owner, False, 0)
        yield self._update(self.pool, moved, self.slot + 1, 1)
        yield self._update(self.pricing, bumped, self.slot + 1, 2)
        await asyncio.sleep(0)


async def test_a_held_state_goes_out_with_its_own_stamp_before_a_repricing(
    bus: MemoryBus,
) -> None:
    """per_update holds a burst's pool states until its strategies ran; a strategy's account
    handed over meanwhile that moves an LST's fair value republishes that LST's pools. A held
    pool among them is published first, stamped with the account that moved it (not with
    the pricing account), and carries the new fair value."""
    jito = next(
        k for k in WHIRLPOOLS if JITOSOL in SummarisedWhirlpool.from_account(k, MARKET[k]).mints
    )
    pricing = next(k for k, a in MARKET.items() if k != jito and len(a.data) == 165)
    RepricedBy.rate, RepricedBy.epoch, RepricedBy.key = (1_250_000_000, 1_000_000_000), 812, pricing
    source = PoolThenPricing(jito, pricing)
    host = host_with(
        [SummarisedWhirlpool],
        (
            "pricer",
            Plugin(
                lstarb_strategies=lambda context: [RepricedBy()],
                lstarb_data_sources=lambda context: [source],
            ),
        ),
    )
    await scan(env_for(bus, host, []))
    burst = [e for e in await states_of(bus, "check") if e.slot == MARKET_SLOT + 1]
    mine = [e for e in burst if e.pool == jito]
    assert len(mine) == 1  # its change, once: the repricing's copy would be the same state
    [state] = mine
    assert state.write_version == 1  # the liquidity's account, not the pricing account (2)
    assert (state.fair_value, state.fair_value_epoch) == (1.3, 812)
