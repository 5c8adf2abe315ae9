"""PumpSwap passes the SDK's conformance kit on both real fixture sets, and on a USDC pool
priced on the stable fee tiers (an oracle scenario)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk.testing import accounts_of, check_adapter, load_json

FIXTURES = Path(__file__).parent / "fixtures"
IDL = load_json(FIXTURES / "idl" / "pump_amm.json")
#: An exact-in buy (buy_exact_quote_in) prices one unit less than it charges (the program's
#: ``effective - 1``), so the input an exact-out buy (``buy``) asks for buys slightly less
#: sent exact-in: one unit more always reaches it (test_properties.test_buy_round_trip).
EXACT_OUT_TOLERANCE = 1


@pytest.mark.parametrize("name", ["7lss-wsol-canonical", "pump-usdc-flat", "pump-usdc-canonical"])
def test_conformance(
    scenario: Callable[[str], dict[str, tuple[Pubkey, Account]]], name: str
) -> None:
    accounts = scenario(name)
    check_adapter(
        PumpSwapPool,
        accounts["pool"][0],
        accounts_of(accounts),
        idl=IDL,
        exact_out_tolerance=EXACT_OUT_TOLERANCE,
    )
