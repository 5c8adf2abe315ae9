"""SPL stake pools (and Sanctum's two deployments of the program) as pools: SOL <-> LST.

SOL -> LST is DepositSol, LST -> SOL is WithdrawSol, both at the pool's own
rate with its SOL deposit / withdrawal fees and the program's rounding
(:mod:`lstarb_lst.stake_pool_math`). The adapter follows four accounts:

- the StakePool account (rate, fees, authorities, ``last_update_epoch``);
- the reserve stake account: WithdrawSol pays from it and must leave its
  rent-exempt minimum, so its lamports bound every withdrawal;
- the manager fee account: WithdrawSol charges no fee when it is not a valid
  token account of the pool mint;
- the Clock sysvar: both instructions fail with StakeListAndPoolOutOfDate
  while ``last_update_epoch`` is behind the current epoch.

A pool with a ``sol_deposit_authority`` (permissioned deposits) refuses
deposits, one with a ``sol_withdraw_authority`` refuses withdrawals: lstarb
holds neither key. Swaps name the trader as the deposit's referrer, so a
referral share of the deposit fee comes back to the trader and the quote
counts it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst import stake_pool_ix as ix
from lstarb_lst.base import LiquidStakingPool, Refusal
from lstarb_lst.constants import (
    SANCTUM_SPL_MULTI_PROGRAM_ID,
    SANCTUM_SPL_PROGRAM_ID,
    SPL_STAKE_POOL_PROGRAM_ID,
    STAKE_PROGRAM_ID,
)
from lstarb_lst.stake_pool_math import (
    StakePoolRefusal,
    check_fresh,
    deposit_sol,
    withdraw_sol,
)
from lstarb_lst.stake_pool_state import ACCOUNT_TYPE_STAKE_POOL, StakePool, decode_stake_pool
from lstarb_sdk.amounts import PPM_DENOMINATOR, ceil_div
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.fair_value import FairValue
from lstarb_sdk.layout import u32, u64
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_ACCOUNT_LEN, WSOL_MINT, Clock
from lstarb_sdk.types import AccountFilter, ComputeUnits, PoolSummary, SwapInstructions, SwapParams

#: Size the program allocates for a StakePool account.
STAKE_POOL_ACCOUNT_LEN = 611
#: Size of a stake account (StakeStateV2).
STAKE_STATE_LEN = 200
#: Refusals a larger amount cannot cure.
_HIGH = frozenset({"SolWithdrawalTooLarge", "CalculationFailure", "WrongStakeStake"})


@dataclass(frozen=True, slots=True)
class Reserve:
    """What WithdrawSol reads of the reserve stake account."""

    lamports: int
    rent_exempt_reserve: int  # the stake state's Meta: what must stay behind
    initialized: bool  # StakeStateV2::Initialized: the only state WithdrawSol pays from

    @classmethod
    def of(cls, account: Account, name: str) -> Reserve:
        """DecodeError unless it is a stake account (owner, 200 bytes of StakeStateV2)."""
        if account.owner != STAKE_PROGRAM_ID:
            raise DecodeError(f"{name}: owner {account.owner} is not {STAKE_PROGRAM_ID}")
        data = bytes(account.data)
        if len(data) != STAKE_STATE_LEN:
            raise DecodeError(f"{name}: {len(data)} bytes, a stake account has {STAKE_STATE_LEN}")
        tag = u32(data, 0)
        if tag > 3:
            raise DecodeError(f"{name}: stake state {tag} is none of StakeStateV2's")
        rent = u64(data, 4)
        return cls(account.lamports, rent, tag == 1)


def _fee_account_valid(account: Account | None, pool: StakePool) -> bool:
    """``check_manager_fee_info``: owned by the pool's token program, initialized, pool mint."""
    if account is None or account.owner != pool.token_program_id:
        return False
    data = bytes(account.data)
    if len(data) < TOKEN_ACCOUNT_LEN:
        return False
    return data[:32] == bytes(pool.pool_mint) and data[108] == 1


