"""The funding interface: borrow before the swaps, repay after them."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from solders.instruction import Instruction
from solders.pubkey import Pubkey


@dataclass(frozen=True, slots=True)
class FundedInstructions:
    """Instructions wrapped in borrow/repay, and the cost of the loan."""

    instructions: Sequence[Instruction]
    fee_amount: int
    address_lookup_tables: Sequence[Pubkey] = ()


class FundingProvider(abc.ABC):
    """Wraps a list of instructions in a flash loan (Kamino, ...)."""

    name: ClassVar[str]

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
    ) -> FundedInstructions:
        """``instructions`` between a borrow of ``amount`` and its repayment.

        Raises :class:`~lstarb_sdk.errors.FundingError` when it cannot.
        """
