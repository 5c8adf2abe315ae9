"""The strategy interface: from pool states to opportunities.

A strategy sees every pool the scanner follows and is told which one
changed. It returns opportunities (possibly none); the planner then
validates, scores and sizes them, so a strategy should be quick and may be
optimistic.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import ClassVar

from solders.pubkey import Pubkey

from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.types import Opportunity


class Strategy(abc.ABC):
    """Detects opportunities when pools change."""

    name: ClassVar[str]

    def pools_wanted(self, pools: Mapping[Pubkey, PoolAdapter]) -> Sequence[Pubkey]:
        """Which of the known pools this strategy watches (default: all)."""
        return list(pools)

    @abc.abstractmethod
    def on_pool_update(
        self, changed: PoolAdapter, pools: Mapping[Pubkey, PoolAdapter], slot: int
    ) -> Sequence[Opportunity]:
        """Opportunities that the change of ``changed`` opened, at ``slot``."""
