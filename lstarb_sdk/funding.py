"""The funding interface: borrow before the swaps, repay after them.

A flash loan lives inside one transaction: a borrow instruction, the trade,
and a repay instruction that the lending program checks against the borrow.
Programs such as Kamino Lending make the repay name the *absolute* index of
the borrow in the final transaction, so a provider cannot build the pair
without knowing where its first instruction will land. The executor tells it
with ``instruction_offset`` (SDK 1.1): the number of instructions the
transaction carries before the first instruction :meth:`FundingProvider.wrap`
returns (compute-budget instructions, idempotent token-account creation,
...). Whatever the executor appends after the wrapped list (a Jito tip, an
unwrap) does not move the borrow.

A provider's cost depends on on-chain state (the reserve's fee and available
liquidity), so from SDK 1.1 it is fed the same way pool adapters are: it
names its accounts in :meth:`FundingProvider.accounts_to_update` and the
runtime hands their new states to :meth:`FundingProvider.update` from the
same data sources and the same MARKET_DATA tape the pool book uses.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey


@dataclass(frozen=True, slots=True)
class FundedInstructions:
    """Instructions wrapped in borrow/repay, and the cost of the loan.

    ``instructions`` is the whole wrapped list: the borrow, the caller's
    instructions unchanged and in order, then the repay. ``fee_amount`` is
    what the loan costs, in the borrowed mint's smallest unit.

    Added in SDK 1.1 (defaults keep 1.0 providers valid):
    ``borrow_index`` is the absolute index of the borrow in the final
    transaction (the ``instruction_offset`` the provider was given), so the
    executor can check the transaction it assembled; ``repay_amount`` is
    what must be in the user's token account when the repay runs (principal
    plus fee), which the trade's last leg has to cover.
    """

    instructions: Sequence[Instruction]
    fee_amount: int
    address_lookup_tables: Sequence[Pubkey] = ()
    borrow_index: int = 0
    repay_amount: int = 0


class FundingProvider(abc.ABC):
    """Wraps a list of instructions in a flash loan (Kamino, ...).

    ``fee`` and ``wrap`` never touch the network: they read state the
    runtime delivered through :meth:`update`, and raise
    :class:`~lstarb_sdk.errors.FundingError` naming the reason when the loan
    cannot be given (mint not lent, amount above what is available, flash
    loans disabled, the state not loaded).
    """

    name: ClassVar[str]
    compute_units: ClassVar[int | None] = None
    """Compute units the borrow and the repay take together (SDK API 1.1, additive), as
    measured on the lending program; None: unmeasured, the planner budgets its documented
    fallback (docs/planner.md "Compute units")."""

    @abc.abstractmethod
    def supports(self, mint: Pubkey) -> bool:
        """Whether this provider can lend ``mint``."""

    @abc.abstractmethod
    def fee(self, mint: Pubkey, amount: int) -> int:
        """The loan fee for borrowing ``amount`` of ``mint``, in that mint."""

    @abc.abstractmethod
    def wrap(
        self,
        instructions: Sequence[Instruction],
        *,
        mint: Pubkey,
        amount: int,
        user: Pubkey,
        user_token_account: Pubkey,
        instruction_offset: int = 0,
    ) -> FundedInstructions:
        """``instructions`` between a borrow of ``amount`` and its repayment.

        ``user`` signs and owns ``user_token_account``, which receives the
        loan and pays it back. ``instruction_offset`` (SDK 1.1) is the index
        the first returned instruction will have in the final transaction.
        Raises :class:`~lstarb_sdk.errors.FundingError` when it cannot.
        """

    # -- state, fed like a pool adapter (SDK 1.1) --------------------------------

    def accounts_to_update(self) -> Sequence[Pubkey]:
        """Every account ``fee`` and ``wrap`` depend on (reserves, markets).

        The runtime subscribes to them through its data sources and calls
        :meth:`update` with their states. The default is none: a provider
        whose cost does not depend on chain state.
        """
        return ()

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:  # noqa: B027
        """New states of some of :meth:`accounts_to_update`.

        As for :meth:`PoolAdapter.update`: a key mapped to None means the
        chain has no such account (the provider must then refuse loans that
        need it); an absent key means no news. Bytes that are not what they
        claim raise :class:`~lstarb_sdk.errors.DecodeError`, and the provider
        keeps refusing until a good state arrives.
        """

    def max_amount(self, mint: Pubkey) -> int | None:
        """The largest amount of ``mint`` a loan may have now, None if unknown.

        Lets the planner size a trade under what can be borrowed instead of
        discovering the limit as a refused ``wrap``.
        """
        return None
