"""The pool book on the bundled real market: one call per account, routing, what it reports,
and adapters that misbehave.

The faulty adapters here stand in for buggy third-party plugins; the pools next to them are
decoded by the real first-party adapters, which must carry on untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.pool import DlmmPool
from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.builtin.replay import bundled_market, load_market
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter, PoolSummary, Quote, SwapInstructions, SwapParams
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Mint

MARKET = load_market(bundled_market())


class SummarisedWhirlpool(WhirlpoolPool):
    """The real Whirlpool adapter with a summary (liquidity and fee from its decoded state)
    that is None while it cannot quote, as the SDK 1.1 contract asks."""

    dex = "summarised-whirlpool"
    updates: list[Mapping[Pubkey, Account | None]] = []

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        type(self).updates.append(dict(accounts))
        super().update({k: a for k, a in accounts.items() if a is not None})

    def summary(self) -> PoolSummary | None:
        try:
            self.quote(1000, self.mints[0])
        except QuoteError:
            return None
        return PoolSummary(0, 0, self.state.liquidity, self.state.fee_rate)


class RecordingDlmm(DlmmPool):
    """The real DLMM adapter, recording what it is given (its bitmap extensions do not exist)."""

    updates: list[Mapping[Pubkey, Account | None]] = []

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        type(self).updates.append(dict(accounts))
        super().update({k: a for k, a in accounts.items() if a is not None})


class FaultyWhirlpool(WhirlpoolPool):
    """A real adapter with a bug in one method, chosen per test."""

    dex = "faulty-whirlpool"
    broken = ""

    def update(self, accounts: Mapping[Pubkey, Account | None]) -> None:
        if self.broken == "update" and len(accounts) == 1:
            raise IndexError("bug in update")
        super().update(accounts)

    def quote(self, amount: int, input_mint: Pubkey, *, exact_in: bool = True) -> Quote:
        if self.broken == "quote":
            raise ZeroDivisionError("bug in quote")
        return super().quote(amount, input_mint, exact_in=exact_in)

    def summary(self) -> PoolSummary | None:
        if self.broken == "summary":
            raise KeyError("bug in summary")
        return PoolSummary(0, 0, self.state.liquidity, self.state.fee_rate)


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


def _whirlpool_keys() -> list[Pubkey]:
    return [k for k, a in MARKET.items() if WhirlpoolPool.matches(a)]


def _fill(book: PoolBook) -> list[Pubkey]:
    """Add every pool, then give the book what it asks for, as the scanner does.

    Returns the accounts the book asked for that the recording does not hold (left out).
    """
    wanted: list[Pubkey] = []
    for key, account in MARKET.items():
        change = book.apply(key, account)
        if change is not None:
            wanted.extend(change.wanted)
    absent = []
    while wanted:
        key = wanted.pop(0)
        if key not in MARKET:
            absent.append(key)  # a recording does not know it: no news, left out
            continue
        change = book.apply(key, MARKET[key])
        if change is not None:
            wanted.extend(change.wanted)
    return absent


def _own_account(book: PoolBook, address: Pubkey) -> Pubkey:
    """An account only this pool reads (a tick array), so an update touches it alone."""
    return next(
        k
        for k in book.pools[address].accounts_to_update()
        if book.readers[k] == {address} and book.accounts.get(k) is not None and k != address
    )


def _changed(account: Account) -> Account:
    """The same account with its lamports changed: a new state of it."""
    return Account(account.lamports + 1, account.data, account.owner, account.executable, 0)


def test_one_call_routes_an_update_and_reports_the_pools_that_can_quote() -> None:
    book = PoolBook([SummarisedWhirlpool])
    _fill(book)
    pools = sorted(book.pools, key=str)
    assert len(pools) >= 2
    key = _own_account(book, pools[0])
    change = book.apply(key, _changed(MARKET[key]), (5, 0))
    assert change is not None
    assert change.changed == [pools[0]]
    [state] = change.states
    pool = book.pools[pools[0]]
    assert state.pool is pool
    assert state.summary == pool.summary()
    decimals = [Mint.decode(bytes(MARKET[m].data)).decimals for m in pool.mints]
    assert (state.decimals_a, state.decimals_b) == tuple(decimals)
    quote = pool.quote(10 ** decimals[0], pool.mints[0])
    assert state.price == quote.out_amount / quote.in_amount
    assert state.price_human == pytest.approx(state.price * 10 ** (decimals[0] - decimals[1]))


def test_a_book_that_defers_states_names_the_pools_and_quotes_none() -> None:
    book = PoolBook([SummarisedWhirlpool], defer_states=True)
    _fill(book)
    pool = sorted(book.pools, key=str)[0]
    key = _own_account(book, pool)
    change = book.apply(key, _changed(MARKET[key]), (5, 0))
    assert change is not None and change.changed == [pool]
    assert change.states == [] and change.ready == [pool]
    state = book.state(pool)  # what the scanner asks for once the burst is through
    assert state is not None and state.summary == book.pools[pool].summary()
    book.defer_states = False
    change = book.apply(key, _changed(_changed(MARKET[key])), (6, 0))
    assert (
        change is not None
        and change.ready == [pool]
        and [s.pool.address for s in change.states] == [pool]
    )


def test_a_book_that_keeps_no_states_names_none_and_quarantines_when_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reader of the tape: no pool state is computed or named while it applies accounts,
    so a summary bug surfaces (quarantine, QuoteError) when the reader asks for the summary;
    updates on the same bytes as a states-computing book, and the same quotes."""
    FaultyWhirlpool.broken = ""
    reader, full = PoolBook([FaultyWhirlpool], states=False), PoolBook([FaultyWhirlpool])
    _fill(reader)
    _fill(full)
    first = sorted(reader.pools, key=str)[0]
    key = _own_account(reader, first)
    FaultyWhirlpool.broken = "summary"
    try:
        change = reader.apply(key, _changed(MARKET[key]), (7, 0))
        assert change is not None and change.changed == [first]
        assert change.states == [] and change.ready == []  # nothing computed, nothing kept
        assert first in reader.pools and not reader.quarantined
        mint = reader.pools[first].mints[0]
        assert full.apply(key, _changed(MARKET[key]), (7, 0)) is not None
        assert first in full.quarantined  # its state was computed: the bug showed at once
        assert reader.quote(first, 10**9, mint) == _plain_quote(first, mint)
        with pytest.raises(QuoteError, match="adapter fault, quarantined"):
            reader.summary(first)
    finally:
        FaultyWhirlpool.broken = ""
    assert first not in reader.pools and "bug in summary" in reader.quarantined[first]
    assert reader.adapter_faults["faulty-whirlpool"] == 1
    assert "faulty-whirlpool raised in summary" in caplog.text


