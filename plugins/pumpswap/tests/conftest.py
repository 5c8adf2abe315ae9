"""Fixtures of the pumpswap plugin tests: scenarios (fixture sets plus byte patches) and pools.

An oracle scenario is a fixture set as dumped, or one patched as
``oracle/variants.json`` says (quotes.mjs applies the same patches).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.testing import accounts_of, load_json, load_variant

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
ORACLE = HERE / "oracle"

Scenario = dict[str, tuple[Pubkey, Account]]


@pytest.fixture(scope="session")
def scenario() -> Callable[[str], Scenario]:
    """Role (file stem: ``pool``, ``base_vault``, ...) -> (address, account) of a scenario."""
    variants = {v["name"]: v for v in load_json(ORACLE / "variants.json")["variants"]}

    def get(name: str) -> Scenario:
        return load_variant(FIXTURES, variants.get(name, {"fixture": name, "patches": []}))

    return get


@pytest.fixture(scope="session")
def load_pool(scenario: Callable[[str], Scenario]) -> Callable[[str], PumpSwapPool]:
    """A freshly built adapter fed every account of a scenario, as the runtime would."""

    def build(name: str) -> PumpSwapPool:
        accounts = scenario(name)
        key, account = accounts["pool"]
        pool = PumpSwapPool.from_account(key, account)
        pool.update(accounts_of(accounts))
        return pool

    return build
