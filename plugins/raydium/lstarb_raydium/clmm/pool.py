"""The Raydium CLMM pool adapter: state it tracks, the swap loop, the swap_v2 instruction.

The swap loop follows the program's ``swap_internal``: start in the tick array
holding the current tick (or the next initialized one in the swap direction,
found through the pool bitmap and the bitmap extension), step from initialized
tick to initialized tick with :func:`compute_swap_step`, cross each tick's
``liquidity_net``, and leave for the next initialized array when one runs dry.
Where the program would need an account this adapter has not been given, or
would fail, the quote raises QuoteError instead of guessing.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import bitmap
from lstarb_raydium.clmm.bitmap import CLMM_PROGRAM_ID, bitmap_extension_address, tick_array_address
from lstarb_raydium.clmm.state import (
    POOL_STATE_DISCRIMINATOR,
    POOL_STATE_LEN,
    TICK_ARRAY_LEN,
    TICK_ARRAY_SIZE,
    AmmConfig,
    BitmapExtension,
    PoolState,
    TickArray,
)
from lstarb_raydium.clmm.swap_math import U64_MAX, SwapMathError, compute_swap_step
from lstarb_raydium.clmm.tick_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK,
    MIN_SQRT_PRICE_X64,
    MIN_TICK,
    sqrt_price_at_tick,
    tick_at_sqrt_price,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import (
    MEMO_PROGRAM_ID,
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    TOKEN_PROGRAMS,
    Clock,
    token_account_amount,
)
from lstarb_sdk.token2022 import TransferFee, TransferFeeConfig, transfer_fee_config
from lstarb_sdk.types import Quote, SwapInstructions, SwapParams

SWAP_V2_DISCRIMINATOR = bytes([43, 4, 237, 11, 26, 201, 30, 98])
FEE_ON_INPUT = 0
FEE_ON_TOKEN_0 = 1
FEE_ON_TOKEN_1 = 2
MAX_FEE_BASIS_POINTS = 10_000
_MAX_STEPS = 10_000

_sqrt_at = lru_cache(maxsize=1 << 16)(sqrt_price_at_tick)


def _inverse_fee(fee: TransferFee, post_fee_amount: int) -> int:
    """Raydium's ``get_transfer_inverse_fee``: the maximum fee outright at 100%."""
    if fee.basis_points == MAX_FEE_BASIS_POINTS:
        return fee.maximum_fee
    return fee.inverse_fee(post_fee_amount)


