"""Re-quoting a route on the planner's book: at the opportunity's amounts (is this the state
it was computed on?), chained at the plan's size with slippage (the legs of the plan), the
price impact of each leg, and the best size when the opportunity cannot be trusted.

Why chained at the guaranteed amounts: the executor swaps exactly ``legs[i].in_amount`` and
requires it to be at most ``legs[i-1].min_out`` (docs/executor.md), so each leg after the
first is quoted at what the one before guarantees; what a leg pays above its minimum stays in
the wallet and is not counted as profit.

Why two slippages: only the last leg's minimum protects the trade's result; an intermediate
leg's minimum is the next leg's input, so any slippage allowed there is bought back as a
smaller input and priced as a loss on every plan. ``intermediate_bps`` (``[risk]
intermediate_slippage_bps``, 0 by default) is every leg's but the last: at 0 an intermediate
leg must pay at least its quote, and if the price moves against it the whole transaction
fails atomically (docs/planner.md, "Slippage").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import LegEvent

BPS = 10_000


class RouteError(LstarbError):
    """A leg could not be quoted (the message names it)."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One leg of a route, without amounts."""

    pool: Pubkey
    dex: str
    input_mint: Pubkey
    output_mint: Pubkey


def quote_at(book: PoolBook, hops: Sequence[Hop], amounts: Sequence[int]) -> list[tuple[int, int]]:
    """(out, fee) of each hop at the given input amounts, independently."""
    out = []
    for i, (hop, amount) in enumerate(zip(hops, amounts, strict=True)):
        try:
            q = book.quote(hop.pool, amount, hop.input_mint)
        except LstarbError as exc:
            raise RouteError(f"leg {i} ({hop.dex} {hop.pool}): {exc}") from None
        out.append((q.out_amount, q.fee_amount))
    return out


def chain(
    book: PoolBook,
    hops: Sequence[Hop],
    size: int,
    slippage_bps: int,
    first: tuple[int, int] | None = None,
    *,
    intermediate_bps: int,
) -> list[LegEvent]:
    """The plan's legs: ``size`` into the first, each next one fed the one before's min_out.

    ``slippage_bps`` protects the last leg, ``intermediate_bps`` every other (see the
    module). ``first``: the first leg's (out, fee) at ``size``, when already quoted on this
    state.
    """
    legs = []
    amount = size
    last = len(hops) - 1
    for i, hop in enumerate(hops):
        if i == 0 and first is not None:
            out, fee = first
        else:
            try:
                q = book.quote(hop.pool, amount, hop.input_mint)
            except LstarbError as exc:
                raise RouteError(f"leg {i} ({hop.dex} {hop.pool}): {exc}") from None
            out, fee = q.out_amount, q.fee_amount
        keep = BPS - (slippage_bps if i == last else intermediate_bps)
        min_out = out * keep // BPS
        if min_out <= 0:
            raise RouteError(f"leg {i} ({hop.dex} {hop.pool}): {amount} in gives nothing out")
        legs.append(
            LegEvent.model_construct(
                pool=hop.pool,
                dex=hop.dex,
                input_mint=hop.input_mint,
                output_mint=hop.output_mint,
                in_amount=amount,
                out_amount=out,
                fee_amount=fee,
                min_out=min_out,
            )
        )
        amount = min_out
    return legs


def gross_of(
    book: PoolBook, hops: Sequence[Hop], slippage_bps: int, *, intermediate_bps: int
) -> Callable[[int], int | None]:
    """Gross profit (last leg's out - size) of the chained route at a size; None where
    :func:`chain` refuses. Only ``intermediate_bps`` moves the amounts: the last leg's minimum
    protects the result and feeds nothing."""

    keep = BPS - intermediate_bps
    keep_last = BPS - slippage_bps
    quote = book.quote
    last = len(hops) - 1

    def gross(size: int) -> int | None:
        # chain()'s amounts without its legs: a search asks for dozens of sizes
        amount = size
        out = 0
        for i, hop in enumerate(hops):
            try:
                out = quote(hop.pool, amount, hop.input_mint).out_amount
            except LstarbError:
                return None
            amount = out * (keep_last if i == last else keep) // BPS
            if amount <= 0:
                return None
        return out - size

    return gross


def impact_bps(leg: LegEvent, marginal: tuple[int, int] | None) -> int | None:
    """How much worse the leg's price is than the pool's marginal price, in basis points.

    ``marginal``: (in, out) of a small quote on the same state (:meth:`Market.marginal`);
    None when the pool gives nothing for one.
    """
    if marginal is None:
        return None
    probe_in, probe_out = marginal
    # 1 - (out/in) / (probe_out/probe_in), in bps, rounded toward the larger impact
    ratio = leg.out_amount * probe_in * BPS // (leg.in_amount * probe_out)
    return max(0, BPS - ratio)


def best_size(
    gross: Callable[[int], int | None], low: int, high: int, *, tolerance: int = 1
) -> tuple[int, int] | None:
    """(size, gross) maximizing ``gross`` over [low, high], or None when nothing gains.

    The chained output is concave in its input (each pool's output is), so gross profit is
    unimodal: a golden-section search on integers, keeping the best point seen (smallest
    size on ties), ends when the bracket is ``tolerance`` wide.
    """
    if high < low:
        return None
    seen: dict[int, int | None] = {}

    def f(x: int) -> int:
        if x not in seen:
            seen[x] = gross(x)
        value = seen[x]
        return -(2**127) if value is None else value

    a, b = low, high
    inv = 0.6180339887498949
    c = b - int((b - a) * inv)
    d = a + int((b - a) * inv)
    while b - a > max(tolerance, 2):
        if f(c) >= f(d):
            b = d
        else:
            a = c
        c = b - int((b - a) * inv)
        d = a + int((b - a) * inv)
        if c >= d:
            c, d = a + (b - a) // 3, b - (b - a) // 3
            if c >= d:
                break
    for x in (a, b, c, d, low, high):
        if low <= x <= high:
            f(x)
    best = max(
        ((v, -x) for x, v in seen.items() if v is not None and low <= x <= high), default=None
    )
    if best is None or best[0] <= 0:
        return None
    return -best[1], best[0]
