"""Laws every CLMM quote obeys on the fixture pool (hypothesis + lstarb_sdk.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import ClmmPool
from lstarb_sdk.testing import (
    check_bounded,
    check_monotonic,
    check_round_trip,
    load_dir,
    not_checked,
    try_quote,
)

FIXTURES = Path(__file__).parent / "fixtures" / "clmm"
POOL = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
ACCOUNTS = load_dir(FIXTURES)
_pool = ClmmPool.from_account(POOL, ACCOUNTS[POOL])
_pool.update(ACCOUNTS)
MINT0, MINT1 = _pool.mints
VAULT = {
    MINT0: int.from_bytes(bytes(ACCOUNTS[_pool.pool_state.token_vault_0].data)[64:72], "little"),
    MINT1: int.from_bytes(bytes(ACCOUNTS[_pool.pool_state.token_vault_1].data)[64:72], "little"),
}
# Sizes span tiny to past the loaded arrays (those raise QuoteError and are skipped). The
# lower bounds keep both sides non-zero: the program rejects a swap with a zero amount
# (TooSmallInputOrOutputAmount), and the SDK's checks quote the smaller size unguarded.
AMOUNTS = {MINT0: st.integers(100, 10**12), MINT1: st.integers(10, 10**11)}
OUT_AMOUNTS = {MINT0: st.integers(100, 3 * 10**10), MINT1: st.integers(100, 3 * 10**11)}


@pytest.mark.parametrize("mint", [MINT0, MINT1], ids=["token0_in", "token1_in"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_monotonic(mint: Pubkey, data: st.DataObject) -> None:
    a = data.draw(AMOUNTS[mint])
    b = data.draw(AMOUNTS[mint])
    check_monotonic(_pool, mint, min(a, b), max(a, b))


@pytest.mark.parametrize("mint", [MINT0, MINT1], ids=["token0_in", "token1_in"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_bounded_by_vault(mint: Pubkey, data: st.DataObject) -> None:
    other = MINT1 if mint == MINT0 else MINT0
    check_bounded(_pool, mint, data.draw(AMOUNTS[mint]), VAULT[other])


@pytest.mark.parametrize("mint", [MINT0, MINT1], ids=["token0_in", "token1_in"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_exact_out_round_trips_through_exact_in(mint: Pubkey, data: st.DataObject) -> None:
    check_round_trip(_pool, mint, data.draw(OUT_AMOUNTS[mint]), tolerance=1)


@pytest.mark.parametrize("mint", [MINT0, MINT1], ids=["token0_in", "token1_in"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_fee_is_at_least_the_rate(mint: Pubkey, data: st.DataObject) -> None:
    """The trade fee is taken from the input at 200 ppm, rounded up per step."""
    amount = data.draw(AMOUNTS[mint])
    q = try_quote(_pool, amount, mint)
    if q is None:  # past the loaded arrays: this example checks nothing
        not_checked(f"the quote of {amount} was refused")
        return
    assert q.fee_amount >= amount * 200 // 1_000_000
    assert q.fee_amount <= -(-amount * 200 // 1_000_000) + 10  # at most one unit per step
