"""Marinade as a pool: deposit (SOL -> mSOL) and liquid unstake (mSOL -> SOL).

The adapter follows three accounts: the State (rate, fees, limits, pause), the
liquidity pool's SOL leg PDA (its lamports pay liquid unstakes and set their
fee) and its mSOL leg token account (deposits take mSOL from it first, which
decides how much SOL meets ``staking_sol_cap``). The math is
:mod:`lstarb_lst.marinade_math`.

Marinade has no epoch gate: the program deposits and unstakes at the State's
rate at any time, so the Clock is not followed. Exact-out liquid unstakes are
searched fee step by fee step: the fee rate rises with the amount, so the
output is not monotone in the input and a plain bisection could miss the
least input that delivers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst import marinade_ix as ix
from lstarb_lst.base import LiquidStakingPool, Refusal
from lstarb_lst.constants import MARINADE_PROGRAM_ID
from lstarb_lst.marinade_math import (
    BASIS_POINTS,
    MarinadeRefusal,
    deposit,
    liquid_unstake,
    liquid_unstake_at_fee,
    unstake_fee_bps,
)
from lstarb_lst.marinade_state import STATE_DISCRIMINATOR, MarinadeState, decode_marinade_state
from lstarb_lst.search import Probe, least_input
from lstarb_sdk.amounts import U64_MAX
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.fair_value import FairValue
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, TOKEN_PROGRAMS, WSOL_MINT, token_account_amount
from lstarb_sdk.types import (
    AccountFilter,
    ComputeUnits,
    PoolSummary,
    Quote,
    SwapInstructions,
    SwapParams,
)


class MarinadePool(LiquidStakingPool):
    """Marinade's State ``8szGku...`` as a SOL/mSOL pool."""

    program_id: ClassVar[Pubkey] = MARINADE_PROGRAM_ID
    dex: ClassVar[str] = "marinade"
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=53_155,
        measured_max=53_155,
        source=(
            "igneous-labs/inf-1.5@f17cbf1e:test-fixtures/programs/stake-pools/marinade.so "
            "(Marinade v2.0) on the mSOL fixtures: deposit / liquid_unstake "
            "(tests/program_oracle/compute_units_marinade.json)"
        ),
    )
    """Measured on the program (deposit and liquid unstake, both directions)."""

    def __init__(self, address: Pubkey, state: MarinadeState) -> None:
        super().__init__(address, state.msol_mint)
        self._state = state
        self._keys = ix.MarinadeKeys.derive(
            address, state.msol_mint, state.msol_leg, state.treasury_msol_account
        )
        self._sol_leg: int | None = None
        self._msol_leg: int | None = None
        self._state_missing = False

    @classmethod
    def matches(cls, account: Account) -> bool:
        return account.owner == cls.program_id and bytes(account.data[:8]) == STATE_DISCRIMINATOR

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> MarinadePool:
        if account.owner != cls.program_id:
            raise DecodeError(f"marinade {address}: owner {account.owner} is not {cls.program_id}")
        return cls(address, decode_marinade_state(bytes(account.data)))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        disc = (0, STATE_DISCRIMINATOR)
        if WSOL_MINT in mints:
            return [AccountFilter(None, (disc,))]
        return [AccountFilter(None, (disc, (8, bytes(m)))) for m in mints]

    @property
    def state(self) -> MarinadeState:
        return self._state

    @property
    def keys(self) -> ix.MarinadeKeys:
        return self._keys

    def accounts_to_update(self) -> list[Pubkey]:
        return [self._address, self._keys.liq_pool_sol_leg, self._keys.liq_pool_msol_leg]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode every given account first, then commit: a DecodeError keeps the old state.

        None for the State (the chain has no such account) keeps the last one
        for ``accounts_to_update`` and refuses quotes naming it until it is
        back; None for the SOL leg is a leg with no lamports, as the program
        reads it.
        """
        state, state_missing = self._state, self._state_missing
        if self._address in accounts:
            acc = accounts[self._address]
            if acc is None:
                state_missing = True
            else:
                if acc.owner != self.program_id:
                    raise DecodeError(f"{self._tag}: owner {acc.owner} is not {self.program_id}")
                state = decode_marinade_state(bytes(acc.data))
                if (state.msol_mint, state.msol_leg) != (
                    self._state.msol_mint,
                    self._state.msol_leg,
                ):
                    raise DecodeError(f"{self._tag}: mSOL mint or mSOL leg changed")
                state_missing = False
        sol_leg = self._sol_leg
        key = self._keys.liq_pool_sol_leg
        if key in accounts:
            acc = accounts[key]
            if acc is not None and acc.owner != SYSTEM_PROGRAM_ID:
                raise DecodeError(
                    f"{self._tag}: SOL leg {key} owner {acc.owner} is not the system program"
                )
            sol_leg = 0 if acc is None else acc.lamports
        msol_leg = self._msol_leg
        key = self._keys.liq_pool_msol_leg
        if key in accounts:
            acc = accounts[key]
            if acc is None:
                msol_leg = None
            else:
                if acc.owner not in TOKEN_PROGRAMS:
                    raise DecodeError(
                        f"{self._tag}: mSOL leg {key} owner {acc.owner} is no token program"
                    )
                data = bytes(acc.data)
                amount = token_account_amount(data, name=f"{self._tag} mSOL leg {key}")
                if data[:32] != bytes(state.msol_mint):
                    raise DecodeError(f"{self._tag}: mSOL leg {key} holds another mint")
                msol_leg = amount
        self._state, self._sol_leg, self._msol_leg = state, sol_leg, msol_leg
        self._state_missing = state_missing
        if state.treasury_msol_account != self._keys.treasury_msol_account:
            self._keys = ix.MarinadeKeys.derive(
                self._address, state.msol_mint, state.msol_leg, state.treasury_msol_account
            )

    # -- quoting ------------------------------------------------------------------------------

    def _ready(self, deposit: bool) -> None:
        if self._state_missing:
            raise QuoteError(f"{self._tag}: the State account {self._address} does not exist")
        if self._state.paused:
            raise QuoteError(f"{self._tag}: the program is paused")
        if deposit and self._msol_leg is None:
            raise QuoteError(f"{self._tag}: mSOL leg {self._keys.liq_pool_msol_leg} is not loaded")
        if not deposit and self._sol_leg is None:
            raise QuoteError(f"{self._tag}: SOL leg {self._keys.liq_pool_sol_leg} is not loaded")

    def _fee_mint(self, deposit: bool) -> Pubkey:
        return WSOL_MINT if deposit else self._lst_mint

    def _deposit(self, lamports: int) -> tuple[int, int]:
        assert self._msol_leg is not None
        try:
            return deposit(self._state, lamports, self._msol_leg)
        except MarinadeRefusal as exc:
            raise Refusal(str(exc), high=exc.high) from None

    def _withdraw(self, tokens: int) -> tuple[int, int]:
        assert self._sol_leg is not None
        try:
            return liquid_unstake(self._state, tokens, self._sol_leg)
        except MarinadeRefusal as exc:
            raise Refusal(str(exc), high=exc.high) from None

    def _rate(self) -> tuple[int, int]:
        return self._state.total_virtual_staked_lamports, self._state.msol_supply

    def _exact_out(self, fn: Callable[[int], tuple[int, int]], amount: int, deposit: bool) -> Quote:
        if deposit:
            return super()._exact_out(fn, amount, deposit)
        return self._unstake_exact_out(amount)

    def _unstake_exact_out(self, amount: int) -> Quote:
        """Least mSOL whose liquid unstake pays at least ``amount`` lamports.

        Within one fee rate the payout grows with the input; the rate only
        rises with the input. So: find the least input at the lowest rate,
        read the rate the program would really charge there, and if it is
        higher, search again at that rate, from there (never backwards: at a
        higher rate every smaller input pays less than it did).
        """
        state, sol_leg = self._state, self._sol_leg
        assert sol_leg is not None
        fee_bps = state.lp_min_fee_bps
        lo = 1
        for _ in range(BASIS_POINTS + 1):
            rate = fee_bps

            def probe(msol: int, rate: int = rate) -> Probe:
                try:
                    out, _fee = liquid_unstake_at_fee(state, sol_leg, msol, rate)
                except MarinadeRefusal as exc:
                    return Probe.HIGH if exc.high else Probe.LOW
                return Probe.OK if out >= amount else Probe.LOW

            lamports, tokens = self._rate()
            guess = amount * tokens // lamports if lamports else amount
            found = least_input(probe, max(guess, lo), lo, U64_MAX)
            if found is None:
                break
            actual = unstake_fee_bps(state, sol_leg, found)
            if actual == rate:
                out, fee = liquid_unstake_at_fee(state, sol_leg, found, rate)
                return Quote(found, out, fee, self._lst_mint)  # what liquid_unstake pays
            fee_bps, lo = actual, found
        raise QuoteError(
            f"{self._tag}: not enough liquidity: the SOL leg {self._keys.liq_pool_sol_leg} "
            f"({sol_leg} lamports) pays {amount} for no liquid unstake of at most u64::MAX"
        )

    def fair_values(self) -> list[FairValue]:
        s = self._state
        return [
            FairValue(
                s.msol_mint,
                s.total_virtual_staked_lamports,
                s.msol_supply,
                None,
                False,
                self._address,
            )
        ]

    def summary(self) -> PoolSummary | None:
        """Reserves are the liquidity pool's legs: what liquid unstake pays from, deposits take."""
        if self._state_missing or self._sol_leg is None or self._msol_leg is None:
            return None
        s = self._state
        available = max(self._sol_leg - s.rent_exempt_for_token_acc, 0)
        # bp cents are millionths; the unstake fee for a small amount is in basis points
        fee_ppm = max(s.deposit_sol_fee_bp_cents, unstake_fee_bps(s, self._sol_leg, 0) * 100)
        return PoolSummary(available, self._msol_leg, s.total_virtual_staked_lamports, fee_ppm)

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``deposit`` / ``liquid_unstake`` for the trader.

        Neither instruction takes a minimum output, so the adapter quotes the
        trade first and refuses (QuoteError) when the quote is below the
        trader's minimum (exact-in) or needs more than the maximum (exact-out).
        The SOL side is native lamports of ``params.user``.
        """
        q = self.quote(params.amount, params.input_mint, exact_in=params.exact_in)
        threshold = params.other_amount_threshold
        if params.exact_in and q.out_amount < threshold:
            raise QuoteError(f"{self._tag}: quote {q.out_amount} is below the minimum {threshold}")
        if not params.exact_in and q.in_amount > threshold:
            raise QuoteError(f"{self._tag}: needs {q.in_amount} in, above the maximum {threshold}")
        if params.input_mint == WSOL_MINT:
            instruction = ix.deposit(
                self._keys,
                transfer_from=params.user,
                mint_to=params.user_destination_token,
                lamports=q.in_amount,
            )
        else:
            instruction = ix.liquid_unstake(
                self._keys,
                get_msol_from=params.user_source_token,
                authority=params.user,
                transfer_sol_to=params.user,
                msol=q.in_amount,
            )
        return SwapInstructions([instruction])
