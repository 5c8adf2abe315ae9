"""The pool book on the bundled real market: routing, and adapters that misbehave.

The faulty adapter here stands in for a buggy third-party plugin; the pools next to it are
decoded by the real first-party adapters, which must carry on untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.builtin.replay import bundled_market, load_market
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter, Quote, SwapInstructions, SwapParams
from lstarb_sdk.errors import QuoteError

MARKET = load_market(bundled_market())
CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")


class FaultyWhirlpool(WhirlpoolPool):
    """A real adapter with a bug in one method, chosen per test."""

    dex = "faulty-whirlpool"
    broken = ""

    def update(self, accounts: Mapping[Pubkey, Account]) -> None:
        if self.broken == "update" and len(accounts) == 1:
            raise IndexError("bug in update")
        super().update(accounts)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        if self.broken == "quote":
            raise ZeroDivisionError("bug in quote")
        return super().quote(amount, input_mint, exact_in=exact_in)


class NotAPool(PoolAdapter):
    """Claims every Whirlpool-owned account, then fails to build for a non-DecodeError."""

    program_id = WhirlpoolPool.program_id
    dex = "not-a-pool"

    @classmethod
    def from_account(cls, address: Pubkey, account: Account) -> PoolAdapter:
        raise KeyError("bug in from_account")

    address = mints = accounts_to_update = update = quote = None  # type: ignore[assignment]

    def swap_instruction(self, params: SwapParams) -> SwapInstructions:
        raise NotImplementedError


def _fill(book: PoolBook) -> None:
    for key, account in MARKET.items():
        book.try_add_pool(key, account)
    for _ in range(4):  # pools ask for more accounts once they see the first ones
        book.apply({k: MARKET[k] for k in book.missing() if k in MARKET})


def _own_account(book: PoolBook, address: Pubkey) -> Pubkey:
    """An account only this pool reads (a vault), so an update touches it alone."""
    return next(k for k in book.pools[address].accounts_to_update() if book.readers[k] == {address})


def _whirlpools(book: PoolBook) -> list[Pubkey]:
    return [a for a, p in book.pools.items() if isinstance(p, WhirlpoolPool)]


def test_routes_updates_to_the_pools_that_read_them() -> None:
    book = PoolBook([WhirlpoolPool])
    _fill(book)
    pools = _whirlpools(book)
    assert len(pools) >= 2
    pool = book.pools[pools[0]]
    vault = _own_account(book, pools[0])
    assert book.apply({vault: MARKET[vault]}) == {pools[0]}
    assert book.quote(pools[0], 10**9, pool.mints[0]).out_amount > 0


@pytest.mark.parametrize("broken", ["update", "quote"])
def test_adapter_bug_quarantines_its_pool_and_the_others_carry_on(
    broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    FaultyWhirlpool.broken = ""
    book = PoolBook([FaultyWhirlpool])
    _fill(book)
    first, second, *_ = sorted(book.pools, key=str)
    FaultyWhirlpool.broken = broken
    try:
        pool = book.pools[first]
        if broken == "update":
            vault = _own_account(book, first)
            assert book.apply({vault: MARKET[vault]}) == set()
        else:
            with pytest.raises(QuoteError, match="adapter fault, quarantined"):
                book.quote(first, 10**9, pool.mints[0])
    finally:
        FaultyWhirlpool.broken = ""
    assert first not in book.pools and first in book.quarantined
    assert f"bug in {broken}" in book.quarantined[first]
    assert book.adapter_faults["faulty-whirlpool"] == 1
    assert "faulty-whirlpool raised in" in caplog.text
    other = book.pools[second]
    assert book.quote(second, 10**9, other.mints[0]).out_amount > 0
    with pytest.raises(QuoteError, match="not in the book"):
        book.quote(first, 10**9, pool.mints[0])
    assert book.try_add_pool(first, MARKET[first]) is None  # stays out


def test_adapter_whose_constructor_raises_does_not_stop_the_others() -> None:
    book = PoolBook([NotAPool, WhirlpoolPool])
    _fill(book)
    assert len(_whirlpools(book)) >= 2
    assert book.adapter_faults["not-a-pool"] > 0
