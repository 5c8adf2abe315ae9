"""The Raydium AMM V4 pool adapter: reserves, the constant-product quote, SwapBaseInV2/OutV2.

Quotes follow ``process_swap_base_in_v2`` / ``process_swap_base_out_v2`` of the
current program (raydium-io/raydium-amm, ``processor.rs`` and ``math.rs``):

* reserves are the vault balances minus ``need_take_pnl_coin`` / ``need_take_pnl_pc``
  (``calc_total_without_take_pnl_no_orderbook``; the OpenBook open-orders balances
  are only added for pools whose status still shares liquidity with the order
  book, which this adapter refuses to quote);
* exact in: ``fee = ceil(amount_in * swap_fee_numerator / swap_fee_denominator)``,
  ``out = floor(reserve_out * (amount_in - fee) / (reserve_in + amount_in - fee))``;
  the program rejects ``out == 0`` and ``out >= reserve_out``;
* exact out: ``in_net = ceil(reserve_in * out / (reserve_out - out))``,
  ``amount_in = ceil(in_net * den / (den - num))``.

The pool's own fee fields are read (the SDK's ``computeAmountOut`` hard-codes 25/10000).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4.state import (
    AMM_INFO_LEN,
    STATUS_WAITING_TRADE,
    AmmInfo,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_PROGRAM_ID, Clock, TokenAccount
from lstarb_sdk.types import Quote, SwapInstructions, SwapParams

AMM_V4_PROGRAM_ID = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
AUTHORITY_SEED = b"amm authority"
SWAP_BASE_IN_V2_TAG = 16
SWAP_BASE_OUT_V2_TAG = 17
U64_MAX = (1 << 64) - 1


def amm_authority(nonce: int, program_id: Pubkey = AMM_V4_PROGRAM_ID) -> Pubkey:
    """The program's ``authority_id``: ``create_program_address([b"amm authority", [nonce]])``."""
    return Pubkey.create_program_address([AUTHORITY_SEED, bytes([nonce])], program_id)