class StakePoolAdapter(LiquidStakingPool):
    """One stake pool of the SPL stake-pool program (``program_id`` per deployment)."""

    program_id: ClassVar[Pubkey] = SPL_STAKE_POOL_PROGRAM_ID
    dex: ClassVar[str] = "spl-stake-pool"
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=33_038,
        measured_max=33_038,
        source=(
            "igneous-labs/sanctum-router-sdk@3d9c5c10:test-fixtures/programs/stake-pool.so "
            "(SPL stake pool v1.0.0) on the bSOL and JitoSOL fixtures: DepositSol / WithdrawSol "
            "(tests/program_oracle/compute_units_spl.json)"
        ),
    )
    """Measured on the program: WithdrawSol (with its stake-program CPI) is the dearer."""

    def __init__(self, address: Pubkey, pool: StakePool) -> None:
        super().__init__(address, pool.pool_mint)
        self._pool = pool
        self._keys = ix.PoolKeys(
            self.program_id,
            address,
            ix.withdraw_authority(self.program_id, address),
            pool.reserve_stake,
            pool.manager_fee_account,
            pool.pool_mint,
            pool.token_program_id,
        )
        self._missing: frozenset[str] = frozenset()  # "pool", "clock": the chain has none
        self._epoch: int | None = None
        self._reserve: Reserve | None = None
        self._reserve_missing = False
        self._fee_account_seen = False
        self._fee_exempt = False

    @classmethod
    def matches(cls, account: Account) -> bool:
        data = account.data
        return account.owner == cls.program_id and data[:1] == bytes((ACCOUNT_TYPE_STAKE_POOL,))

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> StakePoolAdapter:
        if account.owner != cls.program_id:
            raise DecodeError(f"{cls.dex} {address}: owner {account.owner} is not {cls.program_id}")
        return cls(address, decode_stake_pool(bytes(account.data)))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        head = (0, bytes((ACCOUNT_TYPE_STAKE_POOL,)))
        if WSOL_MINT in mints:  # every pool trades SOL
            return [AccountFilter(STAKE_POOL_ACCOUNT_LEN, (head,))]
        return [AccountFilter(STAKE_POOL_ACCOUNT_LEN, (head, (162, bytes(m)))) for m in mints]

    @property
    def state(self) -> StakePool:
        return self._pool

    @property
    def epoch(self) -> int | None:
        """The current epoch as the last Clock said (None before one was loaded)."""
        return self._epoch

    def accounts_to_update(self) -> list[Pubkey]:
        p = self._pool
        return [self._address, p.reserve_stake, p.manager_fee_account, SYSVAR_CLOCK_ID]

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> bool | None:
        """Decode every given account first, then commit: a DecodeError keeps the old state.

        None (the chain has no such account) for the pool or the Clock keeps
        the last state for ``accounts_to_update`` and refuses quotes naming
        the account until it comes back. Returns False for a Clock of the epoch
        already held (every slot's Clock): the quotes read only its epoch.
        """
        if accounts.keys() == {SYSVAR_CLOCK_ID} and self._epoch is not None:
            clock = accounts[SYSVAR_CLOCK_ID]
            if clock is not None and Clock.from_account(clock).epoch == self._epoch:
                return False
        pool = self._pool
        missing = set(self._missing)
        if self._address in accounts:
            acc = accounts[self._address]
            if acc is None:
                missing.add("pool")
            else:
                if acc.owner != self.program_id:
                    raise DecodeError(f"{self._tag}: owner {acc.owner} is not {self.program_id}")
                pool = decode_stake_pool(bytes(acc.data))
                if pool.pool_mint != self._pool.pool_mint:
                    raise DecodeError(f"{self._tag}: pool mint changed to {pool.pool_mint}")
                missing.discard("pool")
        epoch = self._epoch
        if SYSVAR_CLOCK_ID in accounts:
            clock = accounts[SYSVAR_CLOCK_ID]
            if clock is None:
                epoch = None
                missing.add("clock")
            else:
                epoch = Clock.from_account(clock).epoch
                missing.discard("clock")
        reserve, reserve_missing = self._reserve, self._reserve_missing
        if pool.reserve_stake in accounts:
            acc = accounts[pool.reserve_stake]
            reserve_missing = acc is None
            reserve = None if acc is None else Reserve.of(acc, f"{self._tag} reserve stake")
        fee_seen, fee_exempt = self._fee_account_seen, self._fee_exempt
        if pool.manager_fee_account in accounts:
            fee_account = accounts[pool.manager_fee_account]
            fee_seen, fee_exempt = True, not _fee_account_valid(fee_account, pool)
        if pool.reserve_stake != self._pool.reserve_stake and pool.reserve_stake not in accounts:
            reserve, reserve_missing = None, False
        if pool.manager_fee_account != self._pool.manager_fee_account and (
            pool.manager_fee_account not in accounts
        ):
            fee_seen = False
        self._pool, self._epoch, self._missing = pool, epoch, frozenset(missing)
        self._reserve, self._reserve_missing = reserve, reserve_missing
        self._fee_account_seen, self._fee_exempt = fee_seen, fee_exempt
        if pool.reserve_stake != self._keys.reserve_stake or (
            pool.manager_fee_account != self._keys.manager_fee_account
        ):
            self._keys = ix.PoolKeys(
                self.program_id,
                self._address,
                self._keys.withdraw_authority,
                pool.reserve_stake,
                pool.manager_fee_account,
                pool.pool_mint,
                pool.token_program_id,
            )

    # -- quoting ------------------------------------------------------------------------------

    def _ready(self, deposit: bool) -> None:
        pool = self._pool
        if "pool" in self._missing:
            raise QuoteError(f"{self._tag}: the pool account {self._address} does not exist")
        if self._epoch is None:
            state = "does not exist" if "clock" in self._missing else "is not loaded"
            raise QuoteError(f"{self._tag}: Clock sysvar {SYSVAR_CLOCK_ID} {state}")
        try:
            check_fresh(pool, self._epoch)
        except StakePoolRefusal as exc:
            raise QuoteError(f"{self._tag}: {exc}") from None
        if deposit:
            if pool.sol_deposit_authority is not None:
                raise QuoteError(
                    f"{self._tag}: SOL deposits are permissioned "
                    f"(sol_deposit_authority {pool.sol_deposit_authority})"
                )
            return
        if pool.sol_withdraw_authority is not None:
            raise QuoteError(
                f"{self._tag}: SOL withdrawals are permissioned "
                f"(sol_withdraw_authority {pool.sol_withdraw_authority})"
            )
        if self._reserve is None:
            state = "does not exist" if self._reserve_missing else "is not loaded"
            raise QuoteError(f"{self._tag}: reserve stake {pool.reserve_stake} {state}")
        if not self._fee_account_seen:
            raise QuoteError(
                f"{self._tag}: manager fee account {pool.manager_fee_account} is not loaded"
            )

    def _deposit(self, lamports: int) -> tuple[int, int]:
        try:
            r = deposit_sol(self._pool, lamports, referrer_is_user=True)
        except StakePoolRefusal as exc:
            raise Refusal(str(exc), high=exc.name in _HIGH) from None
        return r.user_tokens, r.fee - r.referral

    def _withdraw(self, tokens: int) -> tuple[int, int]:
        reserve = self._reserve
        assert reserve is not None
        try:
            r = withdraw_sol(
                self._pool,
                tokens,
                reserve.lamports,
                reserve.rent_exempt_reserve,
                fee_exempt=self._fee_exempt,
                reserve_initialized=reserve.initialized,
            )
        except StakePoolRefusal as exc:
            raise Refusal(str(exc), high=exc.name in _HIGH) from None
        return r.lamports, r.fee

    def _rate(self) -> tuple[int, int]:
        return self._pool.total_lamports, self._pool.pool_token_supply

    def fair_values(self) -> list[FairValue]:
        pool = self._pool
        stale = self._epoch is not None and pool.last_update_epoch < self._epoch
        return [
            FairValue(
                pool.pool_mint,
                pool.total_lamports,
                pool.pool_token_supply,
                pool.last_update_epoch,
                stale,
                self._address,
            )
        ]

    def summary(self) -> PoolSummary | None:
        """Reserve = SOL WithdrawSol can pay now; LST side = supply; liquidity = total lamports."""
        if self._missing or self._epoch is None or self._reserve is None:
            return None
        lamports, rent = self._reserve.lamports, self._reserve.rent_exempt_reserve
        pool = self._pool
        fee = max(
            _ppm(pool.sol_deposit_fee.numerator, pool.sol_deposit_fee.denominator),
            _ppm(pool.sol_withdrawal_fee.numerator, pool.sol_withdrawal_fee.denominator),
        )
        available = max(lamports - rent, 0)
        return PoolSummary(available, pool.pool_token_supply, pool.total_lamports, fee)

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """DepositSolWithSlippage / WithdrawSolWithSlippage for the trader.

        The SOL side is native lamports of ``params.user`` (it funds deposits
        and receives withdrawals); the LST side is the token account among
        ``user_source_token`` / ``user_destination_token``. An exact-out swap
        sends the input this adapter quotes (QuoteError above the trader's
        maximum) and requires at least ``amount`` out.
        """
        q = self.quote(params.amount, params.input_mint, exact_in=params.exact_in)
        if params.exact_in:
            amount_in, minimum_out = params.amount, params.other_amount_threshold
        else:
            if q.in_amount > params.other_amount_threshold:
                raise QuoteError(
                    f"{self._tag}: {params.amount} out needs {q.in_amount} in, "
                    f"above the maximum {params.other_amount_threshold}"
                )
            amount_in, minimum_out = q.in_amount, params.amount
        if params.input_mint == self._lst_mint:
            instruction = ix.withdraw_sol(
                self._keys,
                transfer_authority=params.user,
                source=params.user_source_token,
                destination=params.user,
                pool_tokens=amount_in,
                minimum_lamports_out=minimum_out,
            )
        else:
            # The program checks its minimum against the user's share alone; the referral
            # share, minted to the same account, comes on top of it.
            referral = deposit_sol(self._pool, amount_in, referrer_is_user=True).referral
            instruction = ix.deposit_sol(
                self._keys,
                funding=params.user,
                destination=params.user_destination_token,
                referrer=params.user_destination_token,
                lamports=amount_in,
                minimum_pool_tokens_out=max(minimum_out - referral, 0),
            )
        return SwapInstructions([instruction])


def _ppm(numerator: int, denominator: int) -> int:
    return 0 if denominator == 0 else ceil_div(numerator * PPM_DENOMINATOR, denominator)


class SanctumSplStakePool(StakePoolAdapter):
    """A pool of Sanctum's single-validator deployment of the program."""

    program_id: ClassVar[Pubkey] = SANCTUM_SPL_PROGRAM_ID
    dex: ClassVar[str] = "sanctum-spl"


class SanctumSplMultiStakePool(StakePoolAdapter):
    """A pool of Sanctum's multi-validator deployment of the program."""

    program_id: ClassVar[Pubkey] = SANCTUM_SPL_MULTI_PROGRAM_ID
    dex: ClassVar[str] = "sanctum-spl-multi"
