"""The Raydium CLMM pool adapter: state it tracks, the swap loop, the swap_v2 instruction.

The swap loop follows the program's ``swap_internal``: start in the tick array
holding the current tick (or the next initialized one in the swap direction,
found through the pool bitmap and the bitmap extension), step from initialized
tick to initialized tick with :func:`compute_swap_step`, cross each tick's
``liquidity_net``, and leave for the next initialized array when one runs dry.
Arrays the bitmaps do not mark never exist and are skipped, as the program
skips them. Where the program would need an account this adapter has not been
given (or that the chain does not have), or would fail, the quote raises
QuoteError naming it instead of guessing.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import bitmap
from lstarb_raydium.clmm.bitmap import CLMM_PROGRAM_ID, bitmap_extension_address, tick_array_address
from lstarb_raydium.clmm.state import (
    AMM_CONFIG_DISCRIMINATOR,
    AMM_CONFIG_LEN,
    BITMAP_EXTENSION_DISCRIMINATOR,
    BITMAP_EXTENSION_LEN,
    POOL_STATE_DISCRIMINATOR,
    POOL_STATE_LEN,
    TICK_ARRAY_LEN,
    TICK_ARRAY_SIZE,
    AmmConfig,
    BitmapExtension,
    PoolState,
    TickArray,
)
from lstarb_raydium.clmm.swap_math import SwapMathError, compute_swap_step
from lstarb_raydium.clmm.tick_math import (
    MAX_SQRT_PRICE_X64,
    MAX_TICK,
    MIN_SQRT_PRICE_X64,
    MIN_TICK,
    sqrt_price_at_tick_cached,
    tick_at_sqrt_price,
)
from lstarb_sdk import PoolAdapter
from lstarb_sdk.amounts import U64_MAX, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import account_data
from lstarb_sdk.pool import account_unavailable, updated_account
from lstarb_sdk.solana import (
    MEMO_PROGRAM_ID,
    MINT_LEN,
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Clock,
    vault_amount,
)
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

SWAP_V2_DISCRIMINATOR = bytes([43, 4, 237, 11, 26, 201, 30, 98])
FEE_ON_INPUT = 0
FEE_ON_TOKEN_0 = 1
FEE_ON_TOKEN_1 = 2
MINT_0_OFFSET = 73
MINT_1_OFFSET = 105
_MAX_STEPS = 10_000
#: Initialized arrays the official SDK passes on the side the price is not heading to.
OPPOSITE_SIDE_ARRAYS = 2

_sqrt_at = sqrt_price_at_tick_cached


class ClmmPool(PoolAdapter):
    """A Raydium concentrated-liquidity pool (program ``CAMMCzo5...``).

    ``TICK_ARRAYS_PER_SIDE`` initialized tick arrays are tracked beyond the
    one holding the price in each direction; a quote that walks past them
    raises QuoteError naming the next array's address.
    """

    program_id: ClassVar[Pubkey] = CLMM_PROGRAM_ID
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=82_867,
        per_crossing=15_097,
        measured_max=97_964,
        source=(
            "metaDAOproject/futarchy@26461b83:tests/fixtures/raydium_amm_v3.so (April 2024) "
            "on the plugin's fixture: swap_v2, per initialized tick crossed (at most 1 "
            "measured; tests/program_oracle/compute_units_clmm.json)"
        ),
    )
    """Measured on a 2024 build of the program; the fixture's swaps cross at most one tick."""
    dex: ClassVar[str] = "raydium-clmm"
    account_size: ClassVar[int | None] = POOL_STATE_LEN
    account_discriminator: ClassVar[bytes | None] = POOL_STATE_DISCRIMINATOR
    TICK_ARRAYS_PER_SIDE: ClassVar[int] = 3

    def __init__(self, address: Pubkey, pool: PoolState) -> None:
        self._address = address
        self._tag = f"{self.dex} pool {address}"
        self._ext_key = bitmap_extension_address(address, CLMM_PROGRAM_ID)
        self._pool = pool
        self._pool_absent = False
        self._config: AmmConfig | None = None
        self._vault_amount: list[int | None] = [None, None]
        self._vault_program: list[Pubkey | None] = [None, None]
        self._mint: list[TokenMint | None] = [None, None]
        self._ext: BitmapExtension | None = None
        self._ext_absent = False
        self._ext_neg: int | None = None
        self._clock: Clock | None = None
        self._arrays: dict[int, TickArray] = {}
        self._absent: set[Pubkey] = set()
        # The names errors use, built once: the pool's keys never change (update refuses it).
        self._config_name = f"{self.dex} amm_config {pool.amm_config}"
        self._ext_name = f"{self.dex} tick array bitmap extension {self._ext_key}"
        self._vault_names = tuple(
            f"{self.dex} vault {key}" for key in (pool.token_vault_0, pool.token_vault_1)
        )
        self._mint_names = tuple(
            f"{self.dex} mint {key}" for key in (pool.token_mint_0, pool.token_mint_1)
        )
        self._refresh()

    # -- construction and state ------------------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> ClmmPool:
        return cls(address, PoolState.decode(cls.pool_account_data(address, account)))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """PoolState accounts (size and discriminator) with the mint as token 0 or token 1."""
        return AccountFilter.by_mint(
            mints,
            (MINT_0_OFFSET, MINT_1_OFFSET),
            data_size=POOL_STATE_LEN,
            discriminator=POOL_STATE_DISCRIMINATOR,
        )

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

    def _refresh(self) -> None:
        """Recompute what follows from the pool and the extension: bitmap, window, arrays kept."""
        pool = self._pool
        self._span = TICK_ARRAY_SIZE * pool.tick_spacing
        ext = self._ext
        # Arrays beyond the pool's own bitmap are known: the extension is loaded, or absent.
        self._ext_known = ext is not None or self._ext_absent
        self._combined = bitmap.combined_bitmap(
            pool.tick_array_bitmap,
            ext.positive if ext is not None else None,
            self._ext_neg if ext is not None else None,
        )
        self._window = self._compute_window()
        wanted = set(self._window.values())
        for start in [s for s in self._arrays if s not in wanted]:
            del self._arrays[start]

    def _next_array_index(self, index: int, upward: bool) -> int | None:
        """Next initialized array index; QuoteError if only the extension could tell."""
        found = bitmap.next_initialized_index(self._combined, index, upward)
        if not self._ext_known and (found is None or not bitmap.in_pool_bitmap(found)):
            raise QuoteError(
                f"{self._tag}: tick array bitmap extension "
                f"{self._ext_key} is not loaded (needed beyond array index {index})"
            )
        return found

    def _first_array_index(self, zero_for_one: bool) -> tuple[bool, int | None]:
        """``(is_current, index)`` of the first array (``get_first_initialized_tick_array``)."""
        current = self._pool.tick_current // self._span
        if not bitmap.in_pool_bitmap(current) and not self._ext_known:
            raise QuoteError(
                f"{self._tag}: tick array bitmap extension "
                f"{self._ext_key} is not loaded (current array index {current})"
            )
        if bitmap.is_initialized(self._combined, current):
            return True, current
        return False, self._next_array_index(current, not zero_for_one)

    def _initialized_from(self, zero_for_one: bool, count: int) -> list[int]:
        """Up to ``count`` initialized array indices from the first one in a direction."""
        out: list[int] = []
        try:
            _, index = self._first_array_index(zero_for_one)
            while index is not None and len(out) < count:
                out.append(index)
                if len(out) < count:
                    index = self._next_array_index(index, not zero_for_one)
        except QuoteError:
            pass  # the extension is not loaded yet: what the pool bitmap tells
        return out

    def _compute_window(self) -> dict[Pubkey, int]:
        """Tick-array PDA -> start index, for the arrays around the price in both directions."""
        out: dict[Pubkey, int] = {}
        for zero_for_one in (True, False):
            for index in self._initialized_from(zero_for_one, self.TICK_ARRAYS_PER_SIDE + 1):
                start = index * self._span
                out[tick_array_address(self._address, start, CLMM_PROGRAM_ID)] = start
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
        for i, mint in enumerate((pool.token_mint_0, pool.token_mint_1)):
            program = self._vault_program[i]
            if program is None or program == TOKEN_2022_PROGRAM_ID:
                keys.append(mint)
        if any(m is not None and m.needs_clock for m in self._mint):
            keys.append(SYSVAR_CLOCK_ID)
        return keys

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode everything first, then commit, so a DecodeError leaves the old state whole.

        A key mapped to None (the chain has no such account) forgets what that
        account said. An absent bitmap extension means no array beyond the
        pool's own bitmap exists; an absent array the bitmaps mark is named
        by the quotes that reach it.
        """
        pool = self._pool
        absent: list[Pubkey] = []
        new_pool = None
        acc = accounts.get(self._address)
        if acc is not None:
            new_pool = PoolState.decode(self.pool_account_data(self._address, acc), pool)
            if new_pool.raw[9:233] != pool.raw[9:233]:
                raise DecodeError(f"{self._tag}: mints, vaults or configs changed")
        elif self._address in accounts:
            absent.append(self._address)
        p = new_pool or pool
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
        config = new_config or self._config
        if config is not None and config.tick_spacing != p.tick_spacing:
            raise DecodeError(
                f"{self._tag}: tick_spacing {p.tick_spacing} is not its amm_config's "
                f"{config.tick_spacing}"
            )
        mints = (p.token_mint_0, p.token_mint_1)
        vaults: list[tuple[int, int, Pubkey]] = []
        for i, key in enumerate((p.token_vault_0, p.token_vault_1)):
            acc = updated_account(accounts, key, absent)
            if acc is None:
                continue
            vaults.append((i, vault_amount(acc, self._vault_names[i], mints[i]), acc.owner))
        new_mints: list[tuple[int, TokenMint]] = []
        programs = [self._vault_program[0], self._vault_program[1]]
        for i, _, program in vaults:
            programs[i] = program
        for i, key in enumerate(mints):
            acc = updated_account(accounts, key, absent)
            if acc is None:
                continue
            if programs[i] == TOKEN_PROGRAM_ID:  # a quote reads nothing of an SPL mint
                account_data(acc, self._mint_names[i], owner=TOKEN_PROGRAM_ID, size=MINT_LEN)
                continue
            new_mints.append((i, TokenMint.from_account(key, acc, self._mint[i])))
        for i, _, program in vaults:
            mint = next((m for j, m in new_mints if j == i), self._mint[i])
            if mint is not None and mint.program != program:
                raise DecodeError(
                    f"{self.dex} vault of {mints[i]}: owner {program} is not the mint's "
                    f"{mint.program}"
                )
        new_ext = None
        acc = accounts.get(self._ext_key)
        if acc is not None:
            data = account_data(
                acc,
                self._ext_name,
                owner=self.program_id,
                size=BITMAP_EXTENSION_LEN,
                discriminator=BITMAP_EXTENSION_DISCRIMINATOR,
            )
            new_ext = BitmapExtension.decode(data)
            if new_ext.pool_id != self._address:
                raise DecodeError(
                    f"{self.dex} bitmap extension {self._ext_key}: pool_id {new_ext.pool_id}"
                )
        elif self._ext_key in accounts:
            absent.append(self._ext_key)
        acc = updated_account(accounts, SYSVAR_CLOCK_ID, absent)
        new_clock = None if acc is None else Clock.from_account(acc)
        arrays = self._decode_arrays(accounts, p, absent)

        # commit
        if new_config is not None:
            self._config = new_config
        for i, amount, program in vaults:
            self._vault_amount[i] = amount
            self._vault_program[i] = program
        for i, mint in new_mints:
            self._mint[i] = mint
        if new_clock is not None:
            self._clock = new_clock
        self._absent.difference_update(accounts)
        refresh = new_pool is not None or new_ext is not None
        if new_pool is not None:
            self._pool = new_pool
            self._pool_absent = False
        if new_ext is not None:
            self._ext, self._ext_absent = new_ext, False
            self._ext_neg = bitmap.negative_groups_in_order(new_ext.raw)
        for key in absent:
            refresh |= self._forget(key)
        for ta in arrays:
            self._arrays[ta.start_tick_index] = ta
        if refresh:
            self._refresh()
        else:  # arrays outside the window are never quoted from: they would go stale
            wanted = set(self._window.values())
            for ta in arrays:
                if ta.start_tick_index not in wanted:
                    del self._arrays[ta.start_tick_index]

    def _decode_arrays(
        self, accounts: Mapping[Pubkey, Account | None], pool: PoolState, absent: list[Pubkey]
    ) -> list[TickArray]:
        """This pool's tick arrays in the batch, checked against their addresses."""
        skip = {self._address, pool.amm_config, self._ext_key}
        span = TICK_ARRAY_SIZE * pool.tick_spacing
        out: list[TickArray] = []
        for key, acc in accounts.items():
            in_window = key in self._window
            if acc is None:
                if in_window:
                    absent.append(key)
                continue
            if key in skip or not (in_window or acc.owner == self.program_id):
                continue
            data = acc.data  # solders copies on every access: read it once
            if not in_window and len(data) != TICK_ARRAY_LEN:
                continue
            if acc.owner != self.program_id:
                raise DecodeError(
                    f"{self.dex} tick array {key}: owner {acc.owner} is not {self.program_id}"
                )
            ta = TickArray.decode(data)
            if ta.pool_id != self._address:
                if in_window:
                    raise DecodeError(f"{self.dex} tick array {key}: pool_id {ta.pool_id}")
                continue  # another pool's array in a shared mapping
            expected = tick_array_address(self._address, ta.start_tick_index, CLMM_PROGRAM_ID)
            if key != expected or ta.start_tick_index % span:
                raise DecodeError(
                    f"{self.dex} tick array {key}: start {ta.start_tick_index} does not match "
                    f"its address (expected {expected})"
                )
            out.append(ta)
        return out

    def _forget(self, key: Pubkey) -> bool:
        """The chain has no account ``key``: drop what it said; True if the window moves."""
        self._absent.add(key)
        pool = self._pool
        if key == self._address:
            self._pool_absent = True
        elif key == pool.amm_config:
            self._config = None
        elif key == self._ext_key:
            self._ext, self._ext_neg, self._ext_absent = None, None, True
            return True
        elif key == SYSVAR_CLOCK_ID:
            self._clock = None
        elif key in self._window:
            self._arrays.pop(self._window[key], None)
        for i, (vault, mint) in enumerate(
            ((pool.token_vault_0, pool.token_mint_0), (pool.token_vault_1, pool.token_mint_1))
        ):
            if key == vault:
                self._vault_amount[i] = self._vault_program[i] = None
            if key == mint:
                self._mint[i] = None
        return False

    # -- quoting ------------------------------------------------------------------------------

    def _array(self, index: int) -> TickArray:
        start = index * self._span
        ta = self._arrays.get(start)
        if ta is None:
            key = tick_array_address(self._address, start, CLMM_PROGRAM_ID)
            state = "does not exist on chain" if key in self._absent else "is not loaded"
            raise QuoteError(f"{self._tag}: tick array {key} (start {start}) {state}")
        return ta

    def _transfer_fee(self, i: int) -> TransferFee | None:
        if self._vault_program[i] != TOKEN_2022_PROGRAM_ID:
            return None
        mint = self._mint[i]
        if mint is None:
            raise account_unavailable(self._tag, "Token-2022 mint", self.mints[i], self._absent)
        return mint.transfer_fee_at(self._clock, self._tag)

    def _check_ready(self) -> AmmConfig:
        pool = self._pool
        if self._pool_absent:
            raise account_unavailable(self._tag, "pool account", self._address, self._absent)
        if self._config is None:
            raise account_unavailable(self._tag, "amm_config", pool.amm_config, self._absent)
        for i, key in enumerate((pool.token_vault_0, pool.token_vault_1)):
            if self._vault_amount[i] is None:
                raise account_unavailable(self._tag, "vault", key, self._absent)
        if pool.swap_disabled:
            raise QuoteError(f"{self._tag}: swaps are disabled (status {pool.status})")
        if pool.dynamic_fee_enabled:
            raise QuoteError(f"{self._tag}: dynamic-fee pools are not supported yet")
        if self._clock is not None and self._clock.unix_timestamp <= pool.open_time:
            raise QuoteError(f"{self._tag}: not open before {pool.open_time}")
        return self._config

    def summary(self) -> PoolSummary | None:
        """Vault balances less owed protocol/fund fees, active liquidity, trade fee in ppm."""
        try:
            config = self._check_ready()
            self._transfer_fee(0)
            self._transfer_fee(1)
        except QuoteError:
            return None
        if not (self._can_start(True) or self._can_start(False)):
            return None
        p = self._pool
        v0, v1 = self._vault_amount
        assert v0 is not None and v1 is not None
        r0 = max(v0 - p.protocol_fees_token_0 - p.fund_fees_token_0, 0)
        r1 = max(v1 - p.protocol_fees_token_1 - p.fund_fees_token_1, 0)
        return PoolSummary(r0, r1, p.liquidity, config.trade_fee_rate)

    def _can_start(self, zero_for_one: bool) -> bool:
        """Whether the first array a swap in this direction reads is loaded."""
        try:
            _, index = self._first_array_index(zero_for_one)
            return index is not None and self._array(index) is not None
        except QuoteError:
            return False

    def swap_amounts(
        self, amount: int, zero_for_one: bool, is_base_input: bool
    ) -> tuple[int, int, int, list[int], int]:
        """The program's ``swap_internal`` for ``amount`` (net of transfer fees, 1..u64::MAX).

        Returns ``(amount_in, amount_out, trade_fee, tick_array_starts_used,
        initialized_ticks_crossed)``;
        ``amount_in`` includes the fee when the fee is taken from the input.
        """
        config = self._check_ready()
        pool = self._pool
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

    def swap_compute_units(self, amount: int, input_mint: Pubkey) -> int:
        """The measured fit at the initialized ticks this swap crosses (the count the program
        oracle fitted). ``amount`` is taken before any transfer fee: at least what the pool
        receives, so the count is never under. The largest measured when it cannot quote."""
        units = type(self).compute_units
        try:
            crossed = self.swap_amounts(amount, self._direction(input_mint), True)[4]
        except QuoteError:
            return units.estimate(None)
        return units.estimate(crossed)

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
        if not 0 < amount <= U64_MAX:
            check_amount(amount, self._tag)  # raises, naming the amount
        if exact_in:
            specified = amount_received(amount, fee_in)
            if specified <= 0:
                raise QuoteError(f"{self._tag}: input is all transfer fee")
            _, gross_out, fee, used, _ = self.swap_amounts(specified, zero_for_one, True)
            self._check_vault(i_out, gross_out)
            out = amount_received(gross_out, fee_out)
            return Quote(amount, out, fee, self._fee_mint(zero_for_one)), used
        specified = amount_to_send(amount, fee_out)
        if specified > U64_MAX:
            raise QuoteError(f"{self._tag}: output plus transfer fee exceeds u64")
        swap_in, gross_out, fee, used, _ = self.swap_amounts(specified, zero_for_one, False)
        self._check_vault(i_out, gross_out)
        total_in = amount_to_send(swap_in, fee_in)
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
        """``swap_v2`` with the extension and the tick arrays, laid out as the official SDK does.

        Remaining accounts: the bitmap extension (unless the chain has none),
        then up to two initialized arrays on the side the price is not heading
        to, the arrays the quoted swap walks, and one more past them. The
        program skips leading arrays until the one holding the price, so the
        swap still lands when the price moved back across an array boundary
        before it did. The price limit is 0 (the program defaults it and
        refuses a partial fill); ``other_amount_threshold`` (minimum out /
        maximum in) is the trader's bound, passed through as given.
        """
        pool = self._pool
        zero_for_one = self._direction(params.input_mint)
        _, used = self._quote_path(params.amount, zero_for_one, params.exact_in)
        refuse_transfer_hooks(self._tag, self._mint)
        i_in, i_out = (0, 1) if zero_for_one else (1, 0)
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
        ]
        if not self._ext_absent:
            metas.append(AccountMeta(self._ext_key, False, True))
        metas.extend(
            AccountMeta(tick_array_address(self._address, s, CLMM_PROGRAM_ID), False, True)
            for s in self.swap_tick_arrays(used, zero_for_one)
        )
        data = (
            SWAP_V2_DISCRIMINATOR
            + params.amount.to_bytes(8, "little")
            + params.other_amount_threshold.to_bytes(8, "little")
            + (0).to_bytes(16, "little")
            + (b"\x01" if params.exact_in else b"\x00")
        )
        return SwapInstructions([Instruction(self.program_id, data, metas)])

    def swap_tick_arrays(self, used: list[int], zero_for_one: bool) -> list[int]:
        """Start indices of the arrays a swap instruction passes, in the order it passes them.

        ``used`` are the arrays the quoted swap walks. Before them, the first
        ``OPPOSITE_SIDE_ARRAYS`` initialized arrays from the price in the other
        direction (the first used one left out); after them, the next
        initialized array in the swap direction: raydium-sdk-v2's
        ``swapInternal(..., includeExtraTickArrays: true)``.
        """
        span = self._span
        opposite = [
            i * span
            for i in self._initialized_from(not zero_for_one, OPPOSITE_SIDE_ARRAYS)
            if i * span != used[0]
        ]
        try:
            spare = self._next_array_index(used[-1] // span, not zero_for_one)
        except QuoteError:
            spare = None
        return opposite + used + ([] if spare is None else [spare * span])
