"""The strategy interface: from pool states to opportunities.

A strategy sees every pool the scanner follows and is told which one
changed. It returns opportunities (possibly none); the planner then
validates, scores and sizes them, so a strategy should be quick and may be
optimistic.

From SDK API 1.1 a strategy may also read accounts that are not pools
(pricing accounts such as a stake pool's state when no adapter follows it,
Sanctum Infinity's PoolState, the Clock): it lists them in
:meth:`Strategy.accounts_wanted`, the scanner subscribes to them and hands
each change to :meth:`Strategy.on_accounts`. A strategy that prices LSTs
exposes its :class:`~lstarb_sdk.fair_value.FairValueBook` through
:meth:`Strategy.fair_values`, which the scanner reads to publish each pool's
premium or discount to fair value with its state.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.fair_value import FairValueBook
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
        """Opportunities that the change of ``changed`` opened, at ``slot``.

        Called by the scanner after every applied update that changed a pool,
        once per changed pool, with every pool it follows (``pools``; a pool
        quarantined for an adapter fault is no longer in it).
        """

    def accounts_wanted(self) -> Sequence[Pubkey]:
        """Accounts besides pools this strategy reads (SDK API 1.1; default none).

        Asked once when the scanner starts and again after each
        :meth:`on_accounts`; the scanner subscribes to every account listed.
        """
        return ()

    def on_accounts(
        self, accounts: Mapping[Pubkey, Account | None], slot: int
    ) -> Sequence[Opportunity]:
        """New states of accounts from :meth:`accounts_wanted` (SDK API 1.1; default: ignore).

        ``None`` means the chain has no such account. Returns opportunities the
        change opened (a fair value that moved may make a cycle worth taking).
        """
        return ()

    def fair_values(self) -> FairValueBook | None:
        """The fair values this strategy keeps, for the scanner to publish (SDK API 1.1).

        None (the default) when the strategy does not price LSTs.
        """
        return None
