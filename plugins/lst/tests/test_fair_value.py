"""Fair value of every LST from its pricing account: exact ratios, epochs, staleness, INF."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lst_testlib import FIXTURES, clock, fixture, stake_pool, with_data
from solders.pubkey import Pubkey

from lstarb_lst.pricing import FairValueTracker, lst_tokens
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.fair_value import FairValue, FairValueBook
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT

PRICED = [
    "jitosol-stake-pool.json",
    "bsol-stake-pool.json",
    "jupsol-stake-pool.json",
    "lainesol-stake-pool.json",
    "pwrsol-stake-pool.json",
    "marinade-state.json",
    "marinade-state-2024.json",
]


def test_the_token_table_is_the_reference_list() -> None:
    tokens = lst_tokens()
    assert len(tokens) == 16 and len({t.mint for t in tokens}) == 16
    assert {t.kind for t in tokens} >= {"spl_stake_pool", "marinade", "sanctum_infinity"}


@pytest.mark.parametrize("name", PRICED)
def test_fair_value_is_the_programs_ratio(name: str) -> None:
    doc = json.loads((FIXTURES / name).read_text())
    key, account = fixture(name)
    tracker = FairValueTracker()
    changed = tracker.update({key: account})
    (mint,) = changed
    value = tracker.book.get(mint)
    assert value is not None and value.source == key
    assert float(value.ratio) == pytest.approx(doc["decoded"]["sol_per_lst_float"], rel=1e-12)
    if "last_update_epoch" in doc["decoded"]:
        assert value.epoch == doc["decoded"]["last_update_epoch"]


def test_staleness_follows_the_clock() -> None:
    key, account = fixture("jitosol-stake-pool.json")
    tracker = FairValueTracker()
    tracker.update({key: account, SYSVAR_CLOCK_ID: clock(539)})
    mint = next(t.mint for t in tracker.tokens if t.symbol == "JitoSOL")
    assert tracker.book.get(mint).stale is False  # type: ignore[union-attr]
    assert tracker.update({SYSVAR_CLOCK_ID: clock(540)}) == [mint]
    assert tracker.book.get(mint).stale is True  # type: ignore[union-attr]
    pool = stake_pool("jitosol-stale")
    assert pool.fair_values()[0].stale and not stake_pool("jitosol").fair_values()[0].stale


def test_inf_needs_its_pool_state_and_mint() -> None:
    state_key, state = fixture("inf-pool-state.json")
    mint_key, mint = fixture("inf-mint.json")
    tracker = FairValueTracker()
    assert tracker.update({state_key: state}) == []  # the supply is still unknown
    assert tracker.update({mint_key: mint}) == [mint_key]
    value = tracker.book.get(mint_key)
    assert value is not None
    assert value.ratio == Fraction(741_676_030_733_161, 558_108_798_946_803)


def test_a_broken_pricing_account_is_named_and_skipped() -> None:
    key, account = fixture("bsol-stake-pool.json")
    good_key, good = fixture("jitosol-stake-pool.json")
    tracker = FairValueTracker()
    changed = tracker.update(
        {key: with_data(account, b"\x02" + bytes(account.data[1:])), good_key: good}
    )
    assert len(changed) == 1 and "account_type is 2" in tracker.errors[key]
    with pytest.raises(DecodeError, match=r"truncated|bytes"):
        from lstarb_lst.stake_pool_state import decode_stake_pool

        decode_stake_pool(bytes(account.data[:400]))


def test_premium_of_a_pool_to_fair_value() -> None:
    pool = stake_pool("jitosol")
    book = FairValueBook(pool.fair_values())
    lst = pool.mints[1]
    q = pool.quote(10**9, lst)  # WithdrawSol pays fair value less its 0.1 % fee
    premium = book.premium_ppm(lst, q.in_amount, WSOL_MINT, q.out_amount)
    assert premium is not None and -1001 <= premium <= -999
    assert book.premium_ppm(lst, 10**9, WSOL_MINT, book.sol_value(lst, 10**9) or 0) in (-1, 0)


amounts = st.integers(0, 2**64 - 1)


@given(
    rates=st.tuples(amounts, amounts, amounts, amounts),
    in_amount=st.integers(-5, 2**64 - 1),
    out_amount=amounts,
)
def test_premium_in_integers_is_the_exact_ratio_rounded_down(
    rates: tuple[int, int, int, int], in_amount: int, out_amount: int
) -> None:
    """premium_ppm avoids Fractions on the hot path; it must equal their answer exactly."""
    la, ta, lb, tb = rates
    a = FairValue(Pubkey.new_unique(), la, ta, None, False, WSOL_MINT)
    b = FairValue(Pubkey.new_unique(), lb, tb, None, False, WSOL_MINT)
    book = FairValueBook([a, b])
    got = book.premium_ppm(a.mint, in_amount, b.mint, out_amount)
    if in_amount <= 0:
        assert got is None
        return
    fair = a.ratio / b.ratio  # units of b a unit of a is worth
    assert got == int((Fraction(out_amount, in_amount) / fair - 1) * 1_000_000 // 1)
