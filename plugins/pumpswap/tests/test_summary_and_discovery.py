"""PumpSwap: PoolSummary, discovery filters, accounts the chain lacks, accounts that shrink."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.constants import FEE_CONFIG, GLOBAL_CONFIG
from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.errors import DecodeError, QuoteError
from lstarb_sdk.testing import load_json, load_named, patched, with_data
from lstarb_sdk.types import PoolSummary, SwapParams

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = [s["label"] for s in load_json(FIXTURES / "MANIFEST.json")["sets"]]
LoadPool = Callable[[str], PumpSwapPool]


@pytest.mark.parametrize("label", LABELS)
def test_summary_is_the_pricing_reserves_and_the_fee(load_pool: LoadPool, label: str) -> None:
    pool = load_pool(label)
    base, quote = pool.reserves
    rates = pool.fee_rates
    assert base is not None and quote is not None and rates is not None
    creator = rates.creator_fee_bps if pool.pool_state.coin_creator != Pubkey.default() else 0
    bps = rates.lp_fee_bps + rates.protocol_fee_bps + creator
    assert pool.summary() == PoolSummary(
        base, quote + pool.pool_state.virtual_quote_reserves, 0, bps * 100
    )
    assert bps > 0


@pytest.mark.parametrize("label", LABELS)
def test_filters_find_the_pool_and_nothing_else(label: str) -> None:
    named = load_named(FIXTURES / label)
    key, account = named["pool"]
    data = bytes(account.data)
    pool = PumpSwapPool.from_account(key, account)
    for mint in pool.mints:
        filters = PumpSwapPool.discovery_filters([mint])
        assert sum(f.matches(data) for f in filters) == 1
    everything = {k: a for lbl in LABELS for k, a in load_named(FIXTURES / lbl).values()}
    filters = PumpSwapPool.discovery_filters(pool.mints)
    for other, acc in everything.items():
        if other != key:
            assert not any(f.matches(bytes(acc.data)) for f in filters), other
    # a pool written before fields were appended (211 bytes) is still found
    assert any(f.matches(data[:211]) for f in filters)


@pytest.mark.parametrize(
    ("role", "what"),
    [
        ("pool", "pool account"),
        ("global_config", "global_config"),
        ("fee_config", "fee_config"),
        ("base_vault", "base vault"),
        ("quote_vault", "quote vault"),
        ("base_mint", "base mint"),
    ],
)
def test_an_account_the_chain_lacks_is_named(load_pool: LoadPool, role: str, what: str) -> None:
    label = LABELS[0]
    pool = load_pool(label)
    key, account = load_named(FIXTURES / label)[role]
    before = pool.quote(10**6, pool.mints[1])
    pool.update({key: None})
    with pytest.raises(QuoteError, match=f"{what} {key} does not exist on chain"):
        pool.quote(10**6, pool.mints[1])
    assert pool.summary() is None
    pool.update({key: account})
    assert pool.quote(10**6, pool.mints[1]) == before


@pytest.mark.parametrize(
    ("role", "key", "cut"),
    [
        ("pool", None, 211),  # the oldest layout: coin creator and virtual reserves read as 0
        ("global_config", GLOBAL_CONFIG, 321),
        ("fee_config", FEE_CONFIG, 2512),  # the pre-stable layout: stable tiers read as empty
    ],
)
def test_an_account_that_shrinks_is_refused(
    load_pool: LoadPool, role: str, key: Pubkey | None, cut: int
) -> None:
    """Each cut is a valid older layout; as an update of a longer account it is not."""
    label = "pump-usdc-flat"
    pool = load_pool(label)
    address, account = load_named(FIXTURES / label)[role]
    assert key in (None, address)
    before = pool.quote(10**6, pool.mints[1]), pool.fee_rates
    short = with_data(account, bytes(account.data)[:cut])
    with pytest.raises(DecodeError, match="shorter than"):
        pool.update({address: short})
    assert (pool.quote(10**6, pool.mints[1]), pool.fee_rates) == before


def test_a_hook_that_invokes_nothing_is_no_hook(load_pool: LoadPool) -> None:
    """The real pump-usdc base mint carries a TransferHook extension with no program id.

    The token program invokes nothing then, so the swap is built; with a program id set
    (bytes 202..234: the extension's second key) the hook's accounts would be needed.
    """
    pool = load_pool("pump-usdc-flat")
    key, account = load_named(FIXTURES / "pump-usdc-flat")["base_mint"]
    assert bytes(account.data)[166:168] == (14).to_bytes(2, "little")  # TransferHook first
    user = Pubkey.from_string("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
    params = SwapParams(pool.mints[1], 10**6, 1, user, Pubkey.default(), Pubkey.default())
    assert pool.swap_instruction(params).instructions
    hooked: Account = patched(account, 202, bytes(user))
    pool.update({key: hooked})
    with pytest.raises(QuoteError, match=f"transfer hook {user}"):
        pool.swap_instruction(params)
