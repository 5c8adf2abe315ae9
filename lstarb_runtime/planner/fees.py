"""The compute-unit price: from ``[planner] compute_unit_price``, or from recent fees.

A recent-fee source is any loaded plugin object (a submitter or a data source) with::

    async def recent_prioritization_fees(
        self, accounts: Sequence[Pubkey] = ()
    ) -> list[tuple[int, int]]

returning ``(slot, micro-lamports per compute unit)`` of recent slots, as Solana's
``getRecentPrioritizationFees`` does (the rpc plugin's submitter offers it). The price is the
configured percentile of those fees, capped by ``compute_unit_price_max``.

Why refreshed in the background: asking a node per plan would put a round trip on the hot
path; fees move slowly next to that. A replay never asks anything: it prices with the
configured price, so it plans the same bytes every time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from solders.pubkey import Pubkey

from lstarb_runtime.planner.settings import PlannerSettings

log = logging.getLogger("lstarb.planner")


@runtime_checkable
class RecentFeeSource(Protocol):
    async def recent_prioritization_fees(
        self, accounts: Sequence[Pubkey] = ()
    ) -> Sequence[tuple[int, int]]: ...


def find_fee_source(objects: Sequence[Any]) -> RecentFeeSource | None:
    """The first object offering ``recent_prioritization_fees`` (None if none does)."""
    for obj in objects:
        if isinstance(obj, RecentFeeSource):
            return obj
    return None


def percentile(values: Sequence[int], pct: int) -> int:
    """Nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))
    return ordered[rank - 1]


class PriorityFees:
    """The price every plan uses now; :meth:`refresh` asks the source, if there is one."""

    def __init__(self, settings: PlannerSettings, source: RecentFeeSource | None = None) -> None:
        self.settings = settings
        self.source = source if settings.priority_fee_source == "recent" else None
        self.price = settings.compute_unit_price
        self.refreshed = 0
        self.failures = 0
        self.last_error = ""

    @property
    def origin(self) -> str:
        if self.source is None:
            return "config"
        return f"recent fees (p{self.settings.recent_fee_percentile}, {self.refreshed} reads)"

    async def refresh(self) -> int:
        """Ask the source once; keeps the previous price (and says why) when it fails."""
        if self.source is None:
            return self.price
        try:
            fees = await self.source.recent_prioritization_fees(())
        except Exception as exc:  # plugin code: named, counted, the last price stays
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.failures == 1:
                log.warning("recent priority fees not read (%s); keeping %d", exc, self.price)
            return self.price
        values = [int(fee) for _, fee in fees]
        self.price = min(
            percentile(values, self.settings.recent_fee_percentile),
            self.settings.compute_unit_price_max,
        )
        self.refreshed += 1
        return self.price

    async def run(self, stopping: asyncio.Event) -> None:
        """Refresh every ``recent_fee_refresh_s`` until ``stopping`` is set."""
        while not stopping.is_set():
            await self.refresh()
            try:
                await asyncio.wait_for(stopping.wait(), self.settings.recent_fee_refresh_s)
            except TimeoutError:
                continue
