"""The Raydium CPMM pool adapter: reserves, fees, Token-2022 transfer fees, swap instructions.

Quotes follow ``swap_base_input`` / ``swap_base_output`` of raydium_cp_swap and
its ``CurveCalculator``:

* reserves: vault amount minus the protocol, fund and creator fees the pool
  still owes (``vault_amount_without_fee``);
* trade fee ``ceil(x * trade_fee_rate / 1e6)`` on the input; protocol and fund
  shares are carved out of it (they stay out of the reserves afterwards);
* the creator fee applies only when ``enable_creator_fee`` is set (the program's
  ``adjust_creator_fee_rate``), on the input or the output token as
  ``creator_fee_on`` and the direction say;
* a Token-2022 input mint's transfer fee is taken off before the curve, an output
  mint's fee off what the vault pays; exact output adds the inverse fees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.cpmm.state import (
    AMM_CONFIG_LEN,
    POOL_STATE_DISCRIMINATOR,
    POOL_STATE_LEN,
    AmmConfig,
    PoolState,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import (
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAMS,
    Clock,
    TokenAccount,
)
from lstarb_sdk.token2022 import TransferFee, TransferFeeConfig, transfer_fee_config
from lstarb_sdk.types import Quote, SwapInstructions, SwapParams

CPMM_PROGRAM_ID = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
AUTH_SEED = b"vault_and_lp_mint_auth_seed"
SWAP_BASE_INPUT_DISCRIMINATOR = bytes([143, 190, 90, 218, 196, 30, 51, 222])
SWAP_BASE_OUTPUT_DISCRIMINATOR = bytes([55, 217, 98, 86, 163, 74, 180, 173])
FEE_RATE_DENOMINATOR = 1_000_000
MAX_FEE_BASIS_POINTS = 10_000
U64_MAX = (1 << 64) - 1

AUTHORITY = Pubkey.find_program_address([AUTH_SEED], CPMM_PROGRAM_ID)[0]


def _pre_fee(post: int, rate: int) -> int:
    """``Fees::calculate_pre_fee_amount``: smallest amount that leaves ``post`` after the fee."""
    if rate == 0:
        return post
    return -(-post * FEE_RATE_DENOMINATOR // (FEE_RATE_DENOMINATOR - rate))


def _inverse_fee(fee: TransferFee, post_fee_amount: int) -> int:
    """Raydium's ``get_transfer_inverse_fee``: the maximum fee outright at 100%."""
    if fee.basis_points == MAX_FEE_BASIS_POINTS:
        return fee.maximum_fee
    return fee.inverse_fee(post_fee_amount)


