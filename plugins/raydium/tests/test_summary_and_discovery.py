"""PoolSummary once a pool can quote (None before), and getProgramAccounts discovery filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_raydium.plugin import LSTARB_SDK_API, lstarb_dex_adapters
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.solana import token_account_amount
from lstarb_sdk.testing import load_dir
from lstarb_sdk.types import PoolSummary
from lstarb_sdk.version import SDK_API_VERSION, api_compatible

FIXTURES = Path(__file__).parent / "fixtures"
SETS: dict[type[PoolAdapter], tuple[Pubkey, dict[Pubkey, Account]]] = {
    AmmV4Pool: (
        Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"),
        load_dir(FIXTURES / "amm_v4"),
    ),
    CpmmPool: (
        Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny"),
        load_dir(FIXTURES / "cpmm"),
    ),
    ClmmPool: (
        Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq"),
        load_dir(FIXTURES / "clmm"),
    ),
}
EVERY_ACCOUNT = {k: a for _, accounts in SETS.values() for k, a in accounts.items()}


def _loaded(cls: type[PoolAdapter]) -> PoolAdapter:
    key, accounts = SETS[cls]
    pool = cls.from_account(key, accounts[key])
    pool.update(accounts)
    return pool


def _vault(accounts: dict[Pubkey, Account], key: Pubkey) -> int:
    return token_account_amount(bytes(accounts[key].data))


def test_the_plugin_declares_sdk_api_1_1() -> None:
    assert LSTARB_SDK_API == "1.1" and api_compatible(LSTARB_SDK_API, SDK_API_VERSION)
    assert lstarb_dex_adapters() == [AmmV4Pool, CpmmPool, ClmmPool]


# -- summary ---------------------------------------------------------------------------------


def test_amm_v4_summary() -> None:
    pool = _loaded(AmmV4Pool)
    _, accounts = SETS[AmmV4Pool]
    info = pool.amm_info  # type: ignore[attr-defined]
    assert pool.summary() == PoolSummary(
        _vault(accounts, info.coin_vault) - info.need_take_pnl_coin,
        _vault(accounts, info.pc_vault) - info.need_take_pnl_pc,
        0,
        2500,  # 25/10000
    )


def test_cpmm_summary_is_the_curve_reserves() -> None:
    pool = _loaded(CpmmPool)
    r0, r1 = pool.reserves()  # type: ignore[attr-defined]
    assert pool.summary() == PoolSummary(r0, r1, 0, 2500)


def test_clmm_summary() -> None:
    pool = _loaded(ClmmPool)
    _, accounts = SETS[ClmmPool]
    s = pool.pool_state  # type: ignore[attr-defined]
    assert pool.summary() == PoolSummary(
        _vault(accounts, s.token_vault_0) - s.protocol_fees_token_0 - s.fund_fees_token_0,
        _vault(accounts, s.token_vault_1) - s.protocol_fees_token_1 - s.fund_fees_token_1,
        s.liquidity,
        200,
    )


@pytest.mark.parametrize("cls", list(SETS), ids=lambda c: c.dex)
def test_no_summary_until_the_pool_can_quote(cls: type[PoolAdapter]) -> None:
    key, accounts = SETS[cls]
    pool = cls.from_account(key, accounts[key])
    assert pool.summary() is None
    listed = pool.accounts_to_update()
    vault = next(k for k in listed[1:] if k in accounts and len(accounts[k].data) == 165)
    pool.update({k: a for k, a in accounts.items() if k != vault})
    assert pool.summary() is None  # one vault missing
    pool.update({vault: accounts[vault]})
    assert pool.summary() is not None
    pool.update({vault: None})  # the vault is gone from the chain
    assert pool.summary() is None


# -- discovery filters -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(SETS), ids=lambda c: c.dex)
def test_filters_find_the_pool_by_either_mint(cls: type[PoolAdapter]) -> None:
    key, accounts = SETS[cls]
    pool = _loaded(cls)
    data = bytes(accounts[key].data)
    for mint in pool.mints:
        filters = cls.discovery_filters([mint])
        assert filters and all(f.data_size == len(data) for f in filters)
        assert sum(f.matches(data) for f in filters) == 1  # as token 0 or as token 1, not both
    assert not any(f.matches(data) for f in cls.discovery_filters([Pubkey.default()]))


@pytest.mark.parametrize("cls", list(SETS), ids=lambda c: c.dex)
def test_filters_reject_every_other_account(cls: type[PoolAdapter]) -> None:
    """Configs, vaults, mints, tick arrays, the extension and other programs' pools."""
    key, _ = SETS[cls]
    filters = cls.discovery_filters(_loaded(cls).mints)
    others = {k: a for k, a in EVERY_ACCOUNT.items() if k != key}
    assert len(others) >= 15
    for other, account in others.items():
        assert not any(f.matches(bytes(account.data)) for f in filters), other
