"""Decoder of the SPL stake-pool ``StakePool`` account (all three deployments).

Borsh without a discriminator: a fixed head up to ``epoch_fee`` (offset 346),
then ``FutureEpoch`` and ``Option`` fields whose sizes move everything after
them, so the tail is read with a cursor. The bytes after the Borsh payload may
be stale leftovers of an older, longer state: the payload's end is found by
decoding, never by looking for zeros. Only ``account_type == 1`` is a pool (the
program also owns ValidatorList accounts, type 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk.amounts import ceil_div
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.layout import pubkey_at, u64

ACCOUNT_TYPE_STAKE_POOL = 1
STAKE_POOL_MIN_LEN = 435
_HEAD_LEN = 346


@dataclass(frozen=True, slots=True)
class Fee:
    """``numerator / denominator``; the program rounds a fee up (``Fee::apply``)."""

    numerator: int
    denominator: int

    def apply(self, amount: int) -> int:
        """``ceil(amount * numerator / denominator)``, 0 for a zero denominator."""
        den = self.denominator
        return 0 if den == 0 else ceil_div(amount * self.numerator, den)


@dataclass(frozen=True, slots=True)
class StakePool:
    """The fields DepositSol / WithdrawSol and fair value read."""

    manager: Pubkey
    stake_withdraw_bump_seed: int
    validator_list: Pubkey
    reserve_stake: Pubkey
    pool_mint: Pubkey
    manager_fee_account: Pubkey
    token_program_id: Pubkey
    total_lamports: int
    pool_token_supply: int
    last_update_epoch: int
    epoch_fee: Fee
    sol_deposit_authority: Pubkey | None
    sol_deposit_fee: Fee
    sol_referral_fee: int
    sol_withdraw_authority: Pubkey | None
    sol_withdrawal_fee: Fee
    payload_len: int


class _Cursor:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DecodeError(
                f"StakePool: truncated at {what} (needs byte {end}, has {len(self.data)})"
            )
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u64(self, what: str) -> int:
        return int.from_bytes(self.take(8, what), "little")

    def fee(self, what: str) -> Fee:
        raw = self.take(16, what)  # denominator first, then numerator
        return Fee(int.from_bytes(raw[8:], "little"), int.from_bytes(raw[:8], "little"))

    def option_pubkey(self, what: str) -> Pubkey | None:
        tag = self.u8(what)
        if tag == 0:
            return None
        if tag != 1:
            raise DecodeError(f"StakePool: {what} has option tag {tag}, not 0 or 1")
        return Pubkey.from_bytes(self.take(32, what))

    def future_fee(self, what: str) -> None:
        tag = self.u8(what)
        if tag > 2:
            raise DecodeError(f"StakePool: {what} has FutureEpoch tag {tag}, not 0, 1 or 2")
        if tag:
            self.fee(what)


def decode_stake_pool(data: bytes) -> StakePool:
    """Decode a StakePool account; DecodeError names what is wrong."""
    if len(data) < STAKE_POOL_MIN_LEN:
        raise DecodeError(f"StakePool: {len(data)} bytes, at least {STAKE_POOL_MIN_LEN} expected")
    if data[0] != ACCOUNT_TYPE_STAKE_POOL:
        raise DecodeError(f"StakePool: account_type is {data[0]}, not 1 (StakePool)")
    c = _Cursor(data, 330)
    epoch_fee = c.fee("epoch_fee")
    c.future_fee("next_epoch_fee")
    c.option_pubkey("preferred_deposit_validator")
    c.option_pubkey("preferred_withdraw_validator")
    c.fee("stake_deposit_fee")
    c.fee("stake_withdrawal_fee")
    c.future_fee("next_stake_withdrawal_fee")
    c.u8("stake_referral_fee")
    sol_deposit_authority = c.option_pubkey("sol_deposit_authority")
    sol_deposit_fee = c.fee("sol_deposit_fee")
    sol_referral_fee = c.u8("sol_referral_fee")
    sol_withdraw_authority = c.option_pubkey("sol_withdraw_authority")
    sol_withdrawal_fee = c.fee("sol_withdrawal_fee")
    c.future_fee("next_sol_withdrawal_fee")
    c.u64("last_epoch_pool_token_supply")
    c.u64("last_epoch_total_lamports")
    return StakePool(
        manager=pubkey_at(data, 1),
        stake_withdraw_bump_seed=data[97],
        validator_list=pubkey_at(data, 98),
        reserve_stake=pubkey_at(data, 130),
        pool_mint=pubkey_at(data, 162),
        manager_fee_account=pubkey_at(data, 194),
        token_program_id=pubkey_at(data, 226),
        total_lamports=u64(data, 258),
        pool_token_supply=u64(data, 266),
        last_update_epoch=u64(data, 274),
        epoch_fee=epoch_fee,
        sol_deposit_authority=sol_deposit_authority,
        sol_deposit_fee=sol_deposit_fee,
        sol_referral_fee=sol_referral_fee,
        sol_withdraw_authority=sol_withdraw_authority,
        sol_withdrawal_fee=sol_withdrawal_fee,
        payload_len=c.pos,
    )
