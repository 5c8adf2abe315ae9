"""The Meteora DLMM pool adapter: state bookkeeping around the swap loop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm import instructions as ix
from lstarb_meteora.dlmm.bitmap import (
    bin_array_address,
    bitmap_extension_address,
    next_bin_array_index,
)
from lstarb_meteora.dlmm.constants import (
    ACTIVATION_SLOT,
    BIN_ARRAY_DISCRIMINATOR,
    BIN_ARRAY_LEN,
    LB_PAIR_DISCRIMINATOR,
    LB_PAIR_LEN,
    MAX_BIN_PER_ARRAY,
    PROGRAM_ID,
)
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair
from lstarb_meteora.dlmm.swap import SwapResult, swap_exact_in, swap_exact_out
from lstarb_sdk import PoolAdapter, Quote, SwapInstructions, SwapParams
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.solana import (
    SYSVAR_CLOCK_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Clock,
)
from lstarb_sdk.token2022 import TransferFee, mint_extensions, transfer_fee_config

_EXTENSION_TRANSFER_HOOK = 14
_NO_FEE = TransferFee(0, 0, 0)


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


def _token_program(flag: int) -> Pubkey:
    return TOKEN_2022_PROGRAM_ID if flag == 1 else TOKEN_PROGRAM_ID


class DlmmPool(PoolAdapter):
    """One Meteora DLMM (lb_clmm) pair.

    Quotes depend on the pair, the bin arrays the swap walks, the bitmap
    extension (wide pairs only), the Clock (variable fee; epoch for
    Token-2022 fees) and, for Token-2022 mints, the mints.
    """

    program_id: ClassVar[Pubkey] = PROGRAM_ID
    dex: ClassVar[str] = "meteora-dlmm"
    #: Initialized bin arrays listed on each side of the active one.
    arrays_each_side: ClassVar[int] = 2
    #: Arrays beyond the quoted walk added to a swap instruction, so the swap
    #: survives the price moving a little before it lands.
    extra_bin_arrays: ClassVar[int] = 1

    def __init__(self, address: Pubkey, pair: LbPair) -> None:
        self._address = address
        self._pair = pair
        self._arrays: dict[int, BinArray] = {}
        self._array_keys: dict[int, Pubkey] = {}
        self._key_index: dict[Pubkey, int] = {}
        self._extension_pda: Pubkey | None = None  # derived on first use: slow
        self._extension: BinArrayBitmapExtension | None = None
        self._clock: Clock | None = None
        self._mint_fees: dict[Pubkey, object] = {}
        self._hooked: set[Pubkey] = set()

    # -- construction -------------------------------------------------

    @classmethod
    def matches(cls, account: Account) -> bool:
        data = account.data
        return (
            account.owner == PROGRAM_ID
            and len(data) == LB_PAIR_LEN
            and bytes(data[:8]) == LB_PAIR_DISCRIMINATOR
        )

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> DlmmPool:
        return cls(address, LbPair.from_account(account))

    @property
    def address(self) -> Pubkey:
        return self._address

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

    def _arrays_around(self, swap_for_y: bool, count: int, start_bin: int) -> list[int]:
        found: list[int] = []
        bin_id = start_bin
        pair = self._pair
        while len(found) < count:
            index = next_bin_array_index(swap_for_y, bin_id, pair.bin_array_bitmap, self._extension)
            if index is None:
                break
            found.append(index)
            lower = index * MAX_BIN_PER_ARRAY
            bin_id = lower - 1 if swap_for_y else lower + MAX_BIN_PER_ARRAY
        return found

    def bin_array_indexes(self) -> list[int]:
        """Initialized arrays around the active bin: its own and
        ``arrays_each_side`` more each way (from the bitmaps)."""
        active = self._pair.active_id
        n = self.arrays_each_side + 1
        down = self._arrays_around(True, n, active)
        up = self._arrays_around(False, n, active)
        return sorted(set(down) | set(up))

    def _mint_accounts(self) -> list[Pubkey]:
        pair = self._pair
        out = []
        if pair.token_mint_x_program_flag == 1:
            out.append(pair.token_x_mint)
        if pair.token_mint_y_program_flag == 1:
            out.append(pair.token_y_mint)
        return out

    def accounts_to_update(self) -> list[Pubkey]:
        keys = [self._address, SYSVAR_CLOCK_ID, self.bitmap_extension_address]
        keys += self._mint_accounts()
        keys += [self.bin_array_key(i) for i in self.bin_array_indexes()]
        return keys

    # -- refresh ------------------------------------------------------

    def _decode_bin_array(self, key: Pubkey, account: Account) -> BinArray:
        arr = BinArray.from_account(account)
        if arr.lb_pair != self._address:
            raise DecodeError(f"BinArray {key}: belongs to pair {arr.lb_pair}, not {self._address}")
        if self.bin_array_key(arr.index) != key:
            raise DecodeError(f"BinArray {key}: index {arr.index} does not match its address")
        return arr

    def update(self, accounts: Mapping[Pubkey, Account]) -> None:
        pair = self._pair
        arrays: dict[int, BinArray] = {}
        extension = self._extension
        clock = self._clock
        mint_fees: dict[Pubkey, object] = {}
        hooked: dict[Pubkey, bool] = {}
        for key, account in accounts.items():
            if key == self._address:
                pair = LbPair.from_account(account)
            elif key == SYSVAR_CLOCK_ID:
                clock = Clock.decode(bytes(account.data))
            elif key == self.bitmap_extension_address:
                extension = BinArrayBitmapExtension.from_account(account)
                if extension.lb_pair != self._address:
                    raise DecodeError(
                        f"BinArrayBitmapExtension {key}: belongs to pair {extension.lb_pair}"
                    )
            elif key == pair.token_x_mint or key == pair.token_y_mint:
                data = bytes(account.data)
                name = f"mint {key}"
                mint_fees[key] = transfer_fee_config(data, name=name)
                hook = mint_extensions(data, name=name).get(_EXTENSION_TRANSFER_HOOK)
                hooked[key] = hook is not None and any(hook[32:64])
            elif (
                account.owner == PROGRAM_ID
                and len(account.data) == BIN_ARRAY_LEN
                and bytes(account.data[:8]) == BIN_ARRAY_DISCRIMINATOR
            ):
                arr = self._decode_bin_array(key, account)
                arrays[arr.index] = arr
            elif key in self._key_index:
                # A listed bin array whose bytes are not a bin array.
                self._decode_bin_array(key, account)
        # Everything decoded: commit.
        self._pair = pair
        self._arrays.update(arrays)
        self._extension = extension
        self._clock = clock
        self._mint_fees.update(mint_fees)
        for key, is_hooked in hooked.items():
            (self._hooked.add if is_hooked else self._hooked.discard)(key)

    # -- quoting ------------------------------------------------------

    def _transfer_fee(self, mint: Pubkey, flag: int, epoch: int) -> TransferFee:
        if flag != 1:
            return _NO_FEE
        if mint not in self._mint_fees:
            raise QuoteError(f"{self.dex} pair {self._address}: Token-2022 mint {mint} not loaded")
        config = self._mint_fees[mint]
        if config is None:
            return _NO_FEE
        return config.for_epoch(epoch)  # type: ignore[attr-defined]

    def _missing(self, index: int) -> QuoteError:
        return QuoteError(
            f"{self.dex} pair {self._address}: bin array {index} "
            f"({self.bin_array_key(index)}) not loaded"
        )

    def _check_tradable(self, clock: Clock) -> None:
        pair = self._pair
        if pair.status != 0:
            raise QuoteError(f"{self.dex} pair {self._address}: disabled (status {pair.status})")
        now = clock.slot if pair.activation_type == ACTIVATION_SLOT else clock.unix_timestamp
        if now < pair.activation_point:
            raise QuoteError(
                f"{self.dex} pair {self._address}: not active until {pair.activation_point}"
            )

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
            raise QuoteError(f"{self.dex} pair {self._address}: mint {input_mint} is not traded")
        if amount <= 0:
            raise QuoteError(f"{self.dex} pair {self._address}: amount must be positive")
        clock = self._clock
        if clock is None:
            raise QuoteError(f"{self.dex} pair {self._address}: Clock {SYSVAR_CLOCK_ID} not loaded")
        self._check_tradable(clock)
        fx = self._transfer_fee(pair.token_x_mint, pair.token_mint_x_program_flag, clock.epoch)
        fy = self._transfer_fee(pair.token_y_mint, pair.token_mint_y_program_flag, clock.epoch)
        fee_in, fee_out = (fx, fy) if swap_for_y else (fy, fx)
        output_mint = pair.token_y_mint if swap_for_y else pair.token_x_mint
        now = clock.unix_timestamp
        if exact_in:
            pool_in = amount - fee_in.fee(amount)
            res = swap_exact_in(
                pair, self._arrays, self._missing, self._extension, swap_for_y, now, pool_in
            )
            q_in = amount
            q_out = res.amount_out - fee_out.fee(res.amount_out)
        else:
            pool_out = amount + fee_out.inverse_fee(amount)
            res = swap_exact_out(
                pair, self._arrays, self._missing, self._extension, swap_for_y, now, pool_out
            )
            q_in = res.amount_in + fee_in.inverse_fee(res.amount_in) if res.amount_in else 0
            q_out = amount
        quote = Quote(
            q_in,
            q_out,
            res.fee + res.protocol_fee - res.excess_out,
            input_mint if res.fee_on_input else output_mint,
        )
        keys = tuple(self.bin_array_key(i) for i in res.bin_arrays)
        return DlmmQuote(quote, res, keys)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        return self.quote_detailed(amount, input_mint, exact_in=exact_in).quote

    # -- instructions -------------------------------------------------

    def _swap_bin_arrays(self, params: SwapParams, swap_for_y: bool) -> list[Pubkey]:
        try:
            walked = self.quote_detailed(
                params.amount, params.input_mint, exact_in=params.exact_in
            ).swap.bin_arrays
        except QuoteError:
            walked = []
        if walked:
            last = walked[-1] * MAX_BIN_PER_ARRAY
            start = last - 1 if swap_for_y else last + MAX_BIN_PER_ARRAY
            walked = walked + self._arrays_around(swap_for_y, self.extra_bin_arrays, start)
        else:
            count = 1 + self.extra_bin_arrays
            walked = self._arrays_around(swap_for_y, count, self._pair.active_id)
        return [self.bin_array_key(i) for i in walked]

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        pair = self._pair
        if params.input_mint == pair.token_x_mint:
            swap_for_y = True
        elif params.input_mint == pair.token_y_mint:
            swap_for_y = False
        else:
            raise QuoteError(
                f"{self.dex} pair {self._address}: mint {params.input_mint} not traded"
            )
        hooked = self._hooked & {pair.token_x_mint, pair.token_y_mint}
        if hooked:
            raise QuoteError(
                f"{self.dex} pair {self._address}: transfer-hook mints are not supported "
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
