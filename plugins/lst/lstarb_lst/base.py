"""What the stake-pool and Marinade adapters share: a SOL side, an LST side, and one quote shape.

Both programs mint LST for SOL (a *deposit*) and pay SOL for LST (a
*withdrawal*: WithdrawSol, or Marinade's liquid unstake) at their own rate.
Each subclass gives the two exact-in functions in the program's math; this
base turns them into quotes in both directions, exact-in and exact-out (the
least input that delivers, found by :func:`~lstarb_lst.search.least_input`),
and checks amounts the way every instruction's u64 argument does.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

from solders.pubkey import Pubkey

from lstarb_lst.search import Probe, least_input
from lstarb_sdk import PoolAdapter
from lstarb_sdk.amounts import U64_MAX
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.fair_value import FairValue
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.types import Quote


class Refusal(Exception):
    """The program refuses the amount; ``high`` says a larger amount cannot help."""

    def __init__(self, message: str, *, high: bool) -> None:
        super().__init__(message)
        self.high = high


class LiquidStakingPool(PoolAdapter):
    """SOL (as the wSOL mint) against one LST, priced by the LST's own program."""

    dex: ClassVar[str]

    def __init__(self, address: Pubkey, lst_mint: Pubkey) -> None:
        self._address = address
        self._lst_mint = lst_mint
        self._mints = (WSOL_MINT, lst_mint)
        self._tag = f"{self.dex} pool {address}"

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._mints

    # -- what a subclass gives ---------------------------------------------------------------

    @abc.abstractmethod
    def _ready(self, deposit: bool) -> None:
        """QuoteError naming what is missing, or why the program refuses this direction now."""

    @abc.abstractmethod
    def _deposit(self, lamports: int) -> tuple[int, int]:
        """(LST out, fee in LST) for exactly ``lamports``; Refusal where the program fails."""

    @abc.abstractmethod
    def _withdraw(self, tokens: int) -> tuple[int, int]:
        """(lamports out, fee in LST) for exactly ``tokens``; Refusal where the program fails."""

    @abc.abstractmethod
    def _rate(self) -> tuple[int, int]:
        """(lamports, tokens): the program's exchange rate, to start exact-out searches near."""

    @abc.abstractmethod
    def fair_values(self) -> list[FairValue]:
        """The LST's fair value from the state this adapter holds (FairValueSource)."""

    def _fee_mint(self, deposit: bool) -> Pubkey:
        """The mint a direction's fee is counted in (the LST unless a subclass says otherwise)."""
        return self._lst_mint

    # -- quotes ------------------------------------------------------------------------------

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        if input_mint == WSOL_MINT:
            deposit = True
        elif input_mint == self._lst_mint:
            deposit = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        self._ready(deposit)
        if not 0 < amount <= U64_MAX:
            raise QuoteError(f"{self._tag}: amount {amount} outside 1..u64::MAX")
        fn = self._deposit if deposit else self._withdraw
        if exact_in:
            try:
                out, fee = fn(amount)
            except Refusal as exc:
                raise QuoteError(f"{self._tag}: {exc}") from None
            return Quote(amount, out, fee, self._fee_mint(deposit))
        return self._exact_out(fn, amount, deposit)

    def _exact_out(self, fn: Callable[[int], tuple[int, int]], amount: int, deposit: bool) -> Quote:
        """The least input whose exact-in quote delivers at least ``amount``.

        The programs take no exact-out instruction: the swap is an exact-in of
        that input, and what it pays (``out_amount``) can exceed ``amount``.
        """
        found: dict[int, tuple[int, int]] = {}

        def probe(x: int) -> Probe:
            try:
                out, fee = fn(x)
            except Refusal as exc:
                return Probe.HIGH if exc.high else Probe.LOW
            if out < amount:
                return Probe.LOW
            found[x] = (out, fee)
            return Probe.OK

        lamports, tokens = self._rate()
        if deposit:
            guess = amount * lamports // tokens if tokens and lamports else amount
        else:
            guess = amount * tokens // lamports if tokens and lamports else amount
        best = least_input(probe, guess, 1, U64_MAX)
        if best is None:
            direction = "deposit" if deposit else "withdrawal"
            raise QuoteError(f"{self._tag}: no {direction} of at most u64::MAX delivers {amount}")
        out, fee = found[best]
        return Quote(best, out, fee, self._fee_mint(deposit))