def swap_base_in(
    amount_in: int, reserve_in: int, reserve_out: int, fee_num: int, fee_den: int
) -> tuple[int, int]:
    """``(amount_out, swap_fee)`` of the program's exact-input swap (no checks)."""
    fee = -(-amount_in * fee_num // fee_den)
    net = amount_in - fee
    return reserve_out * net // (reserve_in + net), fee


def swap_base_out(
    amount_out: int, reserve_in: int, reserve_out: int, fee_num: int, fee_den: int
) -> tuple[int, int]:
    """``(amount_in, swap_fee)`` of the program's exact-output swap; needs out < reserve_out."""
    net = -(-reserve_in * amount_out // (reserve_out - amount_out))
    amount_in = -(-net * fee_den // (fee_den - fee_num))
    return amount_in, amount_in - net


class AmmV4Pool(PoolAdapter):
    """A Raydium AMM V4 pool (program ``675kPX9M...``), SPL-token mints only."""

    program_id: ClassVar[Pubkey] = AMM_V4_PROGRAM_ID
    dex: ClassVar[str] = "raydium-amm-v4"

    def __init__(self, address: Pubkey, info: AmmInfo) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._coin_amount: int | None = None
        self._pc_amount: int | None = None
        self._clock: Clock | None = None
        self._set_info(info)

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def matches(cls, account: Account) -> bool:
        return account.owner == cls.program_id and len(account.data) == AMM_INFO_LEN

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> AmmV4Pool:
        if account.owner != cls.program_id:
            raise DecodeError(
                f"raydium amm_v4 pool {address}: owner {account.owner} is not {cls.program_id}"
            )
        return cls(address, AmmInfo.decode(account.data))

    def _set_info(self, info: AmmInfo) -> None:
        if info.swap_fee_denominator == 0 or info.swap_fee_numerator >= info.swap_fee_denominator:
            raise DecodeError(
                f"{self._tag}: swap fee {info.swap_fee_numerator}/{info.swap_fee_denominator} "
                "is not a fraction below 1"
            )
        self._info = info
        self._authority = amm_authority(info.nonce, self.program_id)

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._info.coin_vault_mint, self._info.pc_vault_mint

    @property
    def amm_info(self) -> AmmInfo:
        return self._info

    @property
    def authority(self) -> Pubkey:
        return self._authority

    def _needs_clock(self) -> bool:
        info = self._info
        if info.status != STATUS_WAITING_TRADE:
            return False
        return self._clock is None or self._clock.unix_timestamp < info.pool_open_time

    def accounts_to_update(self) -> list[Pubkey]:
        keys = [self._address, self._info.coin_vault, self._info.pc_vault]
        if self._needs_clock():
            keys.append(SYSVAR_CLOCK_ID)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole."""
        info = self._info
        new_info = None
        acc = accounts.get(self._address)
        if acc is not None:
            if acc.owner != self.program_id:
                raise DecodeError(f"{self._tag}: owner {acc.owner} is not {self.program_id}")
            new_info = AmmInfo.decode(acc.data)
            if (new_info.coin_vault_mint, new_info.pc_vault_mint) != self.mints:
                raise DecodeError(f"{self._tag}: mints changed")
        i = new_info or info
        amounts: list[int | None] = [None, None]
        for n, (key, mint) in enumerate(
            ((i.coin_vault, i.coin_vault_mint), (i.pc_vault, i.pc_vault_mint))
        ):
            acc = accounts.get(key)
            if acc is None:
                continue
            if acc.owner != TOKEN_PROGRAM_ID:
                raise DecodeError(
                    f"{self.dex} vault {key}: owner {acc.owner} is not the token program"
                )
            tok = TokenAccount.decode(acc.data, name=f"{self.dex} vault {key}")
            if tok.mint != mint:
                raise DecodeError(f"{self.dex} vault {key}: mint {tok.mint} is not {mint}")
            amounts[n] = tok.amount
        new_clock = None
        acc = accounts.get(SYSVAR_CLOCK_ID)
        if acc is not None:
            new_clock = Clock.decode(acc.data)

        if new_info is not None:
            self._set_info(new_info)
        if amounts[0] is not None:
            self._coin_amount = amounts[0]
        if amounts[1] is not None:
            self._pc_amount = amounts[1]
        if new_clock is not None:
            self._clock = new_clock

    # -- quoting ------------------------------------------------------------------------------

    def reserves(self) -> tuple[int, int]:
        """``(coin, pc)`` as the program computes them; QuoteError if a vault is missing."""
        info = self._info
        if self._coin_amount is None:
            raise QuoteError(f"{self._tag}: coin vault {info.coin_vault} is not loaded")
        if self._pc_amount is None:
            raise QuoteError(f"{self._tag}: pc vault {info.pc_vault} is not loaded")
        coin = self._coin_amount - info.need_take_pnl_coin
        pc = self._pc_amount - info.need_take_pnl_pc
        if coin < 0 or pc < 0:
            raise QuoteError(f"{self._tag}: need_take_pnl exceeds a vault balance")
        return coin, pc

    def _check_status(self) -> None:
        info = self._info
        if info.orderbook_permission:
            raise QuoteError(
                f"{self._tag}: status {info.status} shares liquidity with OpenBook "
                "(open-orders balances are not tracked)"
            )
        if not info.swap_permission:
            raise QuoteError(f"{self._tag}: swaps are not allowed in status {info.status}")
        if info.status == STATUS_WAITING_TRADE:
            if self._clock is None:
                raise QuoteError(
                    f"{self._tag}: Clock sysvar {SYSVAR_CLOCK_ID} is not loaded "
                    f"(pool waits for open time {info.pool_open_time})"
                )
            if self._clock.unix_timestamp < info.pool_open_time:
                raise QuoteError(f"{self._tag}: not open before {info.pool_open_time}")

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        info = self._info
        if input_mint == info.coin_vault_mint:
            coin_in = True
        elif input_mint == info.pc_vault_mint:
            coin_in = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        self._check_status()
        coin, pc = self.reserves()
        r_in, r_out = (coin, pc) if coin_in else (pc, coin)
        if not 0 < amount <= U64_MAX:
            raise QuoteError(f"{self._tag}: amount {amount} outside 1..u64::MAX")
        num, den = info.swap_fee_numerator, info.swap_fee_denominator
        if exact_in:
            out, fee = swap_base_in(amount, r_in, r_out, num, den)
            if out == 0:
                raise QuoteError(f"{self._tag}: too small input (output is 0)")
            if out >= r_out:
                raise QuoteError(f"{self._tag}: not enough liquidity")
            return Quote(amount, out, fee, input_mint)
        if amount >= r_out:
            raise QuoteError(f"{self._tag}: not enough liquidity (reserve {r_out}, asked {amount})")
        need, fee = swap_base_out(amount, r_in, r_out, num, den)
        if need == 0:
            raise QuoteError(f"{self._tag}: too small output (input is 0)")
        if need > U64_MAX:
            raise QuoteError(f"{self._tag}: input exceeds u64")
        return Quote(need, amount, fee, input_mint)

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``SwapBaseInV2`` (tag 16) or ``SwapBaseOutV2`` (tag 17): 8 accounts, no OpenBook.

        The v1 instructions (9/11) need six OpenBook market accounts that the
        current program no longer reads for SwapOnly pools but still requires; v2
        takes only what the swap touches, so no market account has to be fetched.
        ``other_amount_threshold`` is the minimum out (exact in) or maximum in.
        """
        info = self._info
        self.other_mint(params.input_mint)  # QuoteError for a foreign mint
        if params.exact_in:
            data = (
                bytes([SWAP_BASE_IN_V2_TAG])
                + params.amount.to_bytes(8, "little")
                + params.other_amount_threshold.to_bytes(8, "little")
            )
        else:
            data = (
                bytes([SWAP_BASE_OUT_V2_TAG])
                + params.other_amount_threshold.to_bytes(8, "little")
                + params.amount.to_bytes(8, "little")
            )
        metas = [
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
            AccountMeta(self._address, False, True),
            AccountMeta(self._authority, False, False),
            AccountMeta(info.coin_vault, False, True),
            AccountMeta(info.pc_vault, False, True),
            AccountMeta(params.user_source_token, False, True),
            AccountMeta(params.user_destination_token, False, True),
            AccountMeta(params.user, True, False),
        ]
        return SwapInstructions([Instruction(self.program_id, data, metas)])
