"""Shared helpers of the lst plugin tests: fixtures, oracle scenarios, a Clock."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst.marinade import MarinadePool
from lstarb_lst.plugin import adapter_for
from lstarb_lst.stake_pool import StakePoolAdapter
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock
from lstarb_sdk.testing import load_account

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE = Path(__file__).parent / "oracle"
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")


@cache
def expected() -> dict[str, Any]:
    return json.loads((ORACLE / "expected_quotes.json").read_text())


def clock(epoch: int, slot: int | None = None) -> Account:
    slot = epoch * 432_000 if slot is None else slot
    return Account(
        1_169_280,
        Clock(slot, 1_700_000_000, epoch, epoch + 1, 1_700_000_000).encode(),
        SYSVAR_OWNER,
        False,
        0,
    )


def fixture(name: str) -> tuple[Pubkey, Account]:
    return load_account(FIXTURES / name)


def with_data(account: Account, data: bytes) -> Account:
    return Account(account.lamports, data, account.owner, account.executable, account.rent_epoch)


def stake_pool(name: str) -> StakePoolAdapter:
    """The adapter for a stake-pool scenario of the oracle, fed exactly the oracle's accounts."""
    v = expected()["stake_pools"][name]
    address, account = fixture(v["pool"])
    if v.get("state_base64"):
        account = with_data(account, base64.b64decode(v["state_base64"]))
    pool = adapter_for(account).from_account(address, account)
    assert isinstance(pool, StakePoolAdapter)
    _, reserve = fixture(v["reserve"])
    _, fee_account = fixture(v["manager_fee"])
    state = pool.state
    pool.update(
        {
            address: account,
            state.reserve_stake: reserve,
            state.manager_fee_account: fee_account,
            SYSVAR_CLOCK_ID: clock(v["epoch"]),
        }
    )
    return pool


@cache
def variants() -> dict[str, dict[str, Any]]:
    doc = json.loads((ORACLE / "variants.json").read_text())
    return {v["name"]: v for group in doc.values() for v in group}


def marinade(name: str) -> MarinadePool:
    v = {**variants()[name], "state_base64": expected()["marinade"][name].get("state_base64")}
    address, account = fixture(v["state"])
    if v.get("state_base64"):
        account = with_data(account, base64.b64decode(v["state_base64"]))
    pool = MarinadePool.from_account(address, account)
    sol_key, sol_leg = fixture(v["sol_leg"])
    msol_key, msol_leg = fixture(v["msol_leg"])
    pool.update({address: account, sol_key: sol_leg, msol_key: msol_leg})
    return pool


# -- the bundled market plus the stake pools ---------------------------------------------------

#: Stake-pool scenarios of the oracle that join the bundled market (one per pool address).
MARKET_STAKE_POOLS = ("jitosol", "bsol", "jupsol", "lainesol", "pwrsol")
MARKET_EPOCH = 539  # JitoSOL's epoch: every fixture pool is fresh (the program refuses only older)
MARKET_TIMESTAMP = 1_750_000_000


def lst_accounts() -> dict[Pubkey, Account]:
    """The stake pools, Marinade and their accounts, as the oracle scenarios use them."""
    out: dict[Pubkey, Account] = {}
    for name in MARKET_STAKE_POOLS:
        v = variants()[name]
        for key in ("pool", "reserve", "manager_fee"):
            k, a = fixture(v[key])
            out[k] = a
    v = variants()["marinade"]
    for key in ("state", "sol_leg", "msol_leg"):
        k, a = fixture(v[key])
        out[k] = a
    return out


def first_party_adapters() -> list[type[Any]]:
    """Every adapter class of the installed first-party plugins (test code may import them)."""
    from importlib.metadata import entry_points

    classes: list[type[Any]] = []
    for ep in entry_points(group="lstarb"):
        module = ep.load()
        hook = getattr(module, "lstarb_dex_adapters", None)
        if hook is not None:
            classes.extend(hook())
    return classes


def market_pools(epoch: int = MARKET_EPOCH) -> dict[Pubkey, Any]:
    """The bundled real market and the stake pools, every pool decoded and updated."""
    from lstarb_runtime.builtin.replay import bundled_market, load_market
    from lstarb_runtime.pool_book import PoolBook

    accounts = load_market(bundled_market())
    accounts.update(load_market(FIXTURES / "market"))  # Orca bSOL/SOL and bSOL/USDC: triangles
    accounts.update(lst_accounts())
    accounts[SYSVAR_CLOCK_ID] = Account(
        1_169_280,
        Clock(epoch * 432_000, MARKET_TIMESTAMP, epoch, epoch + 1, MARKET_TIMESTAMP).encode(),
        SYSVAR_OWNER,
        False,
        0,
    )
    book = PoolBook(first_party_adapters(), keep_unwanted=True, states=False)  # a tape reader
    for key, account in accounts.items():
        book.apply(key, account)  # a pool is fed what the book holds; later accounts routed
    return dict(book.pools)