def swap_base_input(
    amount: int,
    r_in: int,
    r_out: int,
    trade_rate: int,
    creator_rate: int,
    creator_on_input: bool,
) -> tuple[int, int, int]:
    """``(amount_out, trade_fee, creator_fee)`` of ``CurveCalculator::swap_base_input``."""
    if creator_on_input:
        rate = trade_rate + creator_rate
        total = -(-amount * rate // FEE_RATE_DENOMINATOR)
        creator_fee = total * creator_rate // rate if rate else 0
        trade_fee = total - creator_fee
        x = amount - total
    else:
        trade_fee = -(-amount * trade_rate // FEE_RATE_DENOMINATOR)
        x = amount - trade_fee
        creator_fee = 0
    gross = x * r_out // (r_in + x)
    if creator_on_input:
        return gross, trade_fee, creator_fee
    creator_fee = -(-gross * creator_rate // FEE_RATE_DENOMINATOR)
    return gross - creator_fee, trade_fee, creator_fee


def swap_base_output(
    amount_out: int,
    r_in: int,
    r_out: int,
    trade_rate: int,
    creator_rate: int,
    creator_on_input: bool,
) -> tuple[int, int, int, int]:
    """``(amount_in, vault_out, trade_fee, creator_fee)`` of ``swap_base_output``.

    ``vault_out`` is what leaves the output vault (``amount_out`` plus an output
    creator fee); None of the checks: the caller makes sure ``vault_out < r_out``.
    """
    vault_out = amount_out if creator_on_input else _pre_fee(amount_out, creator_rate)
    if vault_out >= r_out:
        return 0, vault_out, 0, 0
    swapped = -(-r_in * vault_out // (r_out - vault_out))
    if creator_on_input:
        rate = trade_rate + creator_rate
        with_fee = _pre_fee(swapped, rate)
        total = with_fee - swapped
        creator_fee = total * creator_rate // rate if rate else 0
        return with_fee, vault_out, total - creator_fee, creator_fee
    with_fee = _pre_fee(swapped, trade_rate)
    return with_fee, vault_out, with_fee - swapped, vault_out - amount_out


class CpmmPool(PoolAdapter):
    """A Raydium constant-product pool (program ``CPMMoo8L...``), SPL and Token-2022 mints."""

    program_id: ClassVar[Pubkey] = CPMM_PROGRAM_ID
    dex: ClassVar[str] = "raydium-cpmm"

    def __init__(self, address: Pubkey, pool: PoolState) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._pool = pool
        self._config: AmmConfig | None = None
        self._vault_amount: list[int | None] = [None, None]
        self._mint_fee: list[TransferFeeConfig | None] = [None, None]
        self._mint_loaded = [False, False]
        self._clock: Clock | None = None

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def matches(cls, account: Account) -> bool:
        data = account.data
        return (
            account.owner == cls.program_id
            and len(data) == POOL_STATE_LEN
            and data[:8] == POOL_STATE_DISCRIMINATOR
        )

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> CpmmPool:
        if account.owner != cls.program_id:
            raise DecodeError(
                f"raydium cpmm pool {address}: owner {account.owner} is not {cls.program_id}"
            )
        return cls(address, PoolState.decode(account.data))

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._pool.token_0_mint, self._pool.token_1_mint

    @property
    def pool_state(self) -> PoolState:
        return self._pool

    @property
    def amm_config(self) -> AmmConfig | None:
        return self._config

    def _is_2022(self, i: int) -> bool:
        p = self._pool
        return (p.token_0_program, p.token_1_program)[i] == TOKEN_2022_PROGRAM_ID

    def _needs_clock(self) -> bool:
        if any(cfg is not None and cfg.older != cfg.newer for cfg in self._mint_fee):
            return True
        return self._clock is None or self._clock.unix_timestamp < self._pool.open_time

    def accounts_to_update(self) -> list[Pubkey]:
        p = self._pool
        keys = [self._address, p.amm_config, p.token_0_vault, p.token_1_vault]
        keys.extend(m for i, m in enumerate(self.mints) if self._is_2022(i))
        if self._needs_clock():
            keys.append(SYSVAR_CLOCK_ID)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole."""
        new_pool = None
        acc = accounts.get(self._address)
        if acc is not None:
            if acc.owner != self.program_id:
                raise DecodeError(f"{self._tag}: owner {acc.owner} is not {self.program_id}")
            new_pool = PoolState.decode(acc.data)
            if (new_pool.token_0_mint, new_pool.token_1_mint) != self.mints:
                raise DecodeError(f"{self._tag}: mints changed")
        p = new_pool or self._pool
        new_config = None
        acc = accounts.get(p.amm_config)
        if acc is not None:
            if acc.owner != self.program_id:
                raise DecodeError(
                    f"{self.dex} amm_config {p.amm_config}: owner {acc.owner} is not "
                    f"{self.program_id}"
                )
            if len(acc.data) != AMM_CONFIG_LEN:
                raise DecodeError(
                    f"{self.dex} amm_config {p.amm_config}: expected {AMM_CONFIG_LEN} bytes, "
                    f"got {len(acc.data)}"
                )
            new_config = AmmConfig.decode(acc.data)
        vaults: list[tuple[int, int]] = []
        programs = (p.token_0_program, p.token_1_program)
        mints = (p.token_0_mint, p.token_1_mint)
        for i, key in enumerate((p.token_0_vault, p.token_1_vault)):
            acc = accounts.get(key)
            if acc is None:
                continue
            if acc.owner != programs[i]:
                raise DecodeError(f"{self.dex} vault {key}: owner {acc.owner} is not {programs[i]}")
            tok = TokenAccount.decode(acc.data, name=f"{self.dex} vault {key}")
            if tok.mint != mints[i]:
                raise DecodeError(f"{self.dex} vault {key}: mint {tok.mint} is not {mints[i]}")
            vaults.append((i, tok.amount))
        fees: list[tuple[int, TransferFeeConfig | None]] = []
        for i, key in enumerate(mints):
            acc = accounts.get(key)
            if acc is None:
                continue
            if acc.owner not in TOKEN_PROGRAMS or acc.owner != programs[i]:
                raise DecodeError(f"{self.dex} mint {key}: owner {acc.owner} is not {programs[i]}")
            cfg = None
            if acc.owner == TOKEN_2022_PROGRAM_ID:
                cfg = transfer_fee_config(acc.data, name=f"{self.dex} mint {key}")
            fees.append((i, cfg))
        new_clock = None
        acc = accounts.get(SYSVAR_CLOCK_ID)
        if acc is not None:
            new_clock = Clock.decode(acc.data)

        if new_pool is not None:
            self._pool = new_pool
        if new_config is not None:
            self._config = new_config
        for i, amount in vaults:
            self._vault_amount[i] = amount
        for i, cfg in fees:
            self._mint_fee[i] = cfg
            self._mint_loaded[i] = True
        if new_clock is not None:
            self._clock = new_clock

    # -- quoting ------------------------------------------------------------------------------

    def reserves(self) -> tuple[int, int]:
        """``vault_amount_without_fee``: what the curve sees of each token."""
        p = self._pool
        v0, v1 = self._vault_amount
        if v0 is None:
            raise QuoteError(f"{self._tag}: vault {p.token_0_vault} is not loaded")
        if v1 is None:
            raise QuoteError(f"{self._tag}: vault {p.token_1_vault} is not loaded")
        r0 = v0 - p.protocol_fees_token_0 - p.fund_fees_token_0 - p.creator_fees_token_0
        r1 = v1 - p.protocol_fees_token_1 - p.fund_fees_token_1 - p.creator_fees_token_1
        if r0 < 0 or r1 < 0:
            raise QuoteError(f"{self._tag}: owed fees exceed a vault balance")
        return r0, r1

    def _transfer_fee(self, i: int) -> TransferFee | None:
        if self._is_2022(i) and not self._mint_loaded[i]:
            raise QuoteError(f"{self._tag}: Token-2022 mint {self.mints[i]} is not loaded")
        cfg = self._mint_fee[i]
        if cfg is None:
            return None
        if self._clock is None:
            if cfg.older == cfg.newer:
                return cfg.newer
            raise QuoteError(
                f"{self._tag}: Clock sysvar {SYSVAR_CLOCK_ID} is not loaded "
                f"(mint {self.mints[i]} has an epoch-dependent transfer fee)"
            )
        return cfg.for_epoch(self._clock.epoch)

    def _ready(self) -> AmmConfig:
        p = self._pool
        if self._config is None:
            raise QuoteError(f"{self._tag}: amm_config {p.amm_config} is not loaded")
        if p.swap_disabled:
            raise QuoteError(f"{self._tag}: swaps are disabled (status {p.status})")
        if self._clock is not None and self._clock.unix_timestamp < p.open_time:
            raise QuoteError(f"{self._tag}: not open before {p.open_time}")
        return self._config

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        p = self._pool
        if input_mint == p.token_0_mint:
            zero_for_one = True
        elif input_mint == p.token_1_mint:
            zero_for_one = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        config = self._ready()
        r0, r1 = self.reserves()
        i_in, i_out = (0, 1) if zero_for_one else (1, 0)
        r_in, r_out = (r0, r1) if zero_for_one else (r1, r0)
        fee_in = self._transfer_fee(i_in)
        fee_out = self._transfer_fee(i_out)
        if not 0 < amount <= U64_MAX:
            raise QuoteError(f"{self._tag}: amount {amount} outside 1..u64::MAX")
        creator_rate = config.creator_fee_rate if p.enable_creator_fee else 0
        on_input = p.creator_fee_on_input(zero_for_one)
        trade_rate = config.trade_fee_rate
        if trade_rate + creator_rate >= FEE_RATE_DENOMINATOR:
            raise QuoteError(f"{self._tag}: fee rates reach 100%")
        if exact_in:
            actual_in = amount - (fee_in.fee(amount) if fee_in else 0)
            if actual_in <= 0:
                raise QuoteError(f"{self._tag}: input is all transfer fee")
            out, trade_fee, creator_fee = swap_base_input(
                actual_in, r_in, r_out, trade_rate, creator_rate, on_input
            )
            received = out - (fee_out.fee(out) if fee_out else 0)
            if received <= 0:
                raise QuoteError(f"{self._tag}: too small input (output is 0)")
            fee = trade_fee + (creator_fee if on_input else 0)
            return Quote(amount, received, fee, input_mint)
        wanted = amount + (_inverse_fee(fee_out, amount) if fee_out else 0)
        if wanted > U64_MAX:
            raise QuoteError(f"{self._tag}: output plus transfer fee exceeds u64")
        swap_in, vault_out, trade_fee, creator_fee = swap_base_output(
            wanted, r_in, r_out, trade_rate, creator_rate, on_input
        )
        if vault_out >= r_out:
            raise QuoteError(
                f"{self._tag}: not enough liquidity (reserve {r_out}, asked {vault_out})"
            )
        total_in = swap_in + (_inverse_fee(fee_in, swap_in) if fee_in else 0)
        if total_in > U64_MAX:
            raise QuoteError(f"{self._tag}: input exceeds u64")
        fee = trade_fee + (creator_fee if on_input else 0)
        return Quote(total_in, amount, fee, input_mint)

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``swap_base_input`` or ``swap_base_output`` with the IDL's 13 accounts.

        ``other_amount_threshold`` is the minimum out (exact in) or maximum in.
        """
        p = self._pool
        if params.input_mint == p.token_0_mint:
            i_in, i_out = 0, 1
        elif params.input_mint == p.token_1_mint:
            i_in, i_out = 1, 0
        else:
            raise QuoteError(f"{self._tag}: mint {params.input_mint} is not one of its mints")
        if self._config is None:
            raise QuoteError(f"{self._tag}: amm_config {p.amm_config} is not loaded")
        vaults = (p.token_0_vault, p.token_1_vault)
        programs = (p.token_0_program, p.token_1_program)
        mints = (p.token_0_mint, p.token_1_mint)
        metas = [
            AccountMeta(params.user, True, False),
            AccountMeta(AUTHORITY, False, False),
            AccountMeta(p.amm_config, False, False),
            AccountMeta(self._address, False, True),
            AccountMeta(params.user_source_token, False, True),
            AccountMeta(params.user_destination_token, False, True),
            AccountMeta(vaults[i_in], False, True),
            AccountMeta(vaults[i_out], False, True),
            AccountMeta(programs[i_in], False, False),
            AccountMeta(programs[i_out], False, False),
            AccountMeta(mints[i_in], False, False),
            AccountMeta(mints[i_out], False, False),
            AccountMeta(p.observation_key, False, True),
        ]
        amount = params.amount.to_bytes(8, "little")
        threshold = params.other_amount_threshold.to_bytes(8, "little")
        if params.exact_in:  # (amount_in, minimum_amount_out)
            data = SWAP_BASE_INPUT_DISCRIMINATOR + amount + threshold
        else:  # (max_amount_in, amount_out)
            data = SWAP_BASE_OUTPUT_DISCRIMINATOR + threshold + amount
        return SwapInstructions([Instruction(self.program_id, data, metas)])
