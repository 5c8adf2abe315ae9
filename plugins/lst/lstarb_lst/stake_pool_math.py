"""DepositSol and WithdrawSol of the SPL stake-pool program, in its integer math and order.

Every check the processor makes on the amounts is made here, in the same
order, and raises :class:`StakePoolRefusal` with the program's error name and
custom code, so a quote is refused exactly where the transaction would fail.
Products are unbounded Python ints; the program's u128 products never
overflow for u64 inputs, and its ``u64::try_from`` / ``checked_add`` /
``checked_sub`` become explicit bound checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_lst.stake_pool_state import StakePool
from lstarb_sdk.amounts import U64_MAX

# StakePoolError custom codes (program/src/error.rs)
INVALID_STATE = 2
CALCULATION_FAILURE = 3
STAKE_LIST_AND_POOL_OUT_OF_DATE = 17
WITHDRAWAL_TOO_SMALL = 28
DEPOSIT_TOO_SMALL = 29
SOL_WITHDRAWAL_TOO_LARGE = 35
WRONG_STAKE_STATE = 11  # "WrongStakeStake" in the program's error enum


class StakePoolRefusal(Exception):
    """The program would fail the instruction with ``code`` (``name``)."""

    def __init__(self, name: str, code: int, detail: str = "") -> None:
        super().__init__(f"{name} (custom error {code}){': ' + detail if detail else ''}")
        self.name = name
        self.code = code


@dataclass(frozen=True, slots=True)
class DepositResult:
    user_tokens: int  # what arrives in the user's LST account (referral included when it is theirs)
    new_tokens: int  # minted in total
    fee: int  # the SOL deposit fee (manager + referral)
    referral: int  # the referrer's part of the fee


@dataclass(frozen=True, slots=True)
class WithdrawResult:
    lamports: int  # what the user receives
    fee: int  # pool tokens moved to the manager fee account
    burnt: int


def check_fresh(pool: StakePool, epoch: int) -> None:
    """``StakeListAndPoolOutOfDate`` while the pool has not been updated for ``epoch``."""
    if pool.last_update_epoch < epoch:
        raise StakePoolRefusal(
            "StakeListAndPoolOutOfDate",
            STAKE_LIST_AND_POOL_OUT_OF_DATE,
            f"last_update_epoch {pool.last_update_epoch} < current epoch {epoch}",
        )


def deposit_sol(pool: StakePool, lamports: int, *, referrer_is_user: bool) -> DepositResult:
    """``process_deposit_sol`` after the account checks."""
    total, supply = pool.total_lamports, pool.pool_token_supply
    if total == 0 or supply == 0:
        new_tokens = lamports
    else:
        new_tokens = lamports * supply // total
        if new_tokens > U64_MAX:
            raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "pool tokens > u64")
    fee = pool.sol_deposit_fee.apply(new_tokens)
    if fee > U64_MAX or fee > new_tokens:
        raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "deposit fee")
    user = new_tokens - fee
    referral = fee * pool.sol_referral_fee // 100
    if user == 0:
        raise StakePoolRefusal("DepositTooSmall", DEPOSIT_TOO_SMALL, f"{lamports} lamports")
    if supply + new_tokens > U64_MAX or total + lamports > U64_MAX:
        raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "pool totals > u64")
    if referrer_is_user:
        user += referral
    return DepositResult(user, new_tokens, fee, referral)


def withdraw_sol(
    pool: StakePool,
    pool_tokens: int,
    reserve_lamports: int,
    reserve_rent: int,
    *,
    fee_exempt: bool,
    reserve_initialized: bool = True,
) -> WithdrawResult:
    """``process_withdraw_sol`` after the account checks.

    ``fee_exempt``: the burn source is the manager fee account, or the manager
    fee account is not a valid token account of the pool mint (the program
    then charges no fee). ``reserve_rent`` is the ``rent_exempt_reserve`` of
    the reserve's stake Meta, which it must keep; a reserve whose stake state
    is not Initialized fails with WrongStakeStake, after the amount checks.
    """
    fee = 0 if fee_exempt else pool.sol_withdrawal_fee.apply(pool_tokens)
    if fee > U64_MAX or fee > pool_tokens:
        raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "withdrawal fee")
    burnt = pool_tokens - fee
    total, supply = pool.total_lamports, pool.pool_token_supply
    numerator = burnt * total
    if numerator < supply or supply == 0:
        lamports = 0
    else:
        lamports = numerator // supply
        if lamports > U64_MAX:
            raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "lamports > u64")
    if lamports == 0:
        raise StakePoolRefusal("WithdrawalTooSmall", WITHDRAWAL_TOO_SMALL, f"{pool_tokens} tokens")
    if not reserve_initialized:
        raise StakePoolRefusal("WrongStakeStake", WRONG_STAKE_STATE, "reserve not initialized")
    if max(reserve_lamports - lamports, 0) < reserve_rent:
        raise StakePoolRefusal(
            "SolWithdrawalTooLarge",
            SOL_WITHDRAWAL_TOO_LARGE,
            f"{lamports} lamports, the reserve pays at most "
            f"{max(reserve_lamports - reserve_rent, 0)}",
        )
    if burnt > supply or lamports > total:
        raise StakePoolRefusal("CalculationFailure", CALCULATION_FAILURE, "pool totals underflow")
    return WithdrawResult(lamports, fee, burnt)
