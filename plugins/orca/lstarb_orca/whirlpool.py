"""The lstarb pool adapter for one Orca Whirlpool.

It decodes the pool, tracks the tick arrays around the price (their PDAs are
derived from the pool alone, so the list moves with the price), the mints
(Token-2022 transfer fees), and for adaptive-fee pools the Oracle and the
Clock sysvar, and quotes with the program's own integer math.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.adaptive_fee import AdaptiveFee, StaticFee
from lstarb_orca.instructions import SwapAccounts, swap_v2_ix
from lstarb_orca.state import (
    DYNAMIC_TICK_ARRAY_DISCRIMINATOR,
    FIXED_TICK_ARRAY_DISCRIMINATOR,
    WHIRLPOOL_DISCRIMINATOR,
    WHIRLPOOL_LEN,
    WHIRLPOOL_PROGRAM_ID,
    Oracle,
    TickArrayState,
    Whirlpool,
    decode_oracle,
    decode_tick_array_state,
    decode_whirlpool,
)
from lstarb_orca.swap_math import ExactInPath, SwapResult, compute_swap
from lstarb_orca.tick_arrays import (
    SWAP_WINDOW,
    TickSequence,
    oracle_address,
    tick_array_address,
    window_starts,
)
from lstarb_sdk import PoolAdapter, Quote, SwapInstructions, SwapParams
from lstarb_sdk.amounts import U64_MAX, check_amount
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.layout import check_owner
from lstarb_sdk.pool import account_unavailable, raise_if_absent
from lstarb_sdk.solana import SYSTEM_PROGRAM_ID, SYSVAR_CLOCK_ID, Clock, vault_amount
from lstarb_sdk.token2022 import TokenMint, TransferFee, amount_received
from lstarb_sdk.types import AccountFilter, ComputeUnits, PoolSummary

TICK_ARRAY_DISCRIMINATORS = (FIXED_TICK_ARRAY_DISCRIMINATOR, DYNAMIC_TICK_ARRAY_DISCRIMINATOR)
MINT_A_OFFSET = 101
MINT_B_OFFSET = 181
MAX_SUPPLEMENTAL_TICK_ARRAYS = 3


def reverse_apply_transfer_fee(amount: int, fee: TransferFee | None) -> int:
    """What must be sent so that ``amount`` arrives: the token program's own pre-fee rule
    (Orca core's ``try_reverse_apply_transfer_fee``, not the DEXes' ``amount_to_send``),
    u64-checked."""
    if fee is None:
        return amount
    result = fee.pre_fee_amount(amount)
    if result > U64_MAX:
        raise QuoteError("Orca Whirlpool: amount with transfer fee exceeds u64")
    return result


def _uninitialized(account: Account | None) -> bool:
    """No account at all, or what the program treats as one nobody created: owned by
    the system program with no data (``maybe_load_tick_array``)."""
    return account is None or (account.owner == SYSTEM_PROGRAM_ID and len(account.data) == 0)


class WhirlpoolPool(PoolAdapter):
    """One Orca Whirlpool (concentrated liquidity), quoted exactly."""

    program_id: ClassVar[Pubkey] = WHIRLPOOL_PROGRAM_ID
    dex: ClassVar[str] = "orca-whirlpool"
    account_size: ClassVar[int | None] = WHIRLPOOL_LEN
    account_discriminator: ClassVar[bytes | None] = WHIRLPOOL_DISCRIMINATOR
    window: ClassVar[int] = SWAP_WINDOW
    """Tick arrays a quote may walk: 3, what one swap instruction can reach."""
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=66_826,
        per_crossing=7_631,
        measured_max=1_355_244,
        source=(
            "orca-so/whirlpool-tx-replayer@4eaa5f14:whirlpool-20250911-366188902.so on the "
            "plugin's fixtures: swap_v2, per initialized tick crossed "
            "(tests/program_oracle/compute_units.json)"
        ),
    )
    """Measured on the deployed program: a swap crossing n initialized ticks took at most
    ``base + n * per_crossing`` units; one crossing 237 ticks did not fit 1.4M."""

    def __init__(self, address: Pubkey, pool: Whirlpool) -> None:
        self._address = address
        self._pool = pool
        self._oracle_pda = oracle_address(address)
        self._arrays: dict[int, TickArrayState] = {}
        self._pda_start: dict[Pubkey, int] = {}
        self._mints: dict[Pubkey, TokenMint] = {}
        self._vaults: dict[Pubkey, int] = {}
        self._missing: set[Pubkey] = set()
        """Pool, mints, vaults or Clock the chain reported as not existing."""
        self._oracle: Oracle | None = None
        self._oracle_loaded = False
        self._clock: Clock | None = None
        self._sequences: dict[bool, TickSequence] = {}
        self._wanted: tuple[tuple[Any, ...], tuple[Pubkey, ...]] | None = None
        """accounts_to_update() and what it depends on (tick, spacing, fee kind, Clock, keys)."""
        self._paths: dict[bool, ExactInPath | None] = {}
        """Exact-in steps by a_to_b (None: swapped once); dropped when the swap could change."""

    # -- construction and state -------------------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> WhirlpoolPool:
        return cls(address, _decode_pool(address, account))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """Whirlpools holding any of ``mints`` on either side: size, discriminator, mint."""
        return AccountFilter.by_mint(
            mints,
            (MINT_A_OFFSET, MINT_B_OFFSET),
            data_size=WHIRLPOOL_LEN,
            discriminator=WHIRLPOOL_DISCRIMINATOR,
        )

    @property
    def address(self) -> Pubkey:
        return self._address

    @cached_property
    def _tag(self) -> str:
        """The pool in messages (base58 is slow: made once, when first needed)."""
        return f"Orca Whirlpool {self._address}"

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._pool.token_mint_a, self._pool.token_mint_b

    @property
    def state(self) -> Whirlpool:
        """The decoded pool account as last updated."""
        return self._pool

    @property
    def oracle_address(self) -> Pubkey:
        return self._oracle_pda

    def tick_array_addresses(self, a_to_b: bool) -> list[Pubkey]:
        """PDAs of the arrays a swap in this direction may use, in walking order."""
        return self._window(self._pool, a_to_b)

    def _window(self, pool: Whirlpool, a_to_b: bool) -> list[Pubkey]:
        out = []
        for start in window_starts(pool.tick_current_index, pool.tick_spacing, a_to_b, self.window):
            pda = tick_array_address(self._address, start)
            self._pda_start[pda] = start
            out.append(pda)
        return out

    def _register_windows(self, pool: Whirlpool) -> None:
        """Derive the window PDAs of ``pool``: a None for one of them is an uninitialized
        array even when no ``accounts_to_update()`` call derived them before."""
        self._window(pool, True)
        self._window(pool, False)

    def accounts_to_update(self) -> list[Pubkey]:
        """Pool, mints, vaults, the tick arrays both directions may walk, Oracle and Clock
        when used."""
        pool = self._pool
        clock = pool.is_adaptive or any(m.needs_clock for m in self._mints.values())
        shape = (
            pool.tick_current_index,
            pool.tick_spacing,
            pool.is_adaptive,
            clock,
            pool.token_mint_a,
            pool.token_mint_b,
            pool.token_vault_a,
            pool.token_vault_b,
        )
        if self._wanted is not None and self._wanted[0] == shape:
            return list(self._wanted[1])  # most updates leave the tick windows where they were
        keys = [
            self._address,
            pool.token_mint_a,
            pool.token_mint_b,
            pool.token_vault_a,
            pool.token_vault_b,
        ]
        for a_to_b in (True, False):
            for pda in self.tick_array_addresses(a_to_b):
                if pda not in keys:
                    keys.append(pda)
        if pool.is_adaptive:
            keys.append(self._oracle_pda)
        if clock:
            keys.append(SYSVAR_CLOCK_ID)
        self._wanted = (shape, tuple(keys))
        return keys

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        """Decode everything first, then commit: a DecodeError leaves the state untouched.

        None (the chain has no such account) is a tick array of 88 uninitialized
        ticks, as the program treats it, or an Oracle that does not exist; for
        the pool, a mint, a vault or the Clock it makes later quotes refuse,
        naming the account.
        """
        pool = self._pool
        seen: dict[Pubkey, bool] = {}  # pool, mint, vault, Clock -> exists
        if self._address in accounts:
            account = accounts[self._address]
            if account is not None:
                pool = _decode_pool(self._address, account)
            seen[self._address] = account is not None
        side = (pool.token_mint_a, pool.token_mint_b, pool.token_vault_a, pool.token_vault_b)
        arrays: dict[int, TickArrayState] = {}
        mints: dict[Pubkey, TokenMint] = {}
        vaults: dict[Pubkey, int] = {}
        oracle: tuple[Oracle | None] | None = None
        clock: Clock | None = None
        for key, account in accounts.items():
            if key in side or key == SYSVAR_CLOCK_ID:
                seen[key] = account is not None
                if account is None:
                    continue
                if key == SYSVAR_CLOCK_ID:
                    clock = Clock.from_account(account)
                elif key == pool.token_mint_a or key == pool.token_mint_b:
                    mints[key] = TokenMint.from_account(key, account, self._mints.get(key))
                else:
                    mint = pool.token_mint_a if key == pool.token_vault_a else pool.token_mint_b
                    vaults[key] = vault_amount(account, f"{self._tag} vault {key}", mint)
            elif key == self._oracle_pda:
                oracle = (self._decode_oracle(account, pool.tick_spacing),)
            else:
                if account is None and key not in self._pda_start:
                    self._register_windows(pool)  # rare: derive only when a None needs it
                if key in self._pda_start or (
                    account is not None and account.owner == WHIRLPOOL_PROGRAM_ID
                ):
                    state = self._decode_tick_array(key, account)
                    if state is not None:
                        arrays[state.start_tick_index] = state
        # Everything decoded: commit.
        self._pool = pool
        for key, exists in seen.items():
            if exists:
                self._missing.discard(key)
            else:
                self._missing.add(key)
                self._mints.pop(key, None)
                self._vaults.pop(key, None)
                if key == SYSVAR_CLOCK_ID:
                    self._clock = None
        self._arrays.update(arrays)
        self._mints.update(mints)
        self._vaults.update(vaults)
        if oracle is not None:
            self._oracle = oracle[0]
            self._oracle_loaded = True
        if clock is not None:
            self._clock = clock
        # The swap reads the pool, its tick arrays and (fees) the Oracle and Clock; a vault or
        # a mint alone (most updates) leaves the tick sequences and the kept steps as they are.
        if self._address in accounts or arrays:
            self._sequences.clear()
            self._paths.clear()
        elif oracle is not None or SYSVAR_CLOCK_ID in accounts:
            self._paths.clear()

    def _decode_oracle(self, account: Account | None, tick_spacing: int) -> Oracle | None:
        if _uninitialized(account):
            return None
        assert account is not None
        if account.owner != WHIRLPOOL_PROGRAM_ID:
            raise DecodeError(f"Oracle: owner is {account.owner}, not the Whirlpool program")
        oracle = decode_oracle(bytes(account.data), tick_spacing)
        if oracle.whirlpool != self._address:
            raise DecodeError(
                f"Oracle: belongs to whirlpool {oracle.whirlpool}, not {self._address}"
            )
        return oracle

    def _decode_tick_array(self, key: Pubkey, account: Account | None) -> TickArrayState | None:
        expected = self._pda_start.get(key)
        if _uninitialized(account):
            if expected is None:
                return None
            return TickArrayState(expected, (), (), exists=False)
        assert account is not None
        if account.owner != WHIRLPOOL_PROGRAM_ID:
            raise DecodeError(
                f"TickArray {key}: owner is {account.owner}, not the Whirlpool program"
            )
        data = bytes(account.data)
        if expected is None and data[:8] not in TICK_ARRAY_DISCRIMINATORS:
            return None  # some other program account (config, fee tier, another pool)
        state, whirlpool = decode_tick_array_state(data)
        if whirlpool != self._address:
            if expected is None:
                return None  # an array of another pool passed along: not ours
            raise DecodeError(
                f"TickArray {key}: belongs to whirlpool {whirlpool}, not {self._address}"
            )
        if expected is not None and state.start_tick_index != expected:
            raise DecodeError(
                f"TickArray {key}: start tick {state.start_tick_index}, its PDA says {expected}"
            )
        return state

    # -- quoting ----------------------------------------------------------------------------

    def _sequence(self, a_to_b: bool) -> TickSequence:
        cached = self._sequences.get(a_to_b)
        if cached is not None:
            return cached
        pool = self._pool
        arrays: list[TickArrayState] = []
        reason = (
            f"not enough liquidity: the swap would leave the {self.window} tick arrays "
            "one swap can reach"
        )
        for start in window_starts(pool.tick_current_index, pool.tick_spacing, a_to_b, self.window):
            state = self._arrays.get(start)
            if state is None:
                pda = tick_array_address(self._address, start)
                self._pda_start[pda] = start
                reason = f"tick array {pda} (start tick {start}) is not loaded"
                break
            arrays.append(state)
        if not arrays:
            raise QuoteError(f"{self._tag}: {reason}")
        seq = TickSequence.build(arrays, pool.tick_spacing, reason)
        self._sequences[a_to_b] = seq
        return seq

    def _unavailable(self, what: str, key: Pubkey) -> QuoteError:
        return account_unavailable(self._tag, what, key, self._missing)

    def _check_missing(self) -> None:
        """The pool or a vault the chain says does not exist: no swap can run."""
        pool = self._pool
        named = (
            ("pool account", self._address),
            ("vault A", pool.token_vault_a),
            ("vault B", pool.token_vault_b),
        )
        raise_if_absent(self._tag, named, self._missing)

    def _fee_manager(self, a_to_b: bool) -> StaticFee | AdaptiveFee:
        pool = self._pool
        if not pool.is_adaptive:
            return StaticFee(pool.fee_rate)
        if not self._oracle_loaded:
            raise QuoteError(f"{self._tag}: Oracle {self._oracle_pda} is not loaded")
        if self._oracle is None:
            raise QuoteError(
                f"{self._tag}: adaptive pool but Oracle {self._oracle_pda} does not exist"
            )
        now = self._now()
        if now < self._oracle.trade_enable_timestamp:
            raise QuoteError(f"{self._tag}: trading is not enabled yet")
        return AdaptiveFee.start(
            a_to_b,
            pool.tick_current_index,
            now,
            pool.fee_rate,
            self._oracle.constants,
            self._oracle.variables,
        )

    def _now(self) -> int:
        if self._clock is None:
            raise self._unavailable("Clock sysvar", SYSVAR_CLOCK_ID)
        return self._clock.unix_timestamp

    def _transfer_fee(self, mint: Pubkey) -> TransferFee | None:
        info = self._mints.get(mint)
        if info is None:
            raise self._unavailable("mint", mint)
        if info.transfer_fee is None:
            return None  # most mints: no call on the hot path
        if info.needs_clock and self._clock is None:
            raise self._unavailable("Clock sysvar", SYSVAR_CLOCK_ID)
        return info.transfer_fee_at(self._clock, self._tag)

    def swap(self, amount: int, a_to_b: bool, exact_in: bool) -> SwapResult:
        """The raw swap (no transfer fees): specified ``amount`` in or out.

        Exact in goes through the state's :class:`ExactInPath`: quotes of one state at
        many sizes (a sizing search) then share the steps they have in common.
        """
        pool = self._pool
        if exact_in and a_to_b in self._paths:  # a second swap on this state: keep its steps
            path = self._paths[a_to_b]
            if path is None:
                path = ExactInPath(
                    pool.sqrt_price,
                    pool.tick_current_index,
                    pool.liquidity,
                    self._sequence(a_to_b),
                    self._fee_manager(a_to_b),
                    a_to_b,
                )
                self._paths[a_to_b] = path
            res = path.swap(amount)
            if res is not None:
                return res
        elif exact_in:
            self._paths[a_to_b] = None  # one swap (the book's probe) is cheaper walked
        return compute_swap(
            amount,
            pool.sqrt_price,
            pool.tick_current_index,
            pool.liquidity,
            self._sequence(a_to_b),
            self._fee_manager(a_to_b),
            a_to_b,
            exact_in,
        )

    def swap_compute_units(self, amount: int, input_mint: Pubkey) -> int:
        """The measured fit at the initialized ticks this swap crosses (the count the program
        oracle fitted). ``amount`` is taken before any transfer fee: at least what the pool
        receives, so the count is never under. The largest measured when it cannot quote."""
        units = type(self).compute_units
        pool = self._pool
        if input_mint not in (pool.token_mint_a, pool.token_mint_b):
            return units.estimate(None)
        try:
            crossed = self.swap(amount, input_mint == pool.token_mint_a, True).ticks_crossed
        except QuoteError:
            return units.estimate(None)
        return units.estimate(crossed)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        """Exact quote; transfer fees are off both sides, ``fee_amount`` is the pool's fee."""
        a, b = self._pool.token_mint_a, self._pool.token_mint_b
        if input_mint == a:
            a_to_b, output_mint = True, b
        elif input_mint == b:
            a_to_b, output_mint = False, a
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not in the pool")
        check_amount(amount, self._tag)
        if self._missing:
            self._check_missing()
        fee_in = self._transfer_fee(input_mint)
        fee_out = self._transfer_fee(output_mint)
        if exact_in:
            res = self.swap(amount_received(amount, fee_in), a_to_b, True)
            return Quote(
                reverse_apply_transfer_fee(res.amount_in, fee_in),
                amount_received(res.amount_out, fee_out),
                res.trade_fee,
                input_mint,
            )
        res = self.swap(reverse_apply_transfer_fee(amount, fee_out), a_to_b, False)
        if res.remaining:
            raise QuoteError(
                f"{self._tag}: not enough liquidity for {amount} out "
                "(the swap would be a partial fill)"
            )
        return Quote(
            reverse_apply_transfer_fee(res.amount_in, fee_in),
            amount_received(res.amount_out, fee_out),
            res.trade_fee,
            input_mint,
        )

    def summary(self) -> PoolSummary | None:
        """Vault balances, the active liquidity L and the fee rate a swap would start at
        (base plus the adaptive part at the Clock's time); None until a quote can run."""
        pool = self._pool
        reserve_a = self._vaults.get(pool.token_vault_a)
        reserve_b = self._vaults.get(pool.token_vault_b)
        if reserve_a is None or reserve_b is None:
            return None
        try:
            if self._missing:
                self._check_missing()
            self._transfer_fee(pool.token_mint_a)
            self._transfer_fee(pool.token_mint_b)
            self._sequence(True)
            self._sequence(False)
            fee = self._fee_manager(True)
        except QuoteError:
            return None
        fee.update_volatility_accumulator()
        return PoolSummary(reserve_a, reserve_b, pool.liquidity, fee.total_fee_rate())

    # -- instructions -----------------------------------------------------------------------

    def swap_instruction(
        self, params: SwapParams, *, sqrt_price_limit: int = 0
    ) -> SwapInstructions:
        """``swap_v2`` with the tick arrays of both directions.

        The swap's own window fills tick_array_0..2; the other direction's
        arrays go in as supplemental tick arrays, so a price that moves back
        across an array boundary before the transaction lands still finds the
        arrays the program picks then. Arrays that do not exist are passed as
        their PDAs: the program treats them as uninitialized.
        ``sqrt_price_limit`` 0 means none: the program then refuses a partial
        exact-out fill instead of paying out less.
        """
        pool = self._pool
        self.other_mint(params.input_mint)  # QuoteError for a mint not in the pool
        a_to_b = params.input_mint == pool.token_mint_a
        infos = []
        for mint in (pool.token_mint_a, pool.token_mint_b):
            info = self._mints.get(mint)
            if info is None:
                raise self._unavailable("mint", mint)
            if info.transfer_hook is not None:
                raise QuoteError(
                    f"{self._tag}: mint {mint} has a transfer hook, whose extra "
                    "accounts this adapter does not resolve"
                )
            infos.append(info)
        if a_to_b:
            owner_a, owner_b = params.user_source_token, params.user_destination_token
        else:
            owner_a, owner_b = params.user_destination_token, params.user_source_token
        arrays = self.tick_array_addresses(a_to_b)
        static = (arrays + arrays[-1:] * 2)[:3]  # the program deduplicates
        supplemental = [pda for pda in self.tick_array_addresses(not a_to_b) if pda not in arrays][
            :MAX_SUPPLEMENTAL_TICK_ARRAYS
        ]
        accounts = SwapAccounts(
            token_authority=params.user,
            whirlpool=self._address,
            token_mint_a=pool.token_mint_a,
            token_mint_b=pool.token_mint_b,
            token_program_a=infos[0].program,
            token_program_b=infos[1].program,
            token_owner_account_a=owner_a,
            token_vault_a=pool.token_vault_a,
            token_owner_account_b=owner_b,
            token_vault_b=pool.token_vault_b,
            tick_arrays=(static[0], static[1], static[2]),
            oracle=self._oracle_pda,
            supplemental_tick_arrays=tuple(supplemental),
        )
        ix = swap_v2_ix(
            accounts,
            params.amount,
            params.other_amount_threshold,
            sqrt_price_limit,
            params.exact_in,
            a_to_b,
        )
        return SwapInstructions(instructions=[ix])


def _decode_pool(address: Pubkey, account: Account) -> Whirlpool:
    check_owner(account, WHIRLPOOL_PROGRAM_ID, f"Whirlpool {address}")
    return decode_whirlpool(account.data)
