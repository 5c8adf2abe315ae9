"""Shared pieces of the scanner and tape tests: plugins registered on a real plugin host, a
scanner run over the bundled market on a given bus, and reading a stream back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.pool import DlmmPool
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.builtin import replay
from lstarb_runtime.bus import Bus, Delivery
from lstarb_runtime.config import Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.scanner import Scanner
from lstarb_sdk import (
    Leg,
    Opportunity,
    PluginContext,
    PoolAdapter,
    PoolSummary,
    Quote,
    Strategy,
    hookimpl,
)
from lstarb_sdk.errors import QuoteError


class SummarisedWhirlpool(WhirlpoolPool):
    """The real Whirlpool adapter with a summary (None while it cannot quote)."""

    dex = "summarised-whirlpool"

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        super().update({k: a for k, a in accounts.items() if a is not None})

    def summary(self) -> PoolSummary | None:
        try:
            self.quote(1000, self.mints[0])
        except QuoteError:
            return None
        return PoolSummary(0, 0, self.state.liquidity, self.state.fee_rate)


class CountedDlmm(DlmmPool):
    """The real DLMM adapter, counting per pool the summaries and quotes asked of it: what a
    pool state costs (a summary and a probe quote), which a reader of the tape never uses."""

    dex = "counted-dlmm"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: Counter[str] = Counter()

    def summary(self) -> PoolSummary | None:
        self.asked["summary"] += 1
        return super().summary()

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        self.asked["quote"] += 1
        return super().quote(amount, input_mint, exact_in=exact_in)


def asked(book: PoolBook) -> Counter[str]:
    """The summaries and quotes asked of the book's :class:`CountedDlmm` pools, in all."""
    total: Counter[str] = Counter()
    for pool in book.pools.values():
        if isinstance(pool, CountedDlmm):
            total.update(pool.asked)
    return total


def counted_pools(book: PoolBook) -> int:
    return sum(isinstance(pool, CountedDlmm) for pool in book.pools.values())


class NeverReadyWhirlpool(WhirlpoolPool):
    """A pool that never says it can quote: it must never be published."""

    dex = "never-ready-whirlpool"

    @classmethod
    def matches(cls, account: Account) -> bool:
        return False


class EveryChange(Strategy):
    """Reports one opportunity per changed pool; its id is the pool, slot and quote, so the
    same state seen again (by a second scanner) is the same opportunity."""

    name = "every-change"
    calls = 0

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        type(self).calls += 1
        mint_in, mint_out = changed.mints
        try:
            quote = changed.quote(10**6, mint_in)
        except QuoteError:  # changed, but not every account it needs is here yet
            return []
        leg = Leg(
            changed.address, changed.dex, mint_in, mint_out, quote.in_amount, quote.out_amount
        )
        opportunity_id = f"{changed.address}:{slot}:{quote.out_amount}"
        return [Opportunity(opportunity_id, self.name, mint_in, (leg,), 0, slot, 1)]


class Raises(Strategy):
    name = "raises"

    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        raise RuntimeError("strategy bug")


class Plugin:
    """A plugin object: the hooks given as keyword arguments."""

    LSTARB_SDK_API = "1.1"

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        for name, fn in hooks.items():
            setattr(self, name, hookimpl(fn))


def host_with(adapters: list[type[PoolAdapter]], *others: tuple[str, object]) -> PluginHost:
    host = PluginHost()
    host.register_object("replay", replay).builtin = True  # as its entry point makes it
    host.register_object("dex", Plugin(lstarb_dex_adapters=lambda: adapters))
    for name, obj in others:
        host.register_object(name, obj)
    return host


def env_for(
    bus: Bus, host: PluginHost, lines: list[str], settings: Settings | None = None
) -> ServiceEnv:
    return ServiceEnv(
        bus, host, PluginContext(), settings or Settings(), HaltSwitch(), lines.append
    )


async def scan(env: ServiceEnv) -> Scanner:
    scanner = Scanner(env)
    await scanner.start()
    await scanner.run()
    await scanner.stop()
    return scanner


async def read_stream(bus: Bus, stream: str, durable: str, timeout: float = 10) -> list[Delivery]:
    """Every event the stream holds, in stream order (a durable of the test's own)."""
    got: list[Delivery] = []

    async def handle(delivery: Delivery) -> None:
        got.append(delivery)

    consumer = await bus.consume(stream, durable, handle)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            states = {s.name: s for s in await bus.stream_states()}
            if states[stream].consumers.get(durable) == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()
    return sorted(got, key=lambda d: d.sequence)
