"""Recent priority fees: what landing a transaction cost per compute unit lately (SDK API 1.1,
additive).

A plugin object (a submitter or a data source) that can read them offers
:class:`PriorityFeeSource`; the planner finds it among the loaded plugins when
``[planner] priority_fee_source = "recent"`` and prices plans at a percentile of the
values, capped (docs/planner.md "Priority fee"). Why a protocol and not a base class: the
object that knows a node (the rpc plugin's submitter) already has a base class, and the
planner only needs this one method.

Why the planner, not the source, takes the percentile and the cap: they are a trading
decision, the same whichever node answered; the source only reports what the chain says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from solders.pubkey import Pubkey

MAX_FEE_ACCOUNTS = 128
"""getRecentPrioritizationFees refuses more accounts than this."""


@runtime_checkable
class PriorityFeeSource(Protocol):
    """Recent per-slot prioritization fees, as Solana's ``getRecentPrioritizationFees``."""

    async def recent_priority_fees(self, accounts: Sequence[Pubkey] = ()) -> Sequence[int]:
        """Micro-lamports per compute unit, one value per recent slot (oldest first).

        Each value is the least fee a transaction paid to land in that slot; with
        ``accounts`` (at most :data:`MAX_FEE_ACCOUNTS`), the least among transactions that
        write-locked one of them, the competition a route's pools see. Raises
        :class:`~lstarb_sdk.errors.DataSourceError` (naming what was wrong) when the node
        fails or answers something that is not a list of non-negative integers per slot;
        never returns a guess.
        """
        ...


def percentile(values: Sequence[int], pct: int) -> int:
    """Nearest-rank percentile of ``values`` (0 for none): an element of ``values``, so a
    fee somebody actually paid, never an interpolation."""
    if not values:
        return 0
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be 0..100, got {pct}")
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))
    return ordered[rank - 1]
