"""The Meteora DLMM pool adapter: state bookkeeping around the swap loop."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import instructions as ix
from lstarb_meteora.dlmm.bitmap import (
    bin_array_address,
    bin_array_index,
    bitmap_extension_address,
    next_bin_array_index,
)
from lstarb_meteora.dlmm.constants import (
    ACTIVATION_SLOT,
    BIN_ARRAY_DISCRIMINATOR,
    BIN_ARRAY_LEN,
    FEE_PRECISION,
    LB_PAIR_DISCRIMINATOR,
    LB_PAIR_LEN,
    MAX_BIN_PER_ARRAY,
    PROGRAM_ID,
    SCALE_OFFSET,
)
from lstarb_meteora.dlmm.fees import VolatilityState, total_fee_rate
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair
from lstarb_meteora.dlmm.swap import ExactInPath, SwapResult, swap_exact_in, swap_exact_out
from lstarb_sdk import PoolAdapter, Quote, SwapInstructions, SwapParams
from lstarb_sdk.amounts import PPM_DENOMINATOR, ceil_div
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.pool import account_unavailable, raise_if_absent
from lstarb_sdk.solana import (
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Clock,
    vault_amount,
)
from lstarb_sdk.token2022 import TokenMint, TransferFee, amount_received, amount_to_send
from lstarb_sdk.types import AccountFilter, ComputeUnits, PoolSummary

TOKEN_X_MINT_OFFSET = 88
TOKEN_Y_MINT_OFFSET = 120
_PPM = FEE_PRECISION // PPM_DENOMINATOR


@dataclass(frozen=True, slots=True)
class DlmmQuote:
    """A quote with the pool-side detail behind it.

    ``swap`` is the pool's side of the trade (amounts as the reserves see
    them); ``quote`` is the trader's (Token-2022 transfer fees applied).
    ``bin_arrays`` are the arrays the swap walks, in order: the swap
    instruction's remaining accounts.
    """

    quote: Quote
    swap: SwapResult
    bin_arrays: tuple[Pubkey, ...]


def _reward_updated(pair: LbPair) -> int:
    """The latest farming reward update: a swap cannot run at an earlier Clock."""
    first, second = pair.reward_infos
    return max(first.last_update_time, second.last_update_time)


def _token_program(flag: int) -> Pubkey:
    return TOKEN_2022_PROGRAM_ID if flag == 1 else TOKEN_PROGRAM_ID


class DlmmPool(PoolAdapter):
    """One Meteora DLMM (lb_clmm) pair.

    Quotes depend on the pair, the bin arrays the swap walks, the bitmap
    extension (wide pairs only), the Clock (variable fee; epoch for
    Token-2022 fees) and, for Token-2022 mints, the mints; the reserves give
    the summary and must exist for a swap to run.
    """

    program_id: ClassVar[Pubkey] = PROGRAM_ID
    dex: ClassVar[str] = "meteora-dlmm"
    account_size: ClassVar[int | None] = LB_PAIR_LEN
    account_discriminator: ClassVar[bytes | None] = LB_PAIR_DISCRIMINATOR
    compute_units: ClassVar[ComputeUnits] = ComputeUnits(
        base=64_401,
        per_crossing=8_747,
        measured_max=803_421,
        source=(
            "MeteoraAg/dlmm-sdk@fb02e51a:commons/tests/artifacts/lb_clmm_prod.so on the plugin's "
            "fixtures: swap2 / swap_exact_out2, per bin moved "
            "(tests/program_oracle/compute_units.json)"
        ),
    )
    """Measured on the production program: base plus a cost per bin the price moves."""
    #: Initialized bin arrays listed on each side of the active one.
    arrays_each_side: ClassVar[int] = 2
    #: Arrays beyond the quoted walk added to a swap instruction, so the swap
    #: survives the price moving a little before it lands.
    extra_bin_arrays: ClassVar[int] = 1
    #: Initialized arrays on the other side of the active bin added to a swap
    #: instruction, so the swap survives the price moving back across an array
    #: boundary before it lands.
    other_side_bin_arrays: ClassVar[int] = 1

    def __init__(self, address: Pubkey, pair: LbPair) -> None:
        self._address = address
        self._pair = pair
        self._reward_updated = _reward_updated(pair)
        self._arrays: dict[int, BinArray] = {}
        self._absent_arrays: set[int] = set()
        self._array_keys: dict[int, Pubkey] = {}
        self._key_index: dict[Pubkey, int] = {}
        self._extension_pda: Pubkey | None = None  # derived on first use: slow
        self._extension: BinArrayBitmapExtension | None = None
        self._extension_absent = False
        self._clock: Clock | None = None
        self._mints: dict[Pubkey, TokenMint] = {}
        self._reserves: dict[Pubkey, int] = {}
        self._payout_limits: tuple[int | None, int | None] = (None, None)
        """Reserve X, reserve Y balances (None: unknown), by ``swap_for_y``: a swap cannot
        pay out more than the reserve holds (the token transfer fails)."""
        self._missing: set[Pubkey] = set()
        """Pair, Clock, mints or reserves the chain reported as not existing."""
        self._paths: dict[bool, ExactInPath | None] = {}
        """The exact-in walk of this state by ``swap_for_y`` (None: swapped once); every
        update drops it."""
        self._reads: tuple[LbPair, BinArrayBitmapExtension | None, list[Pubkey]] | None = None
        """``accounts_to_update()`` as of a pair state and bitmap extension: a Clock-only or
        reserve-only update (every slot) leaves both, and walking the bitmaps again for the
        same answer was a third of what such an update cost."""

    # -- construction -------------------------------------------------

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> DlmmPool:
        return cls(address, LbPair.from_account(account))

    @classmethod
    def discovery_filters(cls, mints: Collection[Pubkey]) -> Sequence[AccountFilter]:
        """Pairs trading any of ``mints`` as X or Y: size, discriminator, mint."""
        return AccountFilter.by_mint(
            mints,
            (TOKEN_X_MINT_OFFSET, TOKEN_Y_MINT_OFFSET),
            data_size=LB_PAIR_LEN,
            discriminator=LB_PAIR_DISCRIMINATOR,
        )

    @property
    def address(self) -> Pubkey:
        return self._address

    @cached_property
    def _tag(self) -> str:
        """The pair in messages (base58 is slow: made once, when first needed)."""
        return f"{self.dex} pair {self._address}"

    @property
    def mints(self) -> tuple[Pubkey, Pubkey]:
        return self._pair.token_x_mint, self._pair.token_y_mint

    @property
    def pair(self) -> LbPair:
        """The decoded pair account, as last updated."""
        return self._pair

    @property
    def bitmap_extension_address(self) -> Pubkey:
        """PDA of the pair's bitmap extension (which may not exist on chain)."""
        if self._extension_pda is None:
            self._extension_pda = bitmap_extension_address(self._address)
        return self._extension_pda

    def bin_array_key(self, index: int) -> Pubkey:
        """The bin array PDA for ``index`` (cached: derivation is slow)."""
        key = self._array_keys.get(index)
        if key is None:
            key = bin_array_address(self._address, index)
            self._array_keys[index] = key
            self._key_index[key] = index
        return key

    # -- what to fetch ------------------------------------------------

    def _arrays_around(
        self, swap_for_y: bool, count: int, start_bin: int, pair: LbPair | None = None
    ) -> list[int]:
        found: list[int] = []
        bin_id = start_bin
        pair = pair or self._pair
        while len(found) < count:
            index = next_bin_array_index(swap_for_y, bin_id, pair.bin_array_bitmap, self._extension)
            if index is None:
                break
            found.append(index)
            lower = index * MAX_BIN_PER_ARRAY
            bin_id = lower - 1 if swap_for_y else lower + MAX_BIN_PER_ARRAY
        return found

    def bin_array_indexes(self, pair: LbPair | None = None) -> list[int]:
        """Initialized arrays around the active bin: its own and
        ``arrays_each_side`` more each way (from the bitmaps)."""
        pair = pair or self._pair
        active = pair.active_id
        n = self.arrays_each_side + 1
        down = self._arrays_around(True, n, active, pair)
        up = self._arrays_around(False, n, active, pair)
        return sorted(set(down) | set(up))

    def _mint_accounts(self) -> list[Pubkey]:
        pair = self._pair
        out = []
        if pair.token_mint_x_program_flag == 1:
            out.append(pair.token_x_mint)
        if pair.token_mint_y_program_flag == 1:
            out.append(pair.token_y_mint)
        return out

    def _register_arrays(self, pair: LbPair) -> None:
        """Derive the PDAs of the arrays around ``pair``'s active bin: a None for one of
        them is "no such array" even when no ``accounts_to_update()`` call derived
        them before. Derivation is slow, so only a None for an unknown key asks."""
        for index in self.bin_array_indexes(pair):
            self.bin_array_key(index)

    def accounts_to_update(self) -> list[Pubkey]:
        pair = self._pair
        cached = self._reads
        if cached is not None and cached[0] is pair and cached[1] is self._extension:
            return list(cached[2])
        keys = [self._address, SYSVAR_CLOCK_ID, self.bitmap_extension_address]
        keys += self._mint_accounts()
        keys += [pair.reserve_x, pair.reserve_y]
        keys += [self.bin_array_key(i) for i in self.bin_array_indexes()]
        self._reads = (pair, self._extension, keys)
        return list(keys)

    # -- refresh ------------------------------------------------------

    def _decode_bin_array(self, key: Pubkey, account: Account) -> BinArray:
        arr = BinArray.from_account(account)
        if arr.lb_pair != self._address:
            raise DecodeError(f"BinArray {key}: belongs to pair {arr.lb_pair}, not {self._address}")
        if self.bin_array_key(arr.index) != key:
            raise DecodeError(f"BinArray {key}: index {arr.index} does not match its address")
        return arr

    def _quotes_same_under(self, clock: Clock) -> bool:
        """Whether a new Clock changes nothing a quote reads: the same second (volatility,
        activation by time, the rewards' check) and epoch (transfer fees), and for a pair
        activated by slot the same side of its activation point. The Clock moves every slot,
        and re-deriving the quote paths for nothing cost every book."""
        held = self._clock
        if held is None:
            return False
        if (clock.unix_timestamp, clock.epoch) != (held.unix_timestamp, held.epoch):
            return False
        point = self._pair.activation_point
        return self._pair.activation_type != ACTIVATION_SLOT or (clock.slot < point) == (
            held.slot < point
        )

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> bool | None:
        """Decode everything first, then commit: a DecodeError leaves the state untouched.

        None (the chain has no such account) for a bin array marks it absent: a
        walk that needs it refuses, naming it, and never reads it as liquidity.
        For the bitmap extension it means the pair's own bitmap is all there is.
        For the pair, the Clock, a mint or a reserve it makes quotes refuse.
        Returns False for a Clock that changes nothing a quote reads (:meth:`_quotes_same_under`).
        """
        account = accounts.get(SYSVAR_CLOCK_ID)
        if account is not None and len(accounts) == 1:
            clock = Clock.from_account(account)
            if self._quotes_same_under(clock):
                self._clock = clock
                return False
        pair = self._pair
        seen: dict[Pubkey, bool] = {}  # pair, Clock, mints, reserves -> exists
        if self._address in accounts:
            account = accounts[self._address]
            if account is not None:
                pair = LbPair.from_account(account)
            seen[self._address] = account is not None
        arrays: dict[int, BinArray] = {}
        absent_arrays: set[int] = set()
        extension: tuple[BinArrayBitmapExtension | None] | None = None
        clock: Clock | None = None
        mints: dict[Pubkey, TokenMint] = {}
        reserves: dict[Pubkey, int] = {}
        mint_flags = {
            pair.token_x_mint: pair.token_mint_x_program_flag,
            pair.token_y_mint: pair.token_mint_y_program_flag,
        }
        reserve_mints = {pair.reserve_x: pair.token_x_mint, pair.reserve_y: pair.token_y_mint}
        for key, account in accounts.items():
            if key == self._address:
                continue
            if key == SYSVAR_CLOCK_ID or key in mint_flags or key in reserve_mints:
                seen[key] = account is not None
                if account is None:
                    continue
                if key == SYSVAR_CLOCK_ID:
                    clock = Clock.from_account(account)
                elif key in mint_flags:
                    mints[key] = self._decode_mint(key, account, _token_program(mint_flags[key]))
                else:
                    name = f"{self._tag} reserve {key}"
                    reserves[key] = vault_amount(account, name, reserve_mints[key])
            elif key == self.bitmap_extension_address:
                extension = (None if account is None else self._decode_extension(key, account),)
            elif account is None:
                if key not in self._key_index:
                    self._register_arrays(pair)
                index = self._key_index.get(key)
                if index is not None:
                    absent_arrays.add(index)
            elif (
                account.owner == PROGRAM_ID
                and len(account.data) == BIN_ARRAY_LEN
                and bytes(account.data[:8]) == BIN_ARRAY_DISCRIMINATOR
            ) or key in self._key_index:
                # A listed bin array must be one; others of this program pass through.
                arr = self._decode_bin_array(key, account)
                arrays[arr.index] = arr
        # Everything decoded: commit.
        self._paths = {}
        self._pair = pair
        self._reward_updated = _reward_updated(pair)
        for key, exists in seen.items():
            if exists:
                self._missing.discard(key)
            else:
                self._missing.add(key)
                self._mints.pop(key, None)
                self._reserves.pop(key, None)
                if key == SYSVAR_CLOCK_ID:
                    self._clock = None
        for index in absent_arrays:
            self._arrays.pop(index, None)
        self._absent_arrays |= absent_arrays
        self._absent_arrays -= arrays.keys()
        self._arrays.update(arrays)
        if extension is not None:
            self._extension = extension[0]
            self._extension_absent = extension[0] is None
        if clock is not None:
            self._clock = clock
        self._mints.update(mints)
        self._reserves.update(reserves)
        self._payout_limits = (
            self._reserves.get(pair.reserve_x),
            self._reserves.get(pair.reserve_y),
        )

    def _decode_extension(self, key: Pubkey, account: Account) -> BinArrayBitmapExtension:
        extension = BinArrayBitmapExtension.from_account(account)
        if extension.lb_pair != self._address:
            raise DecodeError(f"BinArrayBitmapExtension {key}: belongs to pair {extension.lb_pair}")
        return extension

    def _decode_mint(self, key: Pubkey, account: Account, token_program: Pubkey) -> TokenMint:
        mint = TokenMint.from_account(key, account, self._mints.get(key))
        if mint.program != token_program:
            raise DecodeError(f"mint {key}: owner is {mint.program}, the pair says {token_program}")
        return mint

    # -- quoting ------------------------------------------------------

    def _unavailable(self, what: str, key: Pubkey) -> QuoteError:
        return account_unavailable(self._tag, what, key, self._missing)

    def _check_missing(self) -> None:
        """The pair or a reserve the chain says does not exist: no swap can run."""
        pair = self._pair
        named = (
            ("pair account", self._address),
            ("reserve X", pair.reserve_x),
            ("reserve Y", pair.reserve_y),
        )
        raise_if_absent(self._tag, named, self._missing)

    def _transfer_fee(self, mint: Pubkey, flag: int, clock: Clock) -> TransferFee | None:
        if flag != 1:
            return None
        info = self._mints.get(mint)
        if info is None:
            raise self._unavailable("Token-2022 mint", mint)
        return info.transfer_fee_at(clock, self._tag)

    def _array_unavailable(self, index: int) -> QuoteError:
        key = self.bin_array_key(index)
        if index in self._absent_arrays:
            state = "does not exist, though the pair's bitmap marks it initialized"
        else:
            state = "not loaded"
        return QuoteError(f"{self._tag}: bin array {index} ({key}) {state}")

    def _exhausted(self, swap_for_y: bool, bin_id: int) -> QuoteError:
        unknown = self._extension is None and not self._extension_absent
        return QuoteError(
            f"{self._tag}: insufficient liquidity, no initialized bin array "
            f"{'below' if swap_for_y else 'above'} bin {bin_id}"
            + (f" (bitmap extension {self.bitmap_extension_address} not loaded)" if unknown else "")
        )

    def _check_tradable(self, clock: Clock) -> None:
        pair = self._pair
        if pair.status != 0:
            raise QuoteError(f"{self._tag}: disabled (status {pair.status})")
        now = clock.slot if pair.activation_type == ACTIVATION_SLOT else clock.unix_timestamp
        if now < pair.activation_point:
            raise QuoteError(f"{self._tag}: not active until {pair.activation_point}")
        # A swap first brings the farming rewards up to the Clock; a Clock earlier than a
        # reward's last update makes that fail (6018 MathOverflow, seen on the program).
        if clock.unix_timestamp < self._reward_updated:
            raise QuoteError(
                f"{self._tag}: Clock unix_timestamp {clock.unix_timestamp} is before the "
                f"farming reward's last update {self._reward_updated}: the program fails "
                "such a swap (MathOverflow)"
            )

    def _tradable_clock(self) -> Clock:
        if self._missing:
            self._check_missing()
        clock = self._clock
        if clock is None:
            raise self._unavailable("Clock", SYSVAR_CLOCK_ID)
        self._check_tradable(clock)
        return clock

    def quote_detailed(
        self, amount: int, input_mint: Pubkey, *, exact_in: bool = True
    ) -> DlmmQuote:
        """:meth:`quote` with the pool-side detail and the bin arrays walked."""
        pair = self._pair
        if input_mint == pair.token_x_mint:
            swap_for_y = True
        elif input_mint == pair.token_y_mint:
            swap_for_y = False
        else:
            raise QuoteError(f"{self._tag}: mint {input_mint} is not traded")
        if amount <= 0:
            raise QuoteError(f"{self._tag}: amount must be positive")
        clock = self._tradable_clock()
        fx = self._transfer_fee(pair.token_x_mint, pair.token_mint_x_program_flag, clock)
        fy = self._transfer_fee(pair.token_y_mint, pair.token_mint_y_program_flag, clock)
        fee_in, fee_out = (fx, fy) if swap_for_y else (fy, fx)
        output_mint = pair.token_y_mint if swap_for_y else pair.token_x_mint
        now = clock.unix_timestamp
        arrays, unavailable, exhausted, extension = (
            self._arrays,
            self._array_unavailable,
            self._exhausted,
            self._extension,
        )
        if exact_in:
            pool_in = amount_received(amount, fee_in)
            if swap_for_y in self._paths:  # a second swap on this state: keep its walk
                path = self._paths[swap_for_y]
                if path is None or path.now != now:
                    path = self._paths[swap_for_y] = ExactInPath(
                        pair, arrays, unavailable, exhausted, extension, swap_for_y, now
                    )
                res = path.swap(pool_in)
            else:  # one swap (the book's probe) is cheaper walked
                self._paths[swap_for_y] = None
                res = swap_exact_in(
                    pair, arrays, unavailable, exhausted, extension, swap_for_y, now, pool_in
                )
            q_in = amount
            q_out = amount_received(res.amount_out, fee_out)
            if not q_out:
                raise QuoteError(
                    f"{self._tag}: {amount} in buys nothing out, which the "
                    "program refuses (InsufficientOutAmount)"
                )
        else:
            pool_out = amount_to_send(amount, fee_out)
            res = swap_exact_out(
                pair, arrays, unavailable, exhausted, extension, swap_for_y, now, pool_out
            )
            q_in = amount_to_send(res.amount_in, fee_in)
            q_out = amount
        reserve = self._payout_limits[swap_for_y]
        if reserve is not None and res.amount_out > reserve:
            raise QuoteError(
                f"{self._tag}: the swap pays out {res.amount_out} but reserve "
                f"{pair.reserve_y if swap_for_y else pair.reserve_x} holds {reserve}: "
                "the token transfer fails"
            )
        quote = Quote(
            q_in,
            q_out,
            res.fee + res.protocol_fee,
            input_mint if res.fee_on_input else output_mint,
        )
        keys = tuple(self.bin_array_key(i) for i in res.bin_arrays)
        return DlmmQuote(quote, res, keys)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        return self.quote_detailed(amount, input_mint, exact_in=exact_in).quote

    def swap_compute_units(self, amount: int, input_mint: Pubkey) -> int:
        """The measured fit at the bins this swap moves the active bin by (what the program
        oracle counted); the largest measured when the quote is refused."""
        units = type(self).compute_units
        try:
            end = self.quote_detailed(amount, input_mint).swap.end_bin
        except QuoteError:
            return units.estimate(None)
        if end is None:
            return units.estimate(None)
        return units.estimate(abs(end - self._pair.active_id))

    def summary(self) -> PoolSummary | None:
        """Reserve balances, the active bin's liquidity and the fee rate a swap would pay in
        it now; None until a quote can run.

        The liquidity is the program's ``price * x + y`` of the active bin, in token Y
        units (``price`` is Y per X, so X is valued at the bin's price); the fee is the
        base plus the variable fee in the active bin at the Clock's time, in ppm rounded
        up (the program counts 10^-9 and rounds fees up).
        """
        pair = self._pair
        reserve_x = self._reserves.get(pair.reserve_x)
        reserve_y = self._reserves.get(pair.reserve_y)
        if reserve_x is None or reserve_y is None:
            return None
        try:
            clock = self._tradable_clock()
            self._transfer_fee(pair.token_x_mint, pair.token_mint_x_program_flag, clock)
            self._transfer_fee(pair.token_y_mint, pair.token_mint_y_program_flag, clock)
        except QuoteError:
            return None
        active = pair.active_id
        index = bin_array_index(active)
        array = self._arrays.get(index)
        if array is not None:
            ax, ay, price, *_ = array.swap_view(active - array.lower_bin_id, False)
            liquidity = ((ax * price) >> SCALE_OFFSET) + ay
        elif next_bin_array_index(True, active, pair.bin_array_bitmap, self._extension) == index:
            return None  # initialized but not loaded
        else:
            liquidity = 0  # the active bin sits in a gap between arrays: nothing there
        sp = pair.parameters
        vol = VolatilityState.at(pair.v_parameters, sp, active, clock.unix_timestamp)
        vol.enter_bin(active, sp)
        rate = total_fee_rate(pair.bin_step, sp, vol.volatility_accumulator)
        return PoolSummary(reserve_x, reserve_y, liquidity, ceil_div(rate, _PPM))

    # -- instructions -------------------------------------------------

    def _swap_bin_arrays(self, params: SwapParams, swap_for_y: bool) -> list[Pubkey]:
        """The walk, ``extra_bin_arrays`` beyond it, then ``other_side_bin_arrays`` on the
        other side of the active bin.

        The program looks the arrays up by index among the remaining accounts, in any
        order, and fails on one that is not a bin array when the walk reaches it: so an
        array the chain does not have is left out, and one behind the price lets the swap
        land after the price moved back across an array boundary.
        """
        try:
            walked = self.quote_detailed(
                params.amount, params.input_mint, exact_in=params.exact_in
            ).swap.bin_arrays
        except QuoteError:
            walked = []
        active = self._pair.active_id
        if walked:
            last = walked[-1] * MAX_BIN_PER_ARRAY
            start = last - 1 if swap_for_y else last + MAX_BIN_PER_ARRAY
            walked = walked + self._arrays_around(swap_for_y, self.extra_bin_arrays, start)
        else:
            walked = self._arrays_around(swap_for_y, 1 + self.extra_bin_arrays, active)
        behind = self._arrays_around(not swap_for_y, 1 + self.other_side_bin_arrays, active)
        chosen = dict.fromkeys(walked + behind)
        return [self.bin_array_key(i) for i in chosen if i not in self._absent_arrays]

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        pair = self._pair
        if params.input_mint == pair.token_x_mint:
            swap_for_y = True
        elif params.input_mint == pair.token_y_mint:
            swap_for_y = False
        else:
            raise QuoteError(f"{self._tag}: mint {params.input_mint} not traded")
        hooked = [m for m, info in self._mints.items() if info.transfer_hook is not None]
        if hooked:
            raise QuoteError(
                f"{self._tag}: transfer-hook mints are not supported "
                f"({', '.join(map(str, hooked))})"
            )
        accounts = ix.swap_accounts(
            lb_pair=self._address,
            bitmap_extension=self.bitmap_extension_address if self._extension is not None else None,
            reserve_x=pair.reserve_x,
            reserve_y=pair.reserve_y,
            user_token_in=params.user_source_token,
            user_token_out=params.user_destination_token,
            token_x_mint=pair.token_x_mint,
            token_y_mint=pair.token_y_mint,
            oracle=pair.oracle,
            user=params.user,
            token_x_program=_token_program(pair.token_mint_x_program_flag),
            token_y_program=_token_program(pair.token_mint_y_program_flag),
            bin_arrays=self._swap_bin_arrays(params, swap_for_y),
        )
        if params.exact_in:
            instruction = ix.swap2(params.amount, params.other_amount_threshold, accounts)
        else:
            instruction = ix.swap_exact_out2(params.other_amount_threshold, params.amount, accounts)
        return SwapInstructions([instruction])
