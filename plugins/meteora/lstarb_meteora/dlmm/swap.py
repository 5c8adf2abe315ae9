"""The DLMM swap loop: walk bins from the active one, filling each in turn.

Pure functions of decoded state: the pair, the loaded bin arrays, the bitmap
extension and the clock time. Transfer fees (Token-2022) are applied by the
caller around these, because they happen at the token transfers, not in
the pool.

The per-bin code is written flat (tuples, locals, few calls) because it runs
once per crossed bin and Python call overhead dominates there; the math is
the SDK's ``swapExactInQuoteAtBin`` / ``swapExactOutQuoteAtBin`` step by step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lstarb_meteora.dlmm.bin_math import amount_in_up, price_from_id
from lstarb_meteora.dlmm.bitmap import next_bin_array_index
from lstarb_meteora.dlmm.constants import (
    COLLECT_FEE_ONLY_Y,
    FEE_PRECISION,
    MAX_BIN_ID,
    MAX_BIN_PER_ARRAY,
    MAX_FEE_RATE,
    MIN_BIN_ID,
    SCALE_OFFSET,
)
from lstarb_meteora.dlmm.fees import VolatilityState, base_fee_rate, split_fee
from lstarb_meteora.dlmm.state import BinArray, BinArrayBitmapExtension, LbPair
from lstarb_sdk.amounts import BPS_DENOMINATOR, U64_MAX, ceil_div
from lstarb_sdk.errors import QuoteError

# One bin as the swap sees it: amount_x, amount_y, price, open_order_amount,
# processed_order_remaining_amount, limit_order_ask_side.
BinView = tuple[int, int, int, int, int, bool]
# One bin's fill: amount in (fee included), amount out, LP fee, protocol fee.
Fill = tuple[int, int, int, int]


@dataclass(slots=True)
class SwapResult:
    """A swap through the pool, before any Token-2022 transfer fee.

    ``fee`` is the LP share of the trading fee and ``protocol_fee`` the
    protocol's, as the program's Swap event reports them; ``fee_on_input``
    says which mint the fee is in. ``excess_out`` is what exact-out fills
    deliver beyond the amount asked for, in bins where that is 2 or more: the
    program leaves it in the bins, the SDK books it as protocol fee.
    ``bins_crossed`` counts the bins that filled (1 = the active bin only).
    """

    amount_in: int
    amount_out: int
    fee: int
    protocol_fee: int
    fee_on_input: bool
    bins_crossed: int
    bin_arrays: list[int] = field(default_factory=list)
    excess_out: int = 0
    end_bin: int | None = None
    """The active bin the swap leaves the pair at (None where a caller built the result)."""


def fee_on_input(pair: LbPair, swap_for_y: bool) -> bool:
    """Collect-fee mode 1 takes the fee in Y: on the output when selling X."""
    if pair.parameters.collect_fee_mode == COLLECT_FEE_ONLY_Y:
        return not swap_for_y
    return True


def _fill(amount: int, max_out: int, price: int, swap_for_y: bool) -> tuple[int, int, int]:
    """(amount in, amount left, amount out) filling one layer of a bin.

    The input that empties the layer is rounded up; a partial fill's output
    is rounded down.
    """
    if swap_for_y:
        max_in = ceil_div(max_out << SCALE_OFFSET, price)
        if amount >= max_in:
            return max_in, amount - max_in, max_out
        return amount, 0, (amount * price) >> SCALE_OFFSET
    max_in = -(-(max_out * price) >> SCALE_OFFSET)  # ceil_div by 2**64, as a shift
    if amount >= max_in:
        return max_in, amount - max_in, max_out
    return amount, 0, (amount << SCALE_OFFSET) // price


def _orders_for(view: BinView, swap_for_y: bool) -> tuple[int, int]:
    """(open, processed) order amounts that pay out in this direction:
    bid orders pay Y, ask orders pay X."""
    if swap_for_y != view[5]:
        return view[3], view[4]
    return 0, 0


def _max_out(view: BinView, swap_for_y: bool) -> int:
    ax, ay, _, open_amt, processed, ask = view
    if swap_for_y:
        return ay if ask else ay + open_amt + processed
    return ax + open_amt + processed if ask else ax


def _exact_in_at_bin(
    view: BinView, rate: int, share: int, amount: int, swap_for_y: bool, on_input: bool
) -> Fill:
    price = view[2]
    fee = 0
    excluded = amount
    if on_input:
        fee = ceil_div(amount * rate, FEE_PRECISION)
        excluded = amount - fee
    mm_in, left, out = _fill(excluded, view[1] if swap_for_y else view[0], price, swap_for_y)
    total_in = mm_in
    if left and (view[3] or view[4]):
        open_out, processed_out = _orders_for(view, swap_for_y)
        p_in, left, p_out = _fill(left, processed_out, price, swap_for_y)
        total_in += p_in
        out += p_out
        if left:
            o_in, left, o_out = _fill(left, open_out, price, swap_for_y)
            total_in += o_in
            out += o_out
    included = amount
    if left:
        excluded -= left
        if on_input:
            denominator = FEE_PRECISION - rate
            included = ceil_div(excluded * FEE_PRECISION, denominator)
            fee = included - excluded
        else:
            included = excluded
    if not on_input:
        fee = ceil_div(out * rate, FEE_PRECISION)
        out -= fee
    if total_in == mm_in and total_in:  # no limit orders filled: the split, simplified
        protocol = fee * share // BPS_DENOMINATOR
        return included, out, fee - protocol, protocol
    lp_fee, protocol_fee = split_fee(fee, share, mm_in, total_in)
    return included, out, lp_fee, protocol_fee


def _exact_out_at_bin(
    view: BinView, rate: int, share: int, out: int, swap_for_y: bool, on_input: bool
) -> tuple[Fill, int]:
    """One bin of an exact-out swap, and the output its fill over-delivers if 2 or more.

    The program converts the whole output at the bin's price with one rounding up,
    market-making and limit-order layers together (the SDK rounds each layer up), adds
    the fee and fills the bin with that input; if the fill falls short of ``out`` it
    fails the swap (6085 UndeterminedError). What the fill delivers beyond ``out`` stays
    in the bin: the trader gets exactly ``out`` and no fee counts it (the SDK books it as
    protocol fee when it is 2 or more: that part is returned, for comparison).
    """
    if on_input:
        included_out = out
    else:
        denominator = FEE_PRECISION - rate
        included_out = ceil_div(out * FEE_PRECISION, denominator)
    if included_out >= _max_out(view, swap_for_y):
        return _exact_in_at_bin(view, rate, share, U64_MAX, swap_for_y, on_input), 0
    need = amount_in_up(included_out, view[2], swap_for_y)
    if on_input:
        denominator = FEE_PRECISION - rate
        need = ceil_div(need * FEE_PRECISION, denominator)
    amount_in, got, lp_fee, protocol_fee = _exact_in_at_bin(
        view, rate, share, need, swap_for_y, on_input
    )
    if got < out:
        raise QuoteError(
            f"meteora-dlmm pair: exact-out of {out} in one bin: the input the program "
            f"computes fills only {got}, and the program fails the swap (6085 UndeterminedError)"
        )
    excess = got - out
    return (amount_in, out, lp_fee, protocol_fee), excess if excess > 1 else 0


def _walk(
    pair: LbPair,
    arrays: Mapping[int, BinArray],
    missing: Callable[[int], QuoteError],
    exhausted: Callable[[bool, int], QuoteError],
    extension: BinArrayBitmapExtension | None,
    swap_for_y: bool,
    now: int,
    amount: int,
    exact_in: bool,
) -> SwapResult:
    sp = pair.parameters
    bin_step = pair.bin_step
    share = sp.protocol_share
    on_input = fee_on_input(pair, swap_for_y)
    limit_orders = pair.supports_limit_orders
    bitmap = pair.bin_array_bitmap
    vol = VolatilityState.at(pair.v_parameters, sp, pair.active_id, now)
    vol_ref, idx_ref = vol.volatility_reference, vol.index_reference
    max_vol = sp.max_volatility_accumulator
    vfc = sp.variable_fee_control
    base_rate = base_fee_rate(bin_step, sp)
    active = pair.active_id
    step = -1 if swap_for_y else 1
    left = amount
    total_in = total_out = lp_fee = protocol_fee = excess = 0
    crossed = 0
    used: list[int] = []
    array: BinArray | None = None
    lower = upper = 0
    while left:
        if array is None or not lower <= active <= upper:
            index = next_bin_array_index(swap_for_y, active, bitmap, extension)
            if index is None:
                raise exhausted(swap_for_y, active)
            array = arrays.get(index)
            if array is None:
                raise missing(index)
            used.append(index)
            lower = index * MAX_BIN_PER_ARRAY
            upper = lower + MAX_BIN_PER_ARRAY - 1
            if not lower <= active <= upper:
                # The program jumps over uninitialized arrays to the edge of
                # the next initialized one; skipped bins hold no liquidity.
                active = upper if swap_for_y else lower
        view = array.swap_view(active - lower, limit_orders)
        ax, ay, _, open_amt, processed, ask = view
        if swap_for_y:
            has_out = ay or (not ask and (open_amt or processed))
        else:
            has_out = ax or (ask and (open_amt or processed))
        if has_out:
            if not view[2]:  # never-touched bin: the program stores its price first
                price = price_from_id(active, bin_step)
                if not price:
                    raise QuoteError(f"meteora-dlmm pair: bin {active} has no price (overflow)")
                view = (view[0], view[1], price, *view[3:])
            # Volatility accumulator for this bin, then the fee rate from it.
            acc = vol_ref + abs(idx_ref - active) * BPS_DENOMINATOR
            if acc > max_vol:
                acc = max_vol
            rate = base_rate
            if vfc:  # fees.variable_fee_rate, inlined: this runs once per bin
                rate += (vfc * (acc * bin_step) ** 2 + 99_999_999_999) // 100_000_000_000
            if rate > MAX_FEE_RATE:
                rate = MAX_FEE_RATE
            if exact_in:
                fill = _exact_in_at_bin(view, rate, share, left, swap_for_y, on_input)
                filled = fill[0]
                left -= filled
            else:
                fill, extra = _exact_out_at_bin(view, rate, share, left, swap_for_y, on_input)
                excess += extra
                filled = fill[1]
                left -= filled
            if filled:
                total_in += fill[0]
                total_out += fill[1]
                lp_fee += fill[2]
                protocol_fee += fill[3]
                crossed += 1
        if left:
            active += step
            if not MIN_BIN_ID <= active <= MAX_BIN_ID:
                raise QuoteError(f"meteora-dlmm pair: insufficient liquidity at bin {active}")
    if not crossed:
        raise QuoteError("meteora-dlmm pair: insufficient liquidity (nothing fills)")
    return SwapResult(
        total_in, total_out, lp_fee, protocol_fee, on_input, crossed, used, excess, active
    )


def swap_exact_in(
    pair: LbPair,
    arrays: Mapping[int, BinArray],
    missing: Callable[[int], QuoteError],
    exhausted: Callable[[bool, int], QuoteError],
    extension: BinArrayBitmapExtension | None,
    swap_for_y: bool,
    now: int,
    amount_in: int,
) -> SwapResult:
    """Swap exactly ``amount_in`` (as the pool receives it).

    ``missing(index)`` builds the error for a bin array the walk needs but
    ``arrays`` lacks; ``exhausted(swap_for_y, bin_id)`` the one for a walk that finds no
    initialized array beyond ``bin_id``.
    """
    return _walk(pair, arrays, missing, exhausted, extension, swap_for_y, now, amount_in, True)


def swap_exact_out(
    pair: LbPair,
    arrays: Mapping[int, BinArray],
    missing: Callable[[int], QuoteError],
    exhausted: Callable[[bool, int], QuoteError],
    extension: BinArrayBitmapExtension | None,
    swap_for_y: bool,
    now: int,
    amount_out: int,
) -> SwapResult:
    """Swap for exactly ``amount_out`` (as the pool sends it)."""
    return _walk(pair, arrays, missing, exhausted, extension, swap_for_y, now, amount_out, False)


class ExactInPath:
    """The bins an exact-in swap walks on one state, worked out once and shared by its quotes.

    A bin the swap leaves with input to spare is filled whole, and a whole fill does not
    depend on how much input was left (what it takes, pays and charges is the bin's
    liquidity at its fee rate), so the walk of any amount is the same sequence of whole
    bins up to the one where its input runs out. Each bin is recorded the first time a
    swap reaches it: its view and fee rate, its whole fill and the least input that fills
    it whole with some to spare (checked on the bin's own arithmetic). A quote then adds
    whole fills and computes only its last bin, the one the walk of :func:`swap_exact_in`
    computes the same way. Built for one pair state, clock time and direction: the
    pool drops it when any of them changes.
    """

    __slots__ = (
        "_active",
        "_array",
        "_bins",
        "_ctx",
        "_end",
        "_lower",
        "_upper",
        "_used",
        "now",
    )

    def __init__(
        self,
        pair: LbPair,
        arrays: Mapping[int, BinArray],
        missing: Callable[[int], QuoteError],
        exhausted: Callable[[bool, int], QuoteError],
        extension: BinArrayBitmapExtension | None,
        swap_for_y: bool,
        now: int,
    ) -> None:
        sp = pair.parameters
        self.now = now
        vol = VolatilityState.at(pair.v_parameters, sp, pair.active_id, now)
        self._ctx = (
            pair,
            arrays,
            missing,
            exhausted,
            extension,
            swap_for_y,
            sp.protocol_share,
            fee_on_input(pair, swap_for_y),
            pair.supports_limit_orders,
            vol.volatility_reference,
            vol.index_reference,
            sp.max_volatility_accumulator,
            sp.variable_fee_control,
            base_fee_rate(pair.bin_step, sp),
        )
        # (view, rate, bin id, arrays used so far, least input filled whole with some left,
        #  the whole fill)
        self._bins: list[tuple[BinView, int, int, int, int, Fill]] = []
        self._end: Callable[[], QuoteError] | None = None  # why the walk cannot go on
        self._used: list[int] = []
        self._active = pair.active_id
        self._array: BinArray | None = None
        self._lower = self._upper = 0

    def _extend(self) -> bool:
        """Record the next bin with liquidity out; False when the walk cannot go on."""
        if self._end is not None:
            return False
        (
            pair,
            arrays,
            missing,
            exhausted,
            extension,
            swap_for_y,
            share,
            on_input,
            limit_orders,
            vol_ref,
            idx_ref,
            max_vol,
            vfc,
            base_rate,
        ) = self._ctx
        bin_step = pair.bin_step
        active = self._active
        if self._bins:  # the last bin was filled whole: the walk moves on
            active += -1 if swap_for_y else 1
            if not MIN_BIN_ID <= active <= MAX_BIN_ID:
                self._end = _error(f"meteora-dlmm pair: insufficient liquidity at bin {active}")
                return False
        while True:
            array = self._array
            if array is None or not self._lower <= active <= self._upper:
                index = next_bin_array_index(swap_for_y, active, pair.bin_array_bitmap, extension)
                if index is None:
                    self._end = functools.partial(exhausted, swap_for_y, active)
                    return False
                array = arrays.get(index)
                if array is None:
                    self._end = functools.partial(missing, index)
                    return False
                self._used.append(index)
                self._array = array
                self._lower = index * MAX_BIN_PER_ARRAY
                self._upper = self._lower + MAX_BIN_PER_ARRAY - 1
                if not self._lower <= active <= self._upper:
                    active = self._upper if swap_for_y else self._lower
            view = array.swap_view(active - self._lower, limit_orders)
            ax, ay, _, open_amt, processed, ask = view
            if swap_for_y:
                has_out = ay or (not ask and (open_amt or processed))
            else:
                has_out = ax or (ask and (open_amt or processed))
            if has_out:
                break
            active += -1 if swap_for_y else 1
            if not MIN_BIN_ID <= active <= MAX_BIN_ID:
                self._end = _error(f"meteora-dlmm pair: insufficient liquidity at bin {active}")
                return False
        self._active = active
        if not view[2]:
            price = price_from_id(active, bin_step)
            if not price:
                self._end = _error(f"meteora-dlmm pair: bin {active} has no price (overflow)")
                return False
            view = (view[0], view[1], price, *view[3:])
        acc = vol_ref + abs(idx_ref - active) * BPS_DENOMINATOR
        if acc > max_vol:
            acc = max_vol
        rate = base_rate
        if vfc:
            rate += (vfc * (acc * bin_step) ** 2 + 99_999_999_999) // 100_000_000_000
        if rate > MAX_FEE_RATE:
            rate = MAX_FEE_RATE
        # Every layer's input when filled whole, then the least input the bin leaves over.
        need = 0
        layers = [view[1] if swap_for_y else view[0]]
        if view[3] or view[4]:
            open_out, processed_out = _orders_for(view, swap_for_y)
            layers += [processed_out, open_out]
        for max_out in layers:
            need += _fill(1 << 256, max_out, view[2], swap_for_y)[0]
        least = need + 1
        if on_input:
            least = ceil_div(least * FEE_PRECISION, FEE_PRECISION - rate)

        def spare(x: int) -> bool:
            return _exact_in_at_bin(view, rate, share, x, swap_for_y, on_input)[0] < x

        while least > 1 and spare(least - 1):  # the bin's own arithmetic decides
            least -= 1
        while not spare(least):
            least += 1
        whole = _exact_in_at_bin(view, rate, share, least, swap_for_y, on_input)
        self._bins.append((view, rate, active, len(self._used), least, whole))
        return True

    def swap(self, amount: int) -> SwapResult:
        """What :func:`swap_exact_in` gives for ``amount`` (as the pool receives it)."""
        ctx = self._ctx
        if amount <= 0:  # the walk's own answer (nothing fills)
            return _walk(*ctx[:5], ctx[5], self.now, amount, True)
        share, on_input, swap_for_y = ctx[6], ctx[7], ctx[5]
        bins = self._bins
        left = amount
        total_in = total_out = lp_fee = protocol_fee = crossed = 0
        i = 0
        while True:
            if i == len(bins) and not self._extend():
                assert self._end is not None
                raise self._end()
            view, rate, active, used, least, fill = bins[i]
            if left < least:
                fill = _exact_in_at_bin(view, rate, share, left, swap_for_y, on_input)
            left -= fill[0]
            if fill[0]:
                total_in += fill[0]
                total_out += fill[1]
                lp_fee += fill[2]
                protocol_fee += fill[3]
                crossed += 1
            if not left:
                break
            i += 1
        return SwapResult(
            total_in,
            total_out,
            lp_fee,
            protocol_fee,
            on_input,
            crossed,
            self._used[:used],
            0,
            active,
        )


def _error(message: str) -> Callable[[], QuoteError]:
    return lambda: QuoteError(message)
