"""KaminoFunding: flash loans from Kamino Lending reserves.

State comes in through ``update`` (the reserves and their lending markets,
delivered by the runtime like pool accounts); ``fee`` and ``wrap`` are pure
integer work on that state. Every refusal is a :class:`FundingError` that
names each configured reserve and why it cannot lend, so a planner log says
what to fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_kamino.config import KaminoConfig
from lstarb_kamino.constants import (
    FLASH_BORROW_DISCRIMINATOR,
    FLASH_LOANS_DISABLED_SF,
    FLASH_REPAY_DISCRIMINATOR,
    MAX_INSTRUCTION_INDEX,
    PROGRAM_VERSION,
)
from lstarb_kamino.fees import flash_loan_fee
from lstarb_kamino.instructions import ReserveMetas, flash_borrow, flash_repay
from lstarb_kamino.state import STATUS_OBSOLETE, LendingMarket, Reserve
from lstarb_sdk import FundedInstructions, FundingProvider
from lstarb_sdk.amounts import U64_MAX
from lstarb_sdk.errors import DecodeError, FundingError


def _metas_key(r: Reserve) -> tuple[Pubkey, ...]:
    return (r.lending_market, r.liquidity_mint, r.supply_vault, r.fee_vault, r.token_program)


@dataclass(slots=True)
class _Lender:
    """One configured reserve and what the runtime last told us about it."""

    address: Pubkey
    mint: Pubkey
    market: Pubkey
    cap: int | None
    state: Reserve | None = None
    seen_at: float | None = None
    problem: str = "not loaded yet"
    metas: ReserveMetas | None = None


@dataclass(slots=True)
class _Market:
    state: LendingMarket | None = None
    seen_at: float | None = None
    problem: str = "not loaded yet"


class KaminoFunding(FundingProvider):
    """Kamino Lending flash borrow / flash repay around a trade."""

    name = "kamino"

    def __init__(
        self, config: KaminoConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or KaminoConfig()
        self.program_id = Pubkey.from_string(self.config.program_id)
        self.referrer = Pubkey.from_string(self.config.referrer) if self.config.referrer else None
        self._clock = clock
        self._by_mint: dict[Pubkey, list[_Lender]] = {}
        self._reserves: dict[Pubkey, _Lender] = {}
        self._markets: dict[Pubkey, _Market] = {}
        for mint_text, settings in self.config.reserves.items():
            mint = Pubkey.from_string(mint_text)
            for s in settings:
                lender = _Lender(
                    Pubkey.from_string(s.reserve), mint, Pubkey.from_string(s.market), s.max_amount
                )
                if lender.address in self._reserves:
                    raise ValueError(f"kamino: reserve {lender.address} is configured twice")
                self._reserves[lender.address] = lender
                self._by_mint.setdefault(mint, []).append(lender)
                self._markets.setdefault(lender.market, _Market())

    # -- state -----------------------------------------------------------------------

    def accounts_to_update(self) -> Sequence[Pubkey]:
        return [*self._reserves, *self._markets]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        now = self._clock()
        errors: list[str] = []
        for key, account in accounts.items():
            if key in self._reserves:
                err = self._update_reserve(self._reserves[key], account, now)
            elif key in self._markets:
                err = self._update_market(self._markets[key], account, now)
            else:
                continue
            if err:
                errors.append(err)
        if errors:
            raise DecodeError("; ".join(errors))

    def _update_reserve(self, lender: _Lender, account: Account | None, now: float) -> str | None:
        previous = lender.state
        lender.state, lender.seen_at = None, now
        if account is None:
            lender.problem = "the chain has no such account"
            return None
        try:
            reserve = Reserve.decode(bytes(account.data), account.owner)
        except DecodeError as exc:
            lender.problem = f"undecodable: {exc}"
            return f"reserve {lender.address}: {exc}"
        if reserve.lending_market != lender.market:
            lender.problem = (
                f"belongs to market {reserve.lending_market}, not the configured {lender.market}"
            )
            return None
        if reserve.liquidity_mint != lender.mint:
            lender.problem = f"lends {reserve.liquidity_mint}, not the configured {lender.mint}"
            return None
        lender.state, lender.problem = reserve, ""
        if lender.metas is None or previous is None or _metas_key(previous) != _metas_key(reserve):
            # PDA derivation costs ~30 us: only when an account the metas name changed
            lender.metas = ReserveMetas.build(
                lender.address, reserve, referrer=self.referrer, program_id=self.program_id
            )
        return None

    def _update_market(self, market: _Market, account: Account | None, now: float) -> str | None:
        market.state, market.seen_at = None, now
        if account is None:
            market.problem = "the chain has no such account"
            return None
        try:
            market.state = LendingMarket.decode(bytes(account.data), account.owner)
        except DecodeError as exc:
            market.problem = f"undecodable: {exc}"
            return str(exc)
        market.problem = ""
        return None

    # -- choosing a reserve ----------------------------------------------------------

    def _why_not(self, lender: _Lender, amount: int, now: float) -> str | None:
        """Why ``lender`` cannot lend ``amount`` now (None: it can)."""
        reserve = lender.state
        if reserve is None:
            return lender.problem
        market = self._markets[lender.market]
        if market.state is None:
            return f"its market {lender.market}: {market.problem}"
        limit = self.config.max_state_age_s
        if limit is not None:
            oldest = min(lender.seen_at or 0.0, market.seen_at or 0.0)
            if now - oldest > limit:
                return f"state is stale: last delivered {now - oldest:.1f} s ago (limit {limit} s)"
        if reserve.version != PROGRAM_VERSION:
            return f"reserve version {reserve.version}, klend expects {PROGRAM_VERSION}"
        if reserve.status == STATUS_OBSOLETE:
            return "reserve is obsolete"
        if reserve.flash_loan_fee_sf == FLASH_LOANS_DISABLED_SF:
            return "flash loans are disabled on this reserve (fee sentinel u64::MAX)"
        if reserve.emergency_mode:
            return "reserve is in emergency mode"
        if market.state.emergency_mode:
            return f"market {lender.market} is in emergency mode"
        if amount > reserve.available_amount:
            return f"only {reserve.available_amount} available"
        if lender.cap is not None and amount > lender.cap:
            return f"above the configured max_amount {lender.cap}"
        return None

    def _choose(self, mint: Pubkey, amount: int) -> tuple[_Lender, int]:
        lenders = self._by_mint.get(mint)
        if lenders is None:
            raise FundingError(f"kamino: no reserve configured for mint {mint}")
        if not 0 < amount <= U64_MAX:
            raise FundingError(f"kamino: loan amount must be within 1..2^64-1, got {amount}")
        now = self._clock()
        best: tuple[_Lender, int] | None = None
        reasons = []
        for lender in lenders:
            why = self._why_not(lender, amount, now)
            if why is None:
                assert lender.state is not None
                try:
                    fee = flash_loan_fee(amount, lender.state.flash_loan_fee_sf)
                except FundingError as exc:
                    why = str(exc)
                else:
                    if best is None or fee < best[1]:
                        best = (lender, fee)
                    continue
            reasons.append(f"reserve {lender.address}: {why}")
        if best is None:
            raise FundingError(f"kamino cannot lend {amount} of {mint}: " + "; ".join(reasons))
        return best

    # -- FundingProvider -------------------------------------------------------------

    def supports(self, mint: Pubkey) -> bool:
        return mint in self._by_mint

    def fee(self, mint: Pubkey, amount: int) -> int:
        return self._choose(mint, amount)[1]

    def max_amount(self, mint: Pubkey) -> int | None:
        now = self._clock()
        best = 0
        for lender in self._by_mint.get(mint, ()):
            if lender.state is None or self._why_not(lender, 1, now) is not None:
                continue
            room = lender.state.available_amount
            if lender.cap is not None:
                room = min(room, lender.cap)
            best = max(best, room)
        return best

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
        if not 0 <= instruction_offset <= MAX_INSTRUCTION_INDEX:
            raise FundingError(
                f"kamino: the borrow would land at index {instruction_offset}; the repay can "
                f"only name indexes 0..{MAX_INSTRUCTION_INDEX}"
            )
        program_id = self.program_id
        for i, ix in enumerate(instructions):
            if ix.program_id == program_id and bytes(ix.data[:8]) in (
                FLASH_BORROW_DISCRIMINATOR,
                FLASH_REPAY_DISCRIMINATOR,
            ):
                raise FundingError(
                    f"kamino: instruction {i} is already a klend flash borrow/repay; "
                    "klend allows one pair per transaction"
                )
        lender, fee = self._choose(mint, amount)
        state, metas = lender.state, lender.metas
        assert state is not None and metas is not None
        if user_token_account == state.supply_vault:
            raise FundingError(
                f"kamino: the user token account {user_token_account} is the reserve's supply vault"
            )
        accounts = metas.metas(user, user_token_account)
        return FundedInstructions(
            instructions=[
                flash_borrow(accounts, program_id, amount),
                *instructions,
                flash_repay(accounts, program_id, amount, instruction_offset),
            ],
            fee_amount=fee,
            borrow_index=instruction_offset,
            repay_amount=amount + fee,
        )

    def reserve_for(self, mint: Pubkey, amount: int) -> Pubkey:
        """The reserve a loan of ``amount`` would come from now (for logs and explain)."""
        return self._choose(mint, amount)[0].address
