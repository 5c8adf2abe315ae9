"""The PumpSwap (pump_amm) pool adapter: state it follows, quotes, swap instructions.

A PumpSwap pool is a constant-product pool priced on its two vault balances
(plus ``virtual_quote_reserves`` on the quote side). Every trade pays an LP, a
protocol and, when the pool has a coin creator, a creator fee, all in the
quote mint; the rates come from the fee program's FeeConfig (flat, or by
market cap for canonical pump pools). The rates depend on the pre-trade
reserves only, so they are computed once per update and a quote is a handful
of integer operations.

Directions: quote -> base is a *buy*, base -> quote a *sell*. Exact-in buys
use ``buy_exact_quote_in`` and exact-out buys ``buy``; sells are ``sell``
(the program has no exact-out sell: the adapter sends the input its quote
computed and asks for at least the requested output).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_pumpswap import instructions as ix
from lstarb_pumpswap.constants import (
    DEFAULT_PUBKEY,
    FEE_CONFIG,
    GLOBAL_CONFIG,
    PUMP_AMM_PROGRAM_ID,
    PUMP_FEE_PROGRAM_ID,
    pump_pool_authority,
)
from lstarb_pumpswap.state import (
    BASE_MINT_OFFSET,
    POOL_DISCRIMINATOR,
    POOL_MIN_SIZE,
    QUOTE_MINT_OFFSET,
    FeeConfig,
    Fees,
    GlobalConfig,
    Pool,
)
from lstarb_pumpswap.swap_math import (
    SwapMathError,
    buy_base_input,
    buy_quote_input,
    fee_rates,
    sell_base_input,
    sell_quote_input,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.amounts import U64_MAX, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import account_data
from lstarb_sdk.pool import account_unavailable
from lstarb_sdk.solana import TOKEN_2022_PROGRAM_ID, vault_amount
from lstarb_sdk.token2022 import TokenMint, refuse_transfer_hooks
from lstarb_sdk.types import AccountFilter, PoolSummary, Quote, SwapInstructions, SwapParams

#: Pools shorter than this get an ``extend_account`` before the swap, as in the SDK.
POOL_ACCOUNT_NEW_SIZE = 300
#: How many gross amounts above the SDK's ``sellQuoteInput`` answer an exact-out sell tries.
_SELL_EXACT_OUT_STEPS = 16


_GLOBAL_CONFIG_NAME = f"pumpswap global_config {GLOBAL_CONFIG}"
_FEE_CONFIG_NAME = f"pumpswap fee_config {FEE_CONFIG}"


def _check_not_shorter(what: str, length: int, previous: int) -> None:
    if length < previous:
        raise DecodeError(
            f"{what}: {length} bytes, shorter than the {previous} it had (accounts only grow)"
        )


class PumpSwapPool(PoolAdapter):
    """One PumpSwap pool (program ``pAMMBay6...``), quoted exactly as the official SDK."""

    program_id: ClassVar[Pubkey] = PUMP_AMM_PROGRAM_ID
    dex: ClassVar[str] = "pumpswap"
    account_min_size: ClassVar[int | None] = POOL_MIN_SIZE
    account_discriminator: ClassVar[bytes | None] = POOL_DISCRIMINATOR

    def __init__(
        self, address: Pubkey, pool: Pool, account_len: int = POOL_ACCOUNT_NEW_SIZE
    ) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._pool = pool
        self._pool_absent = False
        self._account_len = account_len
        self._global: GlobalConfig | None = None
        self._fee_config: FeeConfig | None = None
        self._global_raw = b""
        self._fee_raw = b""
        self._base_amount: int | None = None
        self._quote_amount: int | None = None
        self._base_program: Pubkey | None = None
        self._quote_program: Pubkey | None = None
        self._mint: list[TokenMint | None] = [None, None]
        self._fee_mint = False  # a mint charges a Token-2022 transfer fee (kept per update)
        self._rates: Fees | None = None
        self._absent: set[Pubkey] = set()
        self._vault_names = tuple(
            f"{self.dex} vault {key}"
            for key in (pool.pool_base_token_account, pool.pool_quote_token_account)
        )
        self._recipient_seq = 0
        self._set_pool(pool)

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> PumpSwapPool:
        data = cls.pool_account_data(address, account)
        return cls(address, Pool.decode(data), len(data))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """Pool accounts (discriminator) with the mint as base or quote mint.

        No data size: pools written before a field was appended are shorter
        (211 to 300 bytes), and all of them trade.
        """
        return AccountFilter.by_mint(
            mints, (BASE_MINT_OFFSET, QUOTE_MINT_OFFSET), discriminator=POOL_DISCRIMINATOR
        )

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._pool.base_mint, self._pool.quote_mint

    @property
    def pool_state(self) -> Pool:
        return self._pool

    @property
    def global_config(self) -> GlobalConfig | None:
        return self._global

    @property
    def fee_config(self) -> FeeConfig | None:
        return self._fee_config

    @property
    def fee_rates(self) -> Fees | None:
        """The rates the next trade pays (None until every account they need is loaded)."""
        return self._rates

    @property
    def reserves(self) -> tuple[int | None, int | None]:
        """(base vault amount, quote vault amount) as last loaded."""
        return self._base_amount, self._quote_amount

    def _set_pool(self, pool: Pool) -> None:
        self._pool = pool
        self._has_creator = pool.coin_creator != DEFAULT_PUBKEY
        self._is_pump_pool = pool.creator == pump_pool_authority(pool.base_mint)

    def accounts_to_update(self) -> list[Pubkey]:
        pool = self._pool
        keys = [
            self._address,
            pool.pool_base_token_account,
            pool.pool_quote_token_account,
            GLOBAL_CONFIG,
            FEE_CONFIG,
            pool.base_mint,
        ]
        if self._quote_program is None or self._quote_program == TOKEN_2022_PROGRAM_ID:
            keys.append(pool.quote_mint)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole.

        A key mapped to None (the chain has no such account) forgets what that
        account said; quotes then name it as missing. The pool and the two
        configs only ever grow (older layouts are extended, never cut), so a
        shorter copy of one is refused rather than read with its tail missing.
        """
        pool = self._pool
        absent: list[Pubkey] = []
        new_pool = None
        new_len = self._account_len
        acc = accounts.get(self._address)
        if acc is not None:
            data = self.pool_account_data(self._address, acc)
            _check_not_shorter(f"{self._tag}", len(data), self._account_len)
            new_pool = Pool.decode(data, pool)
            new_len = len(data)
            if new_pool.key_bytes != pool.key_bytes:
                raise DecodeError(f"{self._tag}: mints, vaults or creator changed")
        elif self._address in accounts:
            absent.append(self._address)
        p = new_pool or pool
        # The two configs are shared by every pool and rarely change: identical
        # bytes keep the decoded object (a 4 KB compare is far cheaper than a decode).
        new_global = None
        acc = accounts.get(GLOBAL_CONFIG)
        if acc is not None:
            what = _GLOBAL_CONFIG_NAME
            data = account_data(acc, what, owner=self.program_id)
            if data != self._global_raw:
                _check_not_shorter(what, len(data), len(self._global_raw))
                new_global = (GlobalConfig.decode(data), data)
        elif GLOBAL_CONFIG in accounts:
            absent.append(GLOBAL_CONFIG)
        new_fee = None
        acc = accounts.get(FEE_CONFIG)
        if acc is not None:
            what = _FEE_CONFIG_NAME
            data = account_data(acc, what, owner=PUMP_FEE_PROGRAM_ID)
            if data != self._fee_raw:
                _check_not_shorter(what, len(data), len(self._fee_raw))
                new_fee = (FeeConfig.decode(data), data)
        elif FEE_CONFIG in accounts:
            absent.append(FEE_CONFIG)
        vaults: list[tuple[int, int, Pubkey]] = []
        for i, (key, mint) in enumerate(
            ((p.pool_base_token_account, p.base_mint), (p.pool_quote_token_account, p.quote_mint))
        ):
            acc = accounts.get(key)
            if acc is None:
                if key in accounts:
                    absent.append(key)
                continue
            vaults.append((i, vault_amount(acc, self._vault_names[i], mint), acc.owner))
        new_mints: list[tuple[int, TokenMint]] = []
        for i, key in enumerate((p.base_mint, p.quote_mint)):
            acc = accounts.get(key)
            if acc is None:
                if key in accounts:
                    absent.append(key)
                continue
            new_mints.append((i, TokenMint.from_account(key, acc, self._mint[i])))

        if new_pool is not None:
            self._set_pool(new_pool)
            self._account_len = new_len
            self._pool_absent = False
        if new_global is not None:
            self._global, self._global_raw = new_global
        if new_fee is not None:
            self._fee_config, self._fee_raw = new_fee
        for i, amount, program in vaults:
            if i == 0:
                self._base_amount, self._base_program = amount, program
            else:
                self._quote_amount, self._quote_program = amount, program
        for i, mint in new_mints:
            self._mint[i] = mint
        self._absent.difference_update(accounts)
        for key in absent:
            self._forget(key)
        self._fee_mint = any(m is not None and m.charges_transfer_fee for m in self._mint)
        self._refresh_rates()

    def _forget(self, key: Pubkey) -> None:
        """The chain has no account ``key``: drop what it said."""
        self._absent.add(key)
        pool = self._pool
        if key == self._address:
            self._pool_absent = True
        elif key == GLOBAL_CONFIG:
            self._global, self._global_raw = None, b""
        elif key == FEE_CONFIG:
            self._fee_config, self._fee_raw = None, b""
        elif key == pool.pool_base_token_account:
            self._base_amount = self._base_program = None
        elif key == pool.pool_quote_token_account:
            self._quote_amount = self._quote_program = None
        if key == pool.base_mint:
            self._mint[0] = None
        if key == pool.quote_mint:
            self._mint[1] = None

    def _refresh_rates(self) -> None:
        """Recompute the fee rates (they depend on the pre-trade reserves only)."""
        self._rates = None
        g, b, q, base_mint = self._global, self._base_amount, self._quote_amount, self._mint[0]
        if g is None or self._fee_config is None or b is None or q is None or base_mint is None:
            return
        if self._pool_absent:
            return
        pool = self._pool
        try:
            self._rates = fee_rates(
                g,
                self._fee_config,
                is_pump_pool=self._is_pump_pool,
                quote_mint=pool.quote_mint,
                supply=base_mint.supply,
                base_reserve=b,
                effective_quote_reserve=q + pool.virtual_quote_reserves,
                is_mayhem_mode=pool.is_mayhem_mode,
                pool_creator_fee_bps=pool.creator_fee_bps,
            )
        except SwapMathError:
            self._rates = None  # empty vault or empty tier list: _ready() names the cause

    # -- quoting ------------------------------------------------------------------------------

    def _ready(self, is_buy: bool) -> Fees:
        """The fee rates, or QuoteError naming what is missing or why trading is off."""
        rates = self._rates
        if rates is not None and not self._fee_mint:
            g = self._global
            assert g is not None
            if is_buy and g.buy_disabled:
                raise QuoteError(
                    f"{self._tag}: buys are disabled (disable_flags {g.disable_flags})"
                )
            if not is_buy and g.sell_disabled:
                raise QuoteError(
                    f"{self._tag}: sells are disabled (disable_flags {g.disable_flags})"
                )
            if self._quote_program == TOKEN_2022_PROGRAM_ID and self._mint[1] is None:
                raise account_unavailable(
                    self._tag, "Token-2022 quote mint", self._pool.quote_mint, self._absent
                )
            return rates
        pool = self._pool
        missing = (
            (self._pool_absent, "pool account", self._address),
            (self._global is None, "global_config", GLOBAL_CONFIG),
            (self._fee_config is None, "fee_config", FEE_CONFIG),
            (self._base_amount is None, "base vault", pool.pool_base_token_account),
            (self._quote_amount is None, "quote vault", pool.pool_quote_token_account),
            (self._mint[0] is None, "base mint", pool.base_mint),
        )
        for is_missing, what, key in missing:
            if is_missing:
                raise account_unavailable(self._tag, what, key, self._absent)
        for mint in self._mint:
            if mint is not None and mint.charges_transfer_fee:
                raise QuoteError(
                    f"{self._tag}: mint {mint.address} has a Token-2022 transfer fee "
                    "(not modelled by the SDK)"
                )
        raise QuoteError(f"{self._tag}: not enough liquidity (an empty vault or no fee tiers)")

    def summary(self) -> PoolSummary | None:
        """Base and effective quote reserves (virtual included), the fee rates in ppm."""
        rates = self._rates
        if rates is None or self._fee_mint:
            return None
        if self._quote_program == TOKEN_2022_PROGRAM_ID and self._mint[1] is None:
            return None
        b, q = self._base_amount, self._quote_amount
        assert b is not None and q is not None
        creator = rates.creator_fee_bps if self._has_creator else 0
        bps = rates.lp_fee_bps + rates.protocol_fee_bps + creator
        return PoolSummary(b, q + self._pool.virtual_quote_reserves, 0, bps * 100)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        pool = self._pool
        if input_mint == pool.quote_mint:
            is_buy = True
        elif input_mint == pool.base_mint:
            is_buy = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")
        rates = self._ready(is_buy)
        if not 0 < amount <= U64_MAX:
            check_amount(amount, self._tag)  # raises, naming the amount
        b = self._base_amount
        q = self._quote_amount
        assert b is not None and q is not None
        v = pool.virtual_quote_reserves
        creator = self._has_creator
        try:
            if is_buy:
                if exact_in:
                    out, _, fees = buy_quote_input(amount, b, q, v, rates, creator)
                    if out <= 0:
                        raise QuoteError(f"{self._tag}: input {amount} too small to buy any base")
                    return Quote(amount, out, fees, pool.quote_mint)
                total, fees = buy_base_input(amount, b, q, v, rates, creator)
                if total > U64_MAX:
                    raise QuoteError(f"{self._tag}: input exceeds u64")
                return Quote(total, amount, fees, pool.quote_mint)
            if exact_in:
                out, fees = sell_base_input(amount, b, q, v, rates, creator)
                if out <= 0:
                    raise QuoteError(f"{self._tag}: input {amount} too small to receive any quote")
                return Quote(amount, out, fees, pool.quote_mint)
            return self._sell_exact_out(amount, b, q, v, rates, creator)
        except SwapMathError as exc:
            raise QuoteError(f"{self._tag}: {exc}") from exc

    def _sell_exact_out(
        self, amount: int, b: int, q: int, v: int, rates: Fees, creator: bool
    ) -> Quote:
        """Base needed to receive ``amount``: the SDK's ``sellQuoteInput``, made to deliver.

        The SDK inverts the three fees as one (``ceil(out * 10^4 / (10^4 - total))``)
        but charges them as three separate ceilings, so its answer often
        delivers a unit or two less than asked. Where it does, the next gross
        amounts are tried until ``sellBaseInput`` delivers: the result is the
        least base input that yields at least ``amount`` (equal to the SDK's
        whenever the SDK's delivers).
        """
        base_in, raw = sell_quote_input(amount, b, q, v, rates, creator)
        qe = q + v
        for _ in range(_SELL_EXACT_OUT_STEPS):
            try:
                out, fees = sell_base_input(base_in, b, q, v, rates, creator)
            except SwapMathError:
                out, fees = -1, 0
            if out >= amount:
                if base_in > U64_MAX:
                    raise QuoteError(f"{self._tag}: input exceeds u64")
                return Quote(base_in, amount, fees, self._pool.quote_mint)
            raw += 1
            if raw >= qe:
                break
            base_in = max(base_in, -(-(b * raw) // (qe - raw)))
        raise QuoteError(f"{self._tag}: cannot deliver {amount} quote (not enough liquidity)")

    # -- instructions -------------------------------------------------------------------------

    def _next_recipient(self, recipients: tuple[Pubkey, ...]) -> Pubkey | None:
        """Rotate through the set recipients (the SDK picks at random; both spread locks)."""
        live = [r for r in recipients if r != DEFAULT_PUBKEY]
        if not live:
            return None
        return live[self._recipient_seq % len(live)]

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """buy_exact_quote_in / buy / sell with the IDL's accounts and the SDK's remaining ones.

        ``other_amount_threshold`` is the trader's bound, passed through:
        minimum base out (exact-in buy), maximum quote in (exact-out buy),
        minimum quote out (exact-in sell). An exact-out sell sends the base
        input this adapter quotes (QuoteError if it exceeds the threshold) and
        requires at least ``amount`` quote out.
        """
        pool = self._pool
        is_buy = params.input_mint == pool.quote_mint
        quote = self.quote(params.amount, params.input_mint, exact_in=params.exact_in)
        refuse_transfer_hooks(self._tag, self._mint)
        g = self._global
        assert g is not None and self._base_program is not None and self._quote_program is not None
        if pool.is_mayhem_mode:
            protocol = self._next_recipient((g.reserved_fee_recipient, *g.reserved_fee_recipients))
        else:
            protocol = self._next_recipient(g.protocol_fee_recipients)
        if protocol is None:
            raise QuoteError(f"{self._tag}: global config lists no protocol fee recipient")
        buyback = self._next_recipient(g.buyback_fee_recipients)
        self._recipient_seq += 1
        if is_buy:
            user_base, user_quote = params.user_destination_token, params.user_source_token
        else:
            user_base, user_quote = params.user_source_token, params.user_destination_token
        accounts = ix.SwapAccounts(
            self._address,
            params.user,
            user_base,
            user_quote,
            protocol,
            buyback,
            self._base_program,
            self._quote_program,
        )
        out: list[Instruction] = []
        if self._account_len < POOL_ACCOUNT_NEW_SIZE:
            out.append(ix.extend_account(self._address, params.user))
        threshold = params.other_amount_threshold
        if is_buy and params.exact_in:
            out.append(ix.buy_exact_quote_in(pool, accounts, params.amount, threshold))
        elif is_buy:
            out.append(ix.buy(pool, accounts, params.amount, threshold))
        elif params.exact_in:
            out.append(ix.sell(pool, accounts, params.amount, threshold))
        else:
            if quote.in_amount > threshold:
                raise QuoteError(
                    f"{self._tag}: selling for {params.amount} needs {quote.in_amount} base, "
                    f"above the maximum {threshold}"
                )
            out.append(ix.sell(pool, accounts, quote.in_amount, params.amount))
        return SwapInstructions(out)
