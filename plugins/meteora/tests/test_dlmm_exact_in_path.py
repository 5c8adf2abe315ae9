"""The exact-in walk kept per state gives what walking every bin gives, to the unit."""

from __future__ import annotations

from typing import Any

import pytest
from meteora_testlib import LABELS, accounts, load_pool, pair_address

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.state import BinArray
from lstarb_meteora.dlmm.swap import ExactInPath, SwapResult, swap_exact_in
from lstarb_sdk import Quote
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import with_data


def _walked(pool: DlmmPool, swap_for_y: bool, amount: int) -> SwapResult | str:
    args: tuple[Any, ...] = (
        pool._pair,
        pool._arrays,
        pool._array_unavailable,
        pool._exhausted,
        pool._extension,
        swap_for_y,
        pool._clock.unix_timestamp if pool._clock else 0,
    )
    try:
        return swap_exact_in(*args, amount)
    except QuoteError as exc:
        return str(exc)


def _kept(path: ExactInPath, amount: int) -> SwapResult | str:
    try:
        return path.swap(amount)
    except QuoteError as exc:
        return str(exc)


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("swap_for_y", [True, False])
def test_every_amount_walks_as_the_whole_walk_does(label: str, swap_for_y: bool) -> None:
    pool = load_pool(label)
    now = pool._clock.unix_timestamp if pool._clock else 0
    path = ExactInPath(
        pool._pair,
        pool._arrays,
        pool._array_unavailable,
        pool._exhausted,
        pool._extension,
        swap_for_y,
        now,
    )
    amounts = {0, 1, 2, 3}
    amounts.update(int(1.37**k) for k in range(2, 200))
    checked = whole_bins = 0
    for amount in sorted(amounts)[::-1] + sorted(amounts):  # the path grows both ways
        want = _walked(pool, swap_for_y, amount)
        assert _kept(path, amount) == want, amount
        checked += 1
    # around each recorded bin's least whole-fill input: the bin's own arithmetic at the edge
    total = 0
    for _, _, _, _, least, whole in path._bins:
        for amount in (total + least - 2, total + least - 1, total + least, total + least + 1):
            if amount > 0:
                assert _kept(path, amount) == _walked(pool, swap_for_y, amount), amount
                whole_bins += 1
        total += whole[0]
    assert checked > 100 and whole_bins > 4


def test_the_pool_walks_anew_after_an_update() -> None:
    """A path belongs to one state: an update drops it, the next quote walks the new state."""
    pool = load_pool("sol-usdc-bs4")
    x, _ = pool.mints
    assert pool.quote(10**12, x) == _quote_walked(pool, 10**12)
    assert pool._paths == {True: None}  # one swap: walked, not kept
    assert pool.quote(10**12, x) == _quote_walked(pool, 10**12)
    assert pool._paths[True] is not None
    for pair, array in _the_first_bins_emptied(pool):
        pool.update({pair[0]: pair[1], array[0]: array[1]})
        assert not pool._paths
        pool.quote(10**12, x)
        assert pool.quote(10**12, x) == _quote_walked(pool, 10**12)


def _the_first_bins_emptied(pool: DlmmPool) -> list[Any]:
    """The pair's account as it is, and its active bin array with every bin's X and Y zeroed."""
    feed = accounts("sol-usdc-bs4")
    key = pair_address("sol-usdc-bs4")
    index = next(iter(pool._arrays))
    array_key = pool.bin_array_key(index)
    data = bytearray(feed[array_key].data)
    assert isinstance(pool._arrays[index], BinArray)
    data[56 : 56 + 16] = bytes(16)  # the first bin's amount_x and amount_y: the walk moves
    return [((key, feed[key]), (array_key, with_data(feed[array_key], bytes(data))))]


def _quote_walked(pool: DlmmPool, amount: int) -> Any:
    res = _walked(pool, True, amount)
    assert isinstance(res, SwapResult)
    x, _ = pool.mints
    return Quote(amount, res.amount_out, res.fee + res.protocol_fee, x)
