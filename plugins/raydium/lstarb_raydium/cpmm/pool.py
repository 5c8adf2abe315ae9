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

from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar, NamedTuple

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.cpmm.state import (
    AMM_CONFIG_DISCRIMINATOR,
    AMM_CONFIG_LEN,
    POOL_STATE_DISCRIMINATOR,
    POOL_STATE_LEN,
    AmmConfig,
    PoolState,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.amounts import PPM_DENOMINATOR, U64_MAX, ceil_div, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import account_data
from lstarb_sdk.pool import account_unavailable, updated_account
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, TOKEN_2022_PROGRAM_ID, Clock, vault_amount
from lstarb_sdk.token2022 import (
    TokenMint,
    TransferFee,
    amount_received,
    amount_to_send,
    refuse_transfer_hooks,
)
from lstarb_sdk.types import (
    AccountFilter,
    ComputeUnits,
    PoolSummary,
    Quote,
    SwapInstructions,
    SwapParams,
)

CPMM_PROGRAM_ID = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
AUTH_SEED = b"vault_and_lp_mint_auth_seed"
SWAP_BASE_INPUT_DISCRIMINATOR = bytes([143, 190, 90, 218, 196, 30, 51, 222])
SWAP_BASE_OUTPUT_DISCRIMINATOR = bytes([55, 217, 98, 86, 163, 74, 180, 173])
FEE_RATE_DENOMINATOR = PPM_DENOMINATOR
TOKEN_0_MINT_OFFSET = 168
TOKEN_1_MINT_OFFSET = 200

AUTHORITY = Pubkey.find_program_address([AUTH_SEED], CPMM_PROGRAM_ID)[0]


def _pre_fee(post: int, rate: int) -> int:
    """``Fees::calculate_pre_fee_amount``: smallest amount that leaves ``post`` after the fee."""
    if rate == 0:
        return post
    return ceil_div(post * FEE_RATE_DENOMINATOR, FEE_RATE_DENOMINATOR - rate)


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
        total = ceil_div(amount * rate, FEE_RATE_DENOMINATOR)
        creator_fee = total * creator_rate // rate if rate else 0
        trade_fee = total - creator_fee
        x = amount - total
    else:
        trade_fee = ceil_div(amount * trade_rate, FEE_RATE_DENOMINATOR)
        x = amount - trade_fee
        creator_fee = 0
    gross = x * r_out // (r_in + x)
    if creator_on_input:
        return gross, trade_fee, creator_fee
    creator_fee = ceil_div(gross * creator_rate, FEE_RATE_DENOMINATOR)
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
    swapped = ceil_div(r_in * vault_out, r_out - vault_out)
    if creator_on_input:
        rate = trade_rate + creator_rate
        with_fee = _pre_fee(swapped, rate)
        total = with_fee - swapped
        creator_fee = total * creator_rate // rate if rate else 0
        return with_fee, vault_out, total - creator_fee, creator_fee
    with_fee = _pre_fee(swapped, trade_rate)
    return with_fee, vault_out, with_fee - swapped, vault_out - amount_out


class _ExactIn(NamedTuple):
    """The terms of exact-in quotes on one state (SPL Token mints, every check passed)."""

    mint_0: Pubkey
    mint_1: Pubkey
    r0: int
    r1: int
    trade_rate: int
    creator_rate: int
    on_input_0: bool  # creator fee on the input, token 0 in
    on_input_1: bool  # the same, token 1 in


class CpmmPool(PoolAdapter):
    """A Raydium constant-product pool (program ``CPMMoo8L...``), SPL and Token-2022 mints."""

    program_id: ClassVar[Pubkey] = CPMM_PROGRAM_ID
    dex: ClassVar[str] = "raydium-cpmm"
    account_size: ClassVar[int | None] = POOL_STATE_LEN
    account_discriminator: ClassVar[bytes | None] = POOL_STATE_DISCRIMINATOR
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=45_219,
        measured_max=45_219,
        source=(
            "metaDAOproject/metaDAO@25a06e68:tests/fixtures/raydium_cp_swap.so (Feb 2025, "
            "before the creator-fee release) on the plugin's fixture: swap_base_input/output "
            "(tests/program_oracle/compute_units_cpmm.json)"
        ),
    )
    """Measured on the program (constant product: no crossings)."""

    def __init__(self, address: Pubkey, pool: PoolState) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._pool = pool
        self._pool_absent = False
        self._config: AmmConfig | None = None
        self._vault_amount: list[int | None] = [None, None]
        self._mint: list[TokenMint | None] = [None, None]
        self._clock: Clock | None = None
        self._absent: set[Pubkey] = set()
        self._exact_in: _ExactIn | bool | None = None  # see _exact_in_terms
        # Names for errors, built once (the pool's keys never change: update refuses it).
        self._config_name = f"{self.dex} amm_config {pool.amm_config}"
        self._vault_names = tuple(
            f"{self.dex} vault {key}" for key in (pool.token_0_vault, pool.token_1_vault)
        )

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> CpmmPool:
        state = PoolState.decode(cls.pool_account_data(address, account))
        state.validate_keys()  # refreshes must keep these keys, so checking once suffices
        return cls(address, state)

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """PoolState accounts (size and discriminator) with the mint as token 0 or token 1."""
        return AccountFilter.by_mint(
            mints,
            (TOKEN_0_MINT_OFFSET, TOKEN_1_MINT_OFFSET),
            data_size=POOL_STATE_LEN,
            discriminator=POOL_STATE_DISCRIMINATOR,
        )

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
        if any(m is not None and m.needs_clock for m in self._mint):
            return True
        return self._clock is None or self._clock.unix_timestamp < self._pool.open_time

    def accounts_to_update(self) -> list[Pubkey]:
        p = self._pool
        keys = [self._address, p.amm_config, p.token_0_vault, p.token_1_vault]
        keys.extend(m for i, m in enumerate(self.mints) if self._is_2022(i))
        if self._needs_clock():
            keys.append(SYSVAR_CLOCK_ID)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole.

        A key mapped to None (the chain has no such account) forgets what that
        account said; quotes then name it as missing.
        """
        absent: list[Pubkey] = []
        new_pool = None
        acc = accounts.get(self._address)
        if acc is not None:
            new_pool = PoolState.decode(self.pool_account_data(self._address, acc))
            if new_pool.keys() != self._pool.keys():
                raise DecodeError(f"{self._tag}: mints, vaults or configs changed")
        elif self._address in accounts:
            absent.append(self._address)
        p = new_pool or self._pool
        new_config = None
        acc = updated_account(accounts, p.amm_config, absent)
        if acc is not None:
            data = account_data(
                acc,
                self._config_name,
                owner=self.program_id,
                size=AMM_CONFIG_LEN,
                discriminator=AMM_CONFIG_DISCRIMINATOR,
            )
            new_config = AmmConfig.decode(data)
        programs = (p.token_0_program, p.token_1_program)
        mints = (p.token_0_mint, p.token_1_mint)
        vaults: list[tuple[int, int]] = []
        for i, key in enumerate((p.token_0_vault, p.token_1_vault)):
            acc = updated_account(accounts, key, absent)
            if acc is None:
                continue
            name = self._vault_names[i]
            if acc.owner != programs[i]:
                raise DecodeError(f"{name}: owner {acc.owner} is not {programs[i]}")
            vaults.append((i, vault_amount(acc, name, mints[i])))
        new_mints: list[tuple[int, TokenMint]] = []
        for i, key in enumerate(mints):
            if programs[i] != TOKEN_2022_PROGRAM_ID:
                continue  # an SPL Token mint has nothing a quote reads
            acc = updated_account(accounts, key, absent)
            if acc is None:
                continue
            mint = TokenMint.from_account(key, acc, self._mint[i])
            if mint.program != programs[i]:
                raise DecodeError(
                    f"{self.dex} mint {key}: owner {mint.program} is not {programs[i]}"
                )
            new_mints.append((i, mint))
        acc = updated_account(accounts, SYSVAR_CLOCK_ID, absent)
        new_clock = None if acc is None else Clock.from_account(acc)

        # commit
        if new_pool is not None:
            self._pool = new_pool
            self._pool_absent = False
        if new_config is not None:
            self._config = new_config
        for i, amount in vaults:
            self._vault_amount[i] = amount
        for i, mint in new_mints:
            self._mint[i] = mint
        if new_clock is not None:
            self._clock = new_clock
        self._absent.difference_update(accounts)
        for key in absent:
            self._forget(key)
        self._exact_in = None

    def _forget(self, key: Pubkey) -> None:
        """The chain has no account ``key``: drop what it said."""
        self._absent.add(key)
        self._exact_in = None
        p = self._pool
        if key == self._address:
            self._pool_absent = True
        if key == p.amm_config:
            self._config = None
        if key == SYSVAR_CLOCK_ID:
            self._clock = None
        for i, (vault, mint) in enumerate(
            ((p.token_0_vault, p.token_0_mint), (p.token_1_vault, p.token_1_mint))
        ):
            if key == vault:
                self._vault_amount[i] = None
            if key == mint:
                self._mint[i] = None

    # -- quoting ------------------------------------------------------------------------------

    def reserves(self) -> tuple[int, int]:
        """``vault_amount_without_fee``: what the curve sees of each token."""
        p = self._pool
        v0, v1 = self._vault_amount
        if v0 is None:
            raise account_unavailable(self._tag, "vault", p.token_0_vault, self._absent)
        if v1 is None:
            raise account_unavailable(self._tag, "vault", p.token_1_vault, self._absent)
        r0 = v0 - p.protocol_fees_token_0 - p.fund_fees_token_0 - p.creator_fees_token_0
        r1 = v1 - p.protocol_fees_token_1 - p.fund_fees_token_1 - p.creator_fees_token_1
        if r0 < 0 or r1 < 0:
            raise QuoteError(f"{self._tag}: owed fees exceed a vault balance")
        return r0, r1

    def _transfer_fee(self, i: int) -> TransferFee | None:
        if not self._is_2022(i):
            return None
        mint = self._mint[i]
        if mint is None:
            raise account_unavailable(self._tag, "Token-2022 mint", self.mints[i], self._absent)
        return mint.transfer_fee_at(self._clock, self._tag)

    def _ready(self) -> AmmConfig:
        p = self._pool
        if self._pool_absent:
            raise account_unavailable(self._tag, "pool account", self._address, self._absent)
        if self._config is None:
            raise account_unavailable(self._tag, "amm_config", p.amm_config, self._absent)
        if p.swap_disabled:
            raise QuoteError(f"{self._tag}: swaps are disabled (status {p.status})")
        if self._clock is not None and self._clock.unix_timestamp < p.open_time:
            raise QuoteError(f"{self._tag}: not open before {p.open_time}")
        return self._config

    def summary(self) -> PoolSummary | None:
        """Curve reserves (owed fees excluded), no active liquidity, trade (+ creator) fee."""
        try:
            config = self._ready()
            r0, r1 = self.reserves()
            self._transfer_fee(0)
            self._transfer_fee(1)
        except QuoteError:
            return None
        creator = config.creator_fee_rate if self._pool.enable_creator_fee else 0
        return PoolSummary(r0, r1, 0, config.trade_fee_rate + creator)

    def _exact_in_terms(self) -> _ExactIn | bool:
        """What an exact-in quote reads of this state, worked out once per update.

        Strategies quote the same state dozens of times between two updates; the
        checks and the reserves do not change in between. Only a state where every
        check passes and neither mint is Token-2022 (no transfer fee, no clock
        dependence of it) takes this path: False sends every quote through
        :meth:`quote`'s full sequence, which names whatever is wrong.
        """
        p = self._pool
        try:
            config = self._ready()
            r0, r1 = self.reserves()
        except QuoteError:
            return False
        if self._is_2022(0) or self._is_2022(1):
            return False
        creator_rate = config.creator_fee_rate if p.enable_creator_fee else 0
        trade_rate = config.trade_fee_rate
        if trade_rate + creator_rate >= FEE_RATE_DENOMINATOR:
            return False
        return _ExactIn(
            p.token_0_mint,
            p.token_1_mint,
            r0,
            r1,
            trade_rate,
            creator_rate,
            p.creator_fee_on_input(True),
            p.creator_fee_on_input(False),
        )

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        terms = self._exact_in
        if terms is None:
            terms = self._exact_in = self._exact_in_terms()
        if exact_in and terms and 0 < amount <= U64_MAX:
            assert isinstance(terms, _ExactIn)
            if input_mint == terms.mint_0:
                r_in, r_out, on_input = terms.r0, terms.r1, terms.on_input_0
            elif input_mint == terms.mint_1:
                r_in, r_out, on_input = terms.r1, terms.r0, terms.on_input_1
            else:
                return self._quote(amount, input_mint, exact_in)
            if terms.creator_rate:
                out, fee, creator_fee = swap_base_input(
                    amount, r_in, r_out, terms.trade_rate, terms.creator_rate, on_input
                )
                if on_input:
                    fee += creator_fee
            else:  # swap_base_input without a creator fee, inline
                fee = -(-amount * terms.trade_rate // FEE_RATE_DENOMINATOR)
                x = amount - fee
                out = x * r_out // (r_in + x)
            if out <= 0:
                raise QuoteError(f"{self._tag}: too small input (output is 0)")
            return Quote(amount, out, fee, input_mint)
        return self._quote(amount, input_mint, exact_in)

    def _quote(self, amount: int, input_mint: Pubkey, exact_in: bool) -> Quote:
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
            check_amount(amount, self._tag)  # raises, naming the amount
        creator_rate = config.creator_fee_rate if p.enable_creator_fee else 0
        on_input = p.creator_fee_on_input(zero_for_one)
        trade_rate = config.trade_fee_rate
        if trade_rate + creator_rate >= FEE_RATE_DENOMINATOR:
            raise QuoteError(f"{self._tag}: fee rates reach 100%")
        if exact_in:
            actual_in = amount_received(amount, fee_in)
            if actual_in <= 0:
                raise QuoteError(f"{self._tag}: input is all transfer fee")
            out, trade_fee, creator_fee = swap_base_input(
                actual_in, r_in, r_out, trade_rate, creator_rate, on_input
            )
            received = amount_received(out, fee_out)
            if received <= 0:
                raise QuoteError(f"{self._tag}: too small input (output is 0)")
            fee = trade_fee + (creator_fee if on_input else 0)
            return Quote(amount, received, fee, input_mint)
        wanted = amount_to_send(amount, fee_out)
        if wanted > U64_MAX:
            raise QuoteError(f"{self._tag}: output plus transfer fee exceeds u64")
        swap_in, vault_out, trade_fee, creator_fee = swap_base_output(
            wanted, r_in, r_out, trade_rate, creator_rate, on_input
        )
        if vault_out >= r_out:
            raise QuoteError(
                f"{self._tag}: not enough liquidity (reserve {r_out}, asked {vault_out})"
            )
        total_in = amount_to_send(swap_in, fee_in)
        if total_in > U64_MAX:
            raise QuoteError(f"{self._tag}: input exceeds u64")
        fee = trade_fee + (creator_fee if on_input else 0)
        return Quote(total_in, amount, fee, input_mint)

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``swap_base_input`` or ``swap_base_output`` with the IDL's 13 accounts.

        ``other_amount_threshold`` is the minimum out (exact in) or maximum in.
        A mint with a transfer hook is refused: the hook's extra accounts are
        not passed.
        """
        p = self._pool
        if params.input_mint == p.token_0_mint:
            i_in, i_out = 0, 1
        elif params.input_mint == p.token_1_mint:
            i_in, i_out = 1, 0
        else:
            raise QuoteError(f"{self._tag}: mint {params.input_mint} is not one of its mints")
        self._ready()
        refuse_transfer_hooks(self._tag, self._mint)
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