class ClmmPool(PoolAdapter):
    """A Raydium concentrated-liquidity pool (program ``CAMMCzo5...``).

    ``TICK_ARRAYS_PER_SIDE`` initialized tick arrays are tracked beyond the
    one holding the price in each direction; a quote that walks past them
    raises QuoteError naming the next array's address.
    """

    program_id: ClassVar[Pubkey] = CLMM_PROGRAM_ID
    dex: ClassVar[str] = "raydium-clmm"
    TICK_ARRAYS_PER_SIDE: ClassVar[int] = 3

    def __init__(self, address: Pubkey, pool: PoolState) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._ext_key = bitmap_extension_address(address, CLMM_PROGRAM_ID)
        self._config: AmmConfig | None = None
        self._vault_amount: list[int | None] = [None, None]
        self._vault_program: list[Pubkey | None] = [None, None]
        self._mint_fee: list[TransferFeeConfig | None] = [None, None]
        self._mint_loaded = [False, False]
        self._ext: BitmapExtension | None = None
        self._ext_pos: int | None = None
        self._ext_neg: int | None = None
        self._clock: Clock | None = None
        self._arrays: dict[int, TickArray] = {}
        self._set_pool(pool)

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
    def from_account(cls, address: Pubkey, account: Account) -> ClmmPool:
        if account.owner != cls.program_id:
            raise DecodeError(
                f"raydium clmm pool {address}: owner {account.owner} is not {cls.program_id}"
            )
        return cls(address, PoolState.decode(account.data))

    @property
    def address(self) -> Pubkey:
        return self._address

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._pool.token_mint_0, self._pool.token_mint_1

    @property
    def pool_state(self) -> PoolState:
        return self._pool

    @property
    def amm_config(self) -> AmmConfig | None:
        return self._config

    @property
    def bitmap_extension_key(self) -> Pubkey:
        return self._ext_key

    def _set_pool(self, pool: PoolState) -> None:
        self._pool = pool
        self._span = TICK_ARRAY_SIZE * pool.tick_spacing
        self._combined = bitmap.combined_bitmap(
            pool.tick_array_bitmap, self._ext_pos, self._ext_neg
        )
        self._window = self._compute_window()
        wanted = set(self._window.values())
        for start in [s for s in self._arrays if s not in wanted]:
            del self._arrays[start]

    def _set_ext(self, ext: BitmapExtension, refresh: bool = True) -> None:
        self._ext = ext
        self._ext_pos = ext.positive
        self._ext_neg = bitmap.negative_groups_in_order(ext.raw)
        if refresh:
            self._combined = bitmap.combined_bitmap(
                self._pool.tick_array_bitmap, self._ext_pos, self._ext_neg
            )
            self._window = self._compute_window()

    def _next_array_index(self, index: int, upward: bool) -> int | None:
        """Next initialized array index; QuoteError if only the extension could tell."""
        found = bitmap.next_initialized_index(self._combined, index, upward)
        if self._ext is None and (found is None or not bitmap.in_pool_bitmap(found)):
            raise QuoteError(
                f"{self._tag}: tick array bitmap extension "
                f"{self._ext_key} is not loaded (needed beyond array index {index})"
            )
        return found

    def _first_array_index(self, zero_for_one: bool) -> tuple[bool, int | None]:
        """``(is_current, index)`` of the first array (``get_first_initialized_tick_array``)."""
        current = self._pool.tick_current // self._span
        if not bitmap.in_pool_bitmap(current) and self._ext is None:
            raise QuoteError(
                f"{self._tag}: tick array bitmap extension "
                f"{self._ext_key} is not loaded (current array index {current})"
            )
        if bitmap.is_initialized(self._combined, current):
            return True, current
        return False, self._next_array_index(current, not zero_for_one)

    def _compute_window(self) -> dict[Pubkey, int]:
        """Tick-array PDA -> start index, for the arrays around the price in both directions."""
        out: dict[Pubkey, int] = {}
        for zero_for_one in (True, False):
            try:
                _, index = self._first_array_index(zero_for_one)
                n = 0
                while index is not None and n <= self.TICK_ARRAYS_PER_SIDE:
                    start = index * self._span
                    out[tick_array_address(self._address, start, CLMM_PROGRAM_ID)] = start
                    n += 1
                    if n <= self.TICK_ARRAYS_PER_SIDE:
                        index = self._next_array_index(index, not zero_for_one)
            except QuoteError:
                pass  # the extension is not loaded yet: list what the pool bitmap tells
        return out

    def accounts_to_update(self) -> list[Pubkey]:
        pool = self._pool
        keys = [
            self._address,
            pool.amm_config,
            pool.token_vault_0,
            pool.token_vault_1,
            self._ext_key,
        ]
        keys.extend(self._window)
        needs_clock = False
        for i, mint in enumerate((pool.token_mint_0, pool.token_mint_1)):
            program = self._vault_program[i]
            if program is None or program == TOKEN_2022_PROGRAM_ID:
                keys.append(mint)
            if self._mint_fee[i] is not None:
                needs_clock = True
        if needs_clock:
            keys.append(SYSVAR_CLOCK_ID)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole."""
        pool = self._pool
        new_pool = None
        acc = accounts.get(self._address)
        if acc is not None:
            self._check_owner(acc, self.program_id, "pool")
            new_pool = PoolState.decode(acc.data, pool)
            if (
                new_pool.token_mint_0 != pool.token_mint_0
                or new_pool.token_mint_1 != pool.token_mint_1
            ):
                raise DecodeError(f"{self._tag}: mints changed")
        p = new_pool or pool
        new_config = None
        acc = accounts.get(p.amm_config)
        if acc is not None:
            self._check_owner(acc, self.program_id, "amm_config")
            new_config = AmmConfig.decode(acc.data)
        vaults: list[tuple[int, int, Pubkey]] = []
        for i, key in enumerate((p.token_vault_0, p.token_vault_1)):
            acc = accounts.get(key)
            if acc is not None:
                if acc.owner not in TOKEN_PROGRAMS:
                    raise DecodeError(
                        f"{self.dex} vault {key}: owner {acc.owner} is no token program"
                    )
                vaults.append((i, token_account_amount(acc.data, name=f"vault {key}"), acc.owner))
        mints: list[tuple[int, TransferFeeConfig | None]] = []
        for i, key in enumerate((p.token_mint_0, p.token_mint_1)):
            acc = accounts.get(key)
            if acc is not None:
                if acc.owner not in TOKEN_PROGRAMS:
                    raise DecodeError(
                        f"{self.dex} mint {key}: owner {acc.owner} is no token program"
                    )
                fee = None
                if acc.owner == TOKEN_2022_PROGRAM_ID:
                    fee = transfer_fee_config(acc.data, name=f"mint {key}")
                mints.append((i, fee))
        new_ext = None
        acc = accounts.get(self._ext_key)
        if acc is not None:
            self._check_owner(acc, self.program_id, "tick array bitmap extension")
            new_ext = BitmapExtension.decode(acc.data)
            if new_ext.pool_id != self._address:
                raise DecodeError(
                    f"{self.dex} bitmap extension {self._ext_key}: pool_id {new_ext.pool_id}"
                )
        new_clock = None
        acc = accounts.get(SYSVAR_CLOCK_ID)
        if acc is not None:
            new_clock = Clock.decode(acc.data)
        arrays: list[TickArray] = []
        skip = {self._address, p.amm_config, self._ext_key}
        for key, acc in accounts.items():
            in_window = key in self._window
            if key in skip or not (in_window or acc.owner == self.program_id):
                continue
            data = acc.data  # solders copies on every access: read it once
            if not in_window and len(data) != TICK_ARRAY_LEN:
                continue
            self._check_owner(acc, self.program_id, f"tick array {key}")
            ta = TickArray.decode(data)
            if ta.pool_id != self._address:
                if in_window:
                    raise DecodeError(f"{self.dex} tick array {key}: pool_id {ta.pool_id}")
                continue  # another pool's array in a shared mapping
            expected = tick_array_address(self._address, ta.start_tick_index, CLMM_PROGRAM_ID)
            if key != expected or ta.start_tick_index % self._span_of(p):
                raise DecodeError(
                    f"{self.dex} tick array {key}: start {ta.start_tick_index} does not match "
                    f"its address (expected {expected})"
                )
            arrays.append(ta)

        if new_config is not None:
            self._config = new_config
        for i, amount, program in vaults:
            self._vault_amount[i] = amount
            self._vault_program[i] = program
        for i, fee in mints:
            self._mint_fee[i] = fee
            self._mint_loaded[i] = True
        if new_clock is not None:
            self._clock = new_clock
        if new_ext is not None:
            self._set_ext(new_ext, refresh=new_pool is None)
        for ta in arrays:
            self._arrays[ta.start_tick_index] = ta
        if new_pool is not None:
            self._set_pool(new_pool)

    @staticmethod
    def _span_of(pool: PoolState) -> int:
        return TICK_ARRAY_SIZE * pool.tick_spacing

    def _check_owner(self, acc: Account, owner: Pubkey, what: str) -> None:
        if acc.owner != owner:
            raise DecodeError(f"{self.dex} {what}: owner {acc.owner} is not {owner}")

    # -- quoting ------------------------------------------------------------------------------

    def _array(self, index: int) -> TickArray:
        start = index * self._span
        ta = self._arrays.get(start)
        if ta is None:
            raise QuoteError(
                f"{self._tag}: tick array "
                f"{tick_array_address(self._address, start, CLMM_PROGRAM_ID)} "
                f"(start {start}) is not loaded"
            )
        return ta

    def _transfer_fee(self, i: int) -> TransferFee | None:
        if self._vault_program[i] == TOKEN_2022_PROGRAM_ID and not self._mint_loaded[i]:
            mint = self.mints[i]
            raise QuoteError(f"{self._tag}: Token-2022 mint {mint} is not loaded")
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

    def _check_ready(self) -> AmmConfig:
        pool = self._pool
        if self._config is None:
            raise QuoteError(f"{self._tag}: amm_config {pool.amm_config} is not loaded")
        for i, key in enumerate((pool.token_vault_0, pool.token_vault_1)):
            if self._vault_amount[i] is None:
                raise QuoteError(f"{self._tag}: vault {key} is not loaded")
        if pool.swap_disabled:
            raise QuoteError(f"{self._tag}: swaps are disabled (status {pool.status})")
        if pool.dynamic_fee_enabled:
            raise QuoteError(f"{self._tag}: dynamic-fee pools are not supported yet")
        if self._clock is not None and self._clock.unix_timestamp <= pool.open_time:
            raise QuoteError(f"{self._tag}: not open before {pool.open_time}")
        return self._config

    def swap_amounts(
        self, amount: int, zero_for_one: bool, is_base_input: bool
    ) -> tuple[int, int, int, list[int], int]:
        """The program's ``swap_internal`` for ``amount`` (net of transfer fees).

        Returns ``(amount_in, amount_out, trade_fee, tick_array_starts_used,
        initialized_ticks_crossed)``;
        ``amount_in`` includes the fee when the fee is taken from the input.
        """
        config = self._check_ready()
        pool = self._pool
        if amount <= 0 or amount > U64_MAX:
            raise QuoteError(f"{self._tag}: amount {amount} outside 1..u64::MAX")
        fee_on = pool.fee_on
        fee_on_input = (
            fee_on == FEE_ON_INPUT
            or (fee_on == FEE_ON_TOKEN_0 and zero_for_one)
            or (fee_on == FEE_ON_TOKEN_1 and not zero_for_one)
        )
        fee_rate = config.trade_fee_rate
        spacing = pool.tick_spacing
        span = self._span
        limit = MIN_SQRT_PRICE_X64 + 1 if zero_for_one else MAX_SQRT_PRICE_X64 - 1
        sqrt = pool.sqrt_price_x64
        tick = pool.tick_current
        liquidity = pool.liquidity
        remaining = amount
        calculated = 0
        fee_total = 0

        is_current, index = self._first_array_index(zero_for_one)
        if index is None:
            raise QuoteError(f"{self._tag}: not enough liquidity (no tick array)")
        ta = self._array(index)
        used = [ta.start_tick_index]
        offsets, nets, orders = ta.initialized
        start = ta.start_tick_index
        steps = 0
        crossed = 0
        while remaining and sqrt != limit:
            steps += 1
            if steps > _MAX_STEPS:
                raise QuoteError(f"{self._tag}: swap loop does not converge")
            j = -1
            if (tick // span) * span == start:
                off = (tick - start) // spacing
                if zero_for_one:
                    j = bisect.bisect_right(offsets, off) - 1
                else:
                    j = bisect.bisect_right(offsets, off)
                    if j == len(offsets):
                        j = -1
            if j < 0 and not is_current:
                is_current = True
                if not offsets:
                    raise QuoteError(f"{self.dex} tick array {start}: marked initialized but empty")
                j = len(offsets) - 1 if zero_for_one else 0
            if j < 0:
                index = self._next_array_index(index, not zero_for_one)
                if index is None:
                    raise QuoteError(f"{self._tag}: not enough liquidity")
                ta = self._array(index)
                used.append(ta.start_tick_index)
                offsets, nets, orders = ta.initialized
                start = ta.start_tick_index
                if not offsets:
                    raise QuoteError(f"{self.dex} tick array {start}: marked initialized but empty")
                j = len(offsets) - 1 if zero_for_one else 0
            tick_next = start + offsets[j] * spacing
            if tick_next < MIN_TICK:
                tick_next = MIN_TICK
            elif tick_next > MAX_TICK:
                tick_next = MAX_TICK
            sqrt_next = _sqrt_at(tick_next)
            if (zero_for_one and sqrt_next < limit) or (not zero_for_one and sqrt_next > limit):
                target = limit
            else:
                target = sqrt_next
            if sqrt != target:
                try:
                    new_sqrt, a_in, a_out, fee = compute_swap_step(
                        sqrt,
                        target,
                        liquidity,
                        remaining,
                        fee_rate,
                        is_base_input,
                        zero_for_one,
                        fee_on_input,
                    )
                except SwapMathError as exc:
                    raise QuoteError(f"{self._tag}: {exc}") from exc
                consumed = a_in + fee if fee_on_input else a_in
                if is_base_input:
                    remaining -= consumed
                    calculated += a_out
                else:
                    remaining -= a_out
                    calculated += consumed
                fee_total += fee
            else:
                new_sqrt = target
            if new_sqrt == sqrt_next:
                if offsets[j] in orders:
                    raise QuoteError(
                        f"{self._tag}: tick {tick_next} carries limit orders (not supported yet)"
                    )
                net = nets[j]
                liquidity = liquidity - net if zero_for_one else liquidity + net
                if liquidity < 0:
                    raise QuoteError(f"{self._tag}: liquidity underflow")
                tick = tick_next - 1 if zero_for_one else tick_next
                crossed += 1
            elif new_sqrt != sqrt and remaining:
                tick = tick_at_sqrt_price(new_sqrt)
            sqrt = new_sqrt
        if remaining:
            raise QuoteError(f"{self._tag}: not enough liquidity")
        if is_base_input:
            a_in_total, a_out_total = amount, calculated
        else:
            a_in_total, a_out_total = calculated, amount
        if a_in_total == 0 or a_out_total == 0 or a_in_total > U64_MAX:
            raise QuoteError(f"{self._tag}: too small input or output")
        return a_in_total, a_out_total, fee_total, used, crossed

    def _fee_mint(self, zero_for_one: bool) -> Pubkey:
        fee_on = self._pool.fee_on
        if fee_on == FEE_ON_TOKEN_0:
            return self._pool.token_mint_0
        if fee_on == FEE_ON_TOKEN_1:
            return self._pool.token_mint_1
        return self._pool.token_mint_0 if zero_for_one else self._pool.token_mint_1

    def _direction(self, input_mint: Pubkey) -> bool:
        if input_mint == self._pool.token_mint_0:
            return True
        if input_mint == self._pool.token_mint_1:
            return False
        raise QuoteError(f"{self._tag}: mint {input_mint} is not one of its mints")

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        return self._quote_path(amount, self._direction(input_mint), exact_in)[0]

    def _quote_path(
        self, amount: int, zero_for_one: bool, exact_in: bool
    ) -> tuple[Quote, list[int]]:
        """The quote and the tick-array starts the swap walks, transfer fees included.

        swap_v2 takes the Token-2022 fee off an exact input before swapping and
        adds the inverse fee to an exact output; what the vault pays out is then
        cut again by the output mint's fee on its way to the trader.
        """
        i_in, i_out = (0, 1) if zero_for_one else (1, 0)
        fee_in = self._transfer_fee(i_in)
        fee_out = self._transfer_fee(i_out)
        if amount <= 0 or amount > U64_MAX:
            raise QuoteError(f"{self._tag}: amount {amount} outside 1..u64::MAX")
        if exact_in:
            specified = amount - (fee_in.fee(amount) if fee_in else 0)
            if specified <= 0:
                raise QuoteError(f"{self._tag}: input is all transfer fee")
            _, gross_out, fee, used, _ = self.swap_amounts(specified, zero_for_one, True)
            self._check_vault(i_out, gross_out)
            out = gross_out - (fee_out.fee(gross_out) if fee_out else 0)
            return Quote(amount, out, fee, self._fee_mint(zero_for_one)), used
        specified = amount + (_inverse_fee(fee_out, amount) if fee_out else 0)
        if specified > U64_MAX:
            raise QuoteError(f"{self._tag}: output plus transfer fee exceeds u64")
        swap_in, gross_out, fee, used, _ = self.swap_amounts(specified, zero_for_one, False)
        self._check_vault(i_out, gross_out)
        total_in = swap_in + (_inverse_fee(fee_in, swap_in) if fee_in else 0)
        if total_in > U64_MAX:
            raise QuoteError(f"{self._tag}: input exceeds u64")
        return Quote(total_in, amount, fee, self._fee_mint(zero_for_one)), used

    def _check_vault(self, i: int, gross_out: int) -> None:
        held = self._vault_amount[i]
        if held is not None and gross_out > held:
            raise QuoteError(
                f"{self._tag}: not enough liquidity (vault holds {held}, swap pays {gross_out})"
            )

    # -- instructions -------------------------------------------------------------------------

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        """``swap_v2`` with the extension and the tick arrays the swap walks (plus one spare).

        The price limit is 0, so the program defaults it and refuses a partial
        fill; ``other_amount_threshold`` (minimum out / maximum in) is the
        trader's slippage bound, passed through as given.
        """
        pool = self._pool
        zero_for_one = self._direction(params.input_mint)
        _, used = self._quote_path(params.amount, zero_for_one, params.exact_in)
        i_in, i_out = (0, 1) if zero_for_one else (1, 0)
        spare = self._spare_array(used[-1], zero_for_one)
        starts = used + ([spare] if spare is not None else [])
        vaults = (pool.token_vault_0, pool.token_vault_1)
        mints = (pool.token_mint_0, pool.token_mint_1)
        metas = [
            AccountMeta(params.user, True, False),
            AccountMeta(pool.amm_config, False, False),
            AccountMeta(self._address, False, True),
            AccountMeta(params.user_source_token, False, True),
            AccountMeta(params.user_destination_token, False, True),
            AccountMeta(vaults[i_in], False, True),
            AccountMeta(vaults[i_out], False, True),
            AccountMeta(pool.observation_key, False, True),
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
            AccountMeta(TOKEN_2022_PROGRAM_ID, False, False),
            AccountMeta(MEMO_PROGRAM_ID, False, False),
            AccountMeta(mints[i_in], False, False),
            AccountMeta(mints[i_out], False, False),
            AccountMeta(self._ext_key, False, True),
        ]
        metas.extend(
            AccountMeta(tick_array_address(self._address, s, CLMM_PROGRAM_ID), False, True)
            for s in starts
        )
        data = (
            SWAP_V2_DISCRIMINATOR
            + params.amount.to_bytes(8, "little")
            + params.other_amount_threshold.to_bytes(8, "little")
            + (0).to_bytes(16, "little")
            + (b"\x01" if params.exact_in else b"\x00")
        )
        return SwapInstructions([Instruction(self.program_id, data, metas)])

    def _spare_array(self, last_start: int, zero_for_one: bool) -> int | None:
        """One more initialized array past the last the quote used, for price drift."""
        try:
            index = self._next_array_index(last_start // self._span, not zero_for_one)
        except QuoteError:
            return None
        return None if index is None else index * self._span
