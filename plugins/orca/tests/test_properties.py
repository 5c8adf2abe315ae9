"""The laws every quote obeys (lstarb_sdk.testing), on real pools, with hypothesis."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orca_testlib import FIXTURES, LABELS, load_pool

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk.solana import token_account_amount
from lstarb_sdk.testing import check_bounded, check_monotonic, check_round_trip, load_account

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
amounts = st.integers(min_value=1, max_value=10**16)


@cache
def pool(label: str) -> WhirlpoolPool:
    return load_pool(label)


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("side", [0, 1])
@SETTINGS
@given(a=amounts, b=amounts)
def test_monotonic(label: str, side: int, a: int, b: int) -> None:
    p = pool(label)
    check_monotonic(p, p.mints[side], min(a, b), max(a, b))


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("side", [0, 1])
@SETTINGS
@given(out=st.integers(min_value=1, max_value=10**13))
def test_round_trip(label: str, side: int, out: int) -> None:
    p = pool(label)
    check_round_trip(p, p.mints[side], out, tolerance=1)


VAULT_POOLS = [label for label in LABELS if (FIXTURES / label / "vault_a.json").exists()]


@pytest.mark.parametrize("label", VAULT_POOLS)
@pytest.mark.parametrize("side", [0, 1])
@SETTINGS
@given(amount=st.integers(min_value=1, max_value=2**64 - 1))
def test_bounded_by_vaults(label: str, side: int, amount: int) -> None:
    p = pool(label)
    vault = "vault_b" if side == 0 else "vault_a"
    held = token_account_amount(bytes(load_account(FIXTURES / label / f"{vault}.json")[1].data))
    check_bounded(p, p.mints[side], amount, held)


@pytest.mark.parametrize("label", ["msol-sol-ts1", "sol-usdc-ts8"])
@SETTINGS
@given(a=amounts, b=amounts, ts=st.integers(min_value=1_699_999_950, max_value=1_700_020_000))
def test_adaptive_monotonic_in_size(label: str, a: int, b: int, ts: int) -> None:
    p = load_pool(label, adaptive_seed=1024, timestamp=ts)
    check_monotonic(p, p.mints[0], min(a, b), max(a, b))
    check_monotonic(p, p.mints[1], min(a, b), max(a, b))
