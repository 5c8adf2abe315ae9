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

from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4.state import (
    AMM_AUTHORITY,
    AMM_INFO_LEN,
    AMM_V4_PROGRAM_ID,
    COIN_MINT_OFFSET,
    PC_MINT_OFFSET,
    STATUS_WAITING_TRADE,
    AmmInfo,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.amounts import PPM_DENOMINATOR, U64_MAX, ceil_div, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.pool import account_unavailable
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_PROGRAM_ID, Clock, vault_amount
from lstarb_sdk.types import AccountFilter, PoolSummary, Quote, SwapInstructions, SwapParams

SWAP_BASE_IN_V2_TAG = 16
SWAP_BASE_OUT_V2_TAG = 17


def swap_base_in(
    amount_in: int, reserve_in: int, reserve_out: int, fee_num: int, fee_den: int
) -> tuple[int, int]:
    """``(amount_out, swap_fee)`` of the program's exact-input swap (no checks)."""
    fee = ceil_div(amount_in * fee_num, fee_den)
    net = amount_in - fee
    return reserve_out * net // (reserve_in + net), fee


def swap_base_out(
    amount_out: int, reserve_in: int, reserve_out: int, fee_num: int, fee_den: int
) -> tuple[int, int]:
    """``(amount_in, swap_fee)`` of the program's exact-output swap; needs out < reserve_out."""
    net = ceil_div(reserve_in * amount_out, reserve_out - amount_out)
    amount_in = ceil_div(net * fee_den, fee_den - fee_num)
    return amount_in, amount_in - net


class AmmV4Pool(PoolAdapter):
    """A Raydium AMM V4 pool (program ``675kPX9M...``), SPL-token mints only."""

    program_id: ClassVar[Pubkey] = AMM_V4_PROGRAM_ID
    dex: ClassVar[str] = "raydium-amm-v4"
    account_size: ClassVar[int | None] = AMM_INFO_LEN

    def __init__(self, address: Pubkey, info: AmmInfo) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._info = info
        self._pool_absent = False
        self._coin_amount: int | None = None
        self._pc_amount: int | None = None
        self._clock: Clock | None = None
        self._absent: set[Pubkey] = set()
        self._vault_names = (
            f"{self.dex} vault {info.coin_vault}",
            f"{self.dex} vault {info.pc_vault}",
        )
        self._status_error: QuoteError | None = self._status_problem()

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> AmmV4Pool:
        info = AmmInfo.decode(cls.pool_account_data(address, account))
        if info.coin_vault_mint == info.pc_vault_mint or info.coin_vault == info.pc_vault:
            raise DecodeError(f"{cls.dex} pool {address}: coin and pc name the same mint or vault")
        return cls(address, info)

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """AmmInfo accounts (752 bytes; the program has no discriminator) by coin or pc mint."""
        return AccountFilter.by_mint(
            mints, (COIN_MINT_OFFSET, PC_MINT_OFFSET), data_size=AMM_INFO_LEN
        )

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
        return AMM_AUTHORITY

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

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole.

        A key mapped to None (the chain has no such account) forgets what that
        account said; quotes then name it as missing.
        """
        info = self._info
        absent: list[Pubkey] = []
        new_info = None
        acc = accounts.get(self._address)
        if acc is not None:
            new_info = AmmInfo.decode(self.pool_account_data(self._address, acc))
            if (new_info.coin_vault, new_info.pc_vault) != (info.coin_vault, info.pc_vault) or (
                new_info.coin_vault_mint,
                new_info.pc_vault_mint,
            ) != self.mints:
                raise DecodeError(f"{self._tag}: mints or vaults changed")
        elif self._address in accounts:
            absent.append(self._address)
        amounts: list[int | None] = [None, None]
        for n, (key, mint) in enumerate(
            ((info.coin_vault, info.coin_vault_mint), (info.pc_vault, info.pc_vault_mint))
        ):
            acc = accounts.get(key)
            if acc is None:
                if key in accounts:
                    absent.append(key)
                continue
            name = self._vault_names[n]
            if acc.owner != TOKEN_PROGRAM_ID:
                raise DecodeError(f"{name}: owner {acc.owner} is not the token program")
            amounts[n] = vault_amount(acc, name, mint)
        new_clock = None
        acc = accounts.get(SYSVAR_CLOCK_ID)
        if acc is not None:
            new_clock = Clock.from_account(acc)
        elif SYSVAR_CLOCK_ID in accounts:
            absent.append(SYSVAR_CLOCK_ID)

        if new_info is not None:
            self._info = new_info
            self._pool_absent = False
        if amounts[0] is not None:
            self._coin_amount = amounts[0]
        if amounts[1] is not None:
            self._pc_amount = amounts[1]
        if new_clock is not None:
            self._clock = new_clock
        self._absent.difference_update(accounts)
        for key in absent:
            self._absent.add(key)
            if key == self._address:
                self._pool_absent = True
            elif key == info.coin_vault:
                self._coin_amount = None
            elif key == info.pc_vault:
                self._pc_amount = None
            elif key == SYSVAR_CLOCK_ID:
                self._clock = None
        self._status_error = self._status_problem()

    # -- quoting ------------------------------------------------------------------------------

    def reserves(self) -> tuple[int, int]:
        """``(coin, pc)`` as the program computes them; QuoteError if a vault is missing."""
        info = self._info
        if self._coin_amount is None:
            raise account_unavailable(self._tag, "coin vault", info.coin_vault, self._absent)
        if self._pc_amount is None:
            raise account_unavailable(self._tag, "pc vault", info.pc_vault, self._absent)
        coin = self._coin_amount - info.need_take_pnl_coin
        pc = self._pc_amount - info.need_take_pnl_pc
        if coin < 0 or pc < 0:
            raise QuoteError(f"{self._tag}: need_take_pnl exceeds a vault balance")
        return coin, pc

    def _status_problem(self) -> QuoteError | None:
        """Why the pool cannot swap now, or None; kept per update (it changes only there)."""
        info = self._info
        if self._pool_absent:
            return account_unavailable(self._tag, "pool account", self._address, self._absent)
        if info.orderbook_permission:
            return QuoteError(
                f"{self._tag}: status {info.status} shares liquidity with OpenBook "
                "(open-orders balances are not tracked)"
            )
        if not info.swap_permission:
            return QuoteError(f"{self._tag}: swaps are not allowed in status {info.status}")
        if info.swap_fee_denominator == 0:
            return QuoteError(f"{self._tag}: swap fee 0/0 (the program cannot divide by it)")
        if info.status == STATUS_WAITING_TRADE:
            if self._clock is None:
                return account_unavailable(
                    self._tag,
                    f"Clock sysvar (pool waits for open time {info.pool_open_time})",
                    SYSVAR_CLOCK_ID,
                    self._absent,
                )
            if self._clock.unix_timestamp < info.pool_open_time:
                return QuoteError(f"{self._tag}: not open before {info.pool_open_time}")
        return None

    def _check_status(self) -> None:
        problem = self._status_error
        if problem is not None:
            raise QuoteError(str(problem))

    def summary(self) -> PoolSummary | None:
        """Reserves less pending PnL, no active liquidity, the swap fee in ppm (rounded up)."""
        try:
            self._check_status()
            coin, pc = self.reserves()
        except QuoteError:
            return None
        info = self._info
        fee_ppm = ceil_div(info.swap_fee_numerator * PPM_DENOMINATOR, info.swap_fee_denominator)
        return PoolSummary(coin, pc, 0, fee_ppm)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        info = self._info
        if input_mint == info.coin_vault_mint:
            coin_in = True
        elif input_mint == info.pc_vault_mint:
            coin_in = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        if self._status_error is not None:
            raise QuoteError(str(self._status_error))
        coin, pc = self.reserves()
        r_in, r_out = (coin, pc) if coin_in else (pc, coin)
        if not 0 < amount <= U64_MAX:
            check_amount(amount, self._tag)  # raises, naming the amount
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
            AccountMeta(AMM_AUTHORITY, False, False),
            AccountMeta(info.coin_vault, False, True),
            AccountMeta(info.pc_vault, False, True),
            AccountMeta(params.user_source_token, False, True),
            AccountMeta(params.user_destination_token, False, True),
            AccountMeta(params.user, True, False),
        ]
        return SwapInstructions([Instruction(self.program_id, data, metas)])
