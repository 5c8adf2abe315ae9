"""Single-example quote laws for property tests (hypothesis or plain pytest).

Each ``check_*`` states one law for one example. A law that could not be
checked (the pool refused one of the quotes it needs) must not pass
silently: under hypothesis the example is rejected (``hypothesis.reject``),
so a test whose examples are all refused fails as unsatisfiable; outside
hypothesis it raises :class:`LawNotChecked`. Either way, an adapter whose
every quote raises cannot pass a property test.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from lstarb_sdk.errors import QuoteError
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.types import Quote


class LawNotChecked(AssertionError):
    """A law could not be checked: the quotes it needs were refused."""


def not_checked(reason: str) -> None:
    """Give up on this example: a hypothesis rejection, else :class:`LawNotChecked`."""
    try:
        from hypothesis import reject
        from hypothesis.control import currently_in_test_context
    except ImportError:  # pragma: no cover - hypothesis is in the test extra
        raise LawNotChecked(reason) from None
    if currently_in_test_context():
        reject()
    raise LawNotChecked(reason)


def try_quote(
    pool: PoolAdapter, amount: int, input_mint: Pubkey, *, exact_in: bool = True
) -> Quote | None:
    """The quote, or None when the pool says it cannot quote (QuoteError)."""
    try:
        return pool.quote(amount, input_mint, exact_in=exact_in)
    except QuoteError:
        return None


def check_monotonic(pool: PoolAdapter, input_mint: Pubkey, smaller: int, larger: int) -> None:
    """Output never decreases as input grows (exact-in)."""
    assert smaller <= larger
    big = try_quote(pool, larger, input_mint)
    small = try_quote(pool, smaller, input_mint)
    if big is None or small is None:
        not_checked(f"monotonic: a quote of {smaller} or {larger} was refused")
        return
    assert small.out_amount <= big.out_amount, (smaller, small, larger, big)


def check_bounded(pool: PoolAdapter, input_mint: Pubkey, amount: int, available_out: int) -> None:
    """Output never exceeds what the pool holds of the output mint."""
    q = try_quote(pool, amount, input_mint)
    if q is None:
        not_checked(f"bounded: the quote of {amount} was refused")
        return
    assert 0 <= q.out_amount <= available_out, (amount, q, available_out)


def check_round_trip(
    pool: PoolAdapter, input_mint: Pubkey, out_amount: int, *, tolerance: int = 0
) -> None:
    """Exact-out gives the least input whose exact-in output reaches the amount.

    Its ``out_amount`` is the amount, or what the exact-in of its input pays.

    The input an exact-out quote asks for buys at least ``out_amount`` when
    sent exact-in, and ``tolerance + 1`` units less would not. ``tolerance``
    is for programs whose own exact-out rounding asks for a few units more
    than the least input that works (say why where you set it).
    """
    need = try_quote(pool, out_amount, input_mint, exact_in=False)
    if need is None:
        not_checked(f"round trip: the exact-out quote of {out_amount} was refused")
        return
    got = pool.quote(need.in_amount, input_mint)
    assert got.out_amount >= out_amount, (out_amount, need, got)
    # Exactly the amount asked for, or (programs without an exact-out instruction, whose
    # swap is an exact-in of the quoted input) exactly what that exact-in pays.
    assert need.out_amount in (out_amount, got.out_amount), (out_amount, need, got)
    smaller = need.in_amount - tolerance - 1
    if smaller > 0:
        less = try_quote(pool, smaller, input_mint)
        assert less is None or less.out_amount < out_amount, (out_amount, need, less)
