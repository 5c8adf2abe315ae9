"""The planner's parts, assembled from the plugins and settings once, for the service and for
the replay of a recording alike (so both decide with exactly the same pieces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from lstarb_runtime.config import Settings
from lstarb_runtime.planner.core import PlanEngine
from lstarb_runtime.planner.fees import PriorityFees, find_fee_source
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.settings import held_token_mints
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import NothingToDo
from lstarb_sdk import FundingProvider, PluginContext, Strategy, Submitter
from lstarb_sdk.solana import WSOL_MINT


def _named(kind: type[Any]) -> Any:
    def check(item: object) -> str | None:
        if not isinstance(item, kind):
            return f"{item!r} is not a {kind.__name__}"
        return None if getattr(item, "name", "") else f"{type(item).__name__} has no name"

    return check


def capital_of(settings: Settings, paper: bool) -> dict[Pubkey, int]:
    """``[planner] capital``; unset: a paper wallet's SOL (``[executor]``), live nothing."""
    configured = settings.planner.capital
    if configured is None:
        return {WSOL_MINT: settings.executor.paper_balance_lamports} if paper else {}
    return {Pubkey.from_string(mint): amount for mint, amount in configured.items()}


@dataclass
class PlannerParts:
    market: Market
    engine: PlanEngine
    fees: PriorityFees
    submitters: list[Submitter]

    async def close(self) -> None:
        """Release what the submitters hold (the planner only reads their names and tips)."""
        for submitter in self.submitters:
            await submitter.close()


def assemble(
    host: PluginHost, context: PluginContext, settings: Settings, *, recent_fees: bool = True
) -> PlannerParts:
    """Book, fair-value strategies, funding providers and submitters of the active plugins.

    ``recent_fees`` False prices with ``[planner] compute_unit_price`` only (a replay: no
    network, the same bytes every time).
    """
    book = PoolBook.for_tape(host)
    if not book.adapter_classes:
        raise NothingToDo("the selected plugins provide no DEX adapter: nothing to re-quote")
    strategies: list[tuple[str, Strategy]] = host.collect(
        "lstarb_strategies", _named(Strategy), context=context
    )
    providers: list[FundingProvider] = [
        p
        for _, p in host.collect(
            "lstarb_funding_providers", _named(FundingProvider), context=context
        )
    ]
    submitters: list[Submitter] = [
        s for _, s in host.collect("lstarb_submitters", _named(Submitter), context=context)
    ]
    market = Market(book, strategies, providers)
    fees = PriorityFees(settings.planner, find_fee_source(submitters) if recent_fees else None)
    engine = PlanEngine(
        market,
        settings.planner,
        settings.risk,
        fees=fees,
        submitters=submitters,
        providers=providers,
        capital=capital_of(settings, context.paper),
        held=held_token_mints(settings.planner, context.paper),
    )
    return PlannerParts(market, engine, fees, submitters)