def _plain_quote(address: Pubkey, mint: Pubkey) -> object:
    """The quote of the same update in a book of the plain Whirlpool adapter."""
    book = PoolBook([WhirlpoolPool])
    _fill(book)
    key = _own_account(book, address)
    book.apply(key, _changed(MARKET[key]), (7, 0))
    return book.quote(address, 10**9, mint)


def test_a_new_pool_is_fed_what_the_book_already_holds() -> None:
    """The second Whirlpool reads the Clock and the SOL mint the first one brought in."""
    SummarisedWhirlpool.updates = []
    book = PoolBook([SummarisedWhirlpool])
    first, second = _whirlpool_keys()[:2]
    book.apply(first, MARKET[first])
    for key in book.pools[first].accounts_to_update():
        book.apply(key, MARKET.get(key))
    shared = set(book.pools[first].accounts_to_update()) & set(book.accounts)
    SummarisedWhirlpool.updates = []
    change = book.apply(second, MARKET[second])
    assert change is not None and change.added is not None
    fed = set().union(*SummarisedWhirlpool.updates)
    common = shared & set(change.added.accounts_to_update())
    assert common, "the two pools share no account; the test proves nothing"
    assert common <= fed
    assert not set(change.wanted) & set(book.accounts)


def test_unchanged_and_older_states_are_not_taken() -> None:
    book = PoolBook([SummarisedWhirlpool])
    _fill(book)
    pool = sorted(book.pools, key=str)[0]
    key = _own_account(book, pool)
    newer = _changed(MARKET[key])
    assert book.apply(key, newer, (10, 2)) is not None
    assert book.apply(key, newer, (10, 3)) is None  # same state again (another source)
    assert book.apply(key, MARKET[key], (10, 1)) is None  # an older state arriving late
    assert book.accounts[key] == newer
    assert book.apply(key, MARKET[key], (11, 0)) is not None


