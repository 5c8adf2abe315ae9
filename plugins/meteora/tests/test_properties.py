"""Laws of a quote on every fixture pool (hypothesis + lstarb_sdk.testing)."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meteora_testlib import LABELS, accounts, load_pool

from lstarb_meteora.dlmm import DlmmPool
from lstarb_sdk.solana import token_account_amount
from lstarb_sdk.testing import check_bounded, check_monotonic, check_round_trip

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Dust below the Token-2022 transfer fee does not quote (as in the SDK); the
# oracle grid covers it.
amounts = st.integers(min_value=1000, max_value=10**16)


@functools.cache
def _pool(label: str) -> DlmmPool:
    return load_pool(label)


def _reserve(label: str, pool: DlmmPool, swap_for_y: bool) -> int:
    key = pool.pair.reserve_y if swap_for_y else pool.pair.reserve_x
    return token_account_amount(bytes(accounts(label)[key].data))


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("swap_for_y", [True, False])
@SETTINGS
@given(a=amounts, b=amounts)
def test_monotonic(label: str, swap_for_y: bool, a: int, b: int) -> None:
    pool = _pool(label)
    mint = pool.mints[0 if swap_for_y else 1]
    check_monotonic(pool, mint, min(a, b), max(a, b))


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("swap_for_y", [True, False])
@SETTINGS
@given(a=amounts)
def test_bounded_by_reserve(label: str, swap_for_y: bool, a: int) -> None:
    pool = _pool(label)
    mint = pool.mints[0 if swap_for_y else 1]
    check_bounded(pool, mint, a, _reserve(label, pool, swap_for_y))


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("swap_for_y", [True, False])
@SETTINGS
@given(out=st.integers(min_value=1000, max_value=10**14))
def test_exact_out_round_trips(label: str, swap_for_y: bool, out: int) -> None:
    pool = _pool(label)
    mint = pool.mints[0 if swap_for_y else 1]
    check_round_trip(pool, mint, out, tolerance=1)