def test_accounts_the_chain_lacks_reach_adapters_as_none_only_from_sdk_1_1() -> None:
    RecordingDlmm.updates = []
    book = PoolBook([RecordingDlmm])
    absent = _fill(book)
    assert absent, "every account the pools asked for is recorded; the test proves nothing"
    for key in absent:  # what a fetch answers for accounts the chain does not have
        book.apply(key, None)
    given_none = {k for u in RecordingDlmm.updates for k, a in u.items() if a is None}
    assert given_none
    assert given_none == set(absent) & set().union(*RecordingDlmm.updates)
    assert all(book.accounts[k] is None for k in absent)

    RecordingDlmm.updates = []
    legacy = PoolBook([RecordingDlmm], without_none=frozenset({RecordingDlmm}))
    for key in _fill(legacy):
        assert legacy.apply(key, None) is not None  # taken (and taped), not handed over
    assert RecordingDlmm.updates
    assert all(a is not None for u in RecordingDlmm.updates for a in u.values())


def test_accounts_nobody_follows_are_left_out_unless_keep_unwanted() -> None:
    clock = MARKET.get(SYSVAR_CLOCK_ID) or next(iter(MARKET.values()))
    stranger = Pubkey.new_unique()
    assert PoolBook([WhirlpoolPool]).apply(stranger, clock) is None
    keeper = PoolBook([WhirlpoolPool], keep_unwanted=True)
    assert keeper.apply(stranger, clock) is not None
    assert keeper.accounts[stranger] == clock


@pytest.mark.parametrize("broken", ["update", "quote", "summary"])
def test_adapter_bug_quarantines_its_pool_and_the_others_carry_on(
    broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    FaultyWhirlpool.broken = ""
    book = PoolBook([FaultyWhirlpool])
    _fill(book)
    first, second = sorted(book.pools, key=str)[:2]
    FaultyWhirlpool.broken = broken
    try:
        pool = book.pools[first]
        if broken == "quote":
            with pytest.raises(QuoteError, match="adapter fault, quarantined"):
                book.quote(first, 10**9, pool.mints[0])
        else:
            key = _own_account(book, first)
            change = book.apply(key, _changed(MARKET[key]), (7, 0))
            assert change is not None and change.states == []
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
    assert book.apply(first, _changed(MARKET[first]), (8, 0)) is not None  # still followed
    assert first not in book.pools  # but stays out


def test_adapter_whose_constructor_raises_does_not_stop_the_others() -> None:
    book = PoolBook([NotAPool, WhirlpoolPool])
    _fill(book)
    assert len(book.pools) == len(_whirlpool_keys()) >= 2
    assert book.adapter_faults["not-a-pool"] > 0


def _clock(slot: int, unix_timestamp: int, epoch: int) -> Account:
    from lstarb_sdk.solana import SYSVAR_OWNER_ID, Clock

    clock = Clock(slot, unix_timestamp - 100_000, epoch, epoch + 1, unix_timestamp)
    return Account(1_169_280, clock.encode(), SYSVAR_OWNER_ID, False, 0)


def test_a_clock_that_changes_no_quote_moves_no_pool() -> None:
    """Real DLMM and SPL stake pool adapters say when a Clock changes nothing their quotes
    read (DLMM: the same second and epoch; a stake pool: the same epoch): the book then
    reports no changed pool and computes no state; a new second moves the DLMM pools, a new
    epoch the stake pools too. Quotes are the same either side of an update said to be none."""
    from lstarb_lst.stake_pool import StakePoolAdapter

    book = PoolBook([DlmmPool, StakePoolAdapter])
    _fill(book)
    dlmm = {a for a, p in book.pools.items() if isinstance(p, DlmmPool)}
    stake = {a for a, p in book.pools.items() if isinstance(p, StakePoolAdapter)}
    assert dlmm and stake
    first = book.apply(SYSVAR_CLOCK_ID, _clock(300_000_000, 1_700_000_000, 700), (10, 0))
    assert first is not None and set(first.changed) == dlmm | stake  # the first Clock: news
    quotable = {}
    for address in dlmm | stake:
        pool = book.pools[address]
        try:
            quotable[address] = pool.quote(10**6, pool.mints[0]).out_amount
        except QuoteError:
            continue
    assert quotable  # something is checked below

    same_second = book.apply(SYSVAR_CLOCK_ID, _clock(300_000_001, 1_700_000_000, 700), (11, 0))
    assert same_second is not None and same_second.changed == [] and same_second.states == []
    for address, out in quotable.items():
        pool = book.pools[address]
        assert pool.quote(10**6, pool.mints[0]).out_amount == out

    next_second = book.apply(SYSVAR_CLOCK_ID, _clock(300_000_003, 1_700_000_001, 700), (12, 0))
    assert next_second is not None and set(next_second.changed) == dlmm

    next_epoch = book.apply(SYSVAR_CLOCK_ID, _clock(300_000_004, 1_700_000_001, 701), (13, 0))
    assert next_epoch is not None and set(next_epoch.changed) == dlmm | stake
