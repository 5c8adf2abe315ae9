"""Fixtures shared by the raydium plugin tests: the programs' IDLs in the forms the tests read."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lstarb_sdk.testing import load_json

IDL_DIR = Path(__file__).parent / "fixtures" / "idl"
SWAP_V2_TAGS = {"swapBaseIn": 16, "swapBaseOut": 17}


@pytest.fixture(scope="session")
def amm_v4_idl() -> dict[str, Any]:
    """raydium_amm_v4.json with its SwapBaseInV2/OutV2, in the shape anchorpy reads.

    The hand-written IDL (raydium-idl) lists the ``Fees`` struct under
    ``accounts`` as well as using it as a type; anchorpy needs it among the
    types only, so it is moved there (form only). It predates SwapBaseInV2 /
    SwapBaseOutV2 (tags 16/17, program ``instruction.rs``): their args are the
    v1 structs and their 8 accounts the v1 list without open orders, target
    orders and the seven OpenBook (serum) accounts (``process_swap_base_in_v2``),
    so they are added that way, each with its one-byte tag as discriminator.
    """
    raw = copy.deepcopy(load_json(IDL_DIR / "raydium_amm_v4.json"))
    fees = [a for a in raw["accounts"] if a["name"] == "Fees"]
    raw["accounts"] = [a for a in raw["accounts"] if a["name"] != "Fees"]
    raw["types"] = raw["types"] + fees
    v1 = {ix["name"]: ix for ix in raw["instructions"]}
    for name, tag in SWAP_V2_TAGS.items():
        accounts = [
            a
            for a in v1[name]["accounts"]
            if a["name"] not in ("ammOpenOrders", "ammTargetOrders")
            and not a["name"].startswith("serum")
        ]
        raw["instructions"].append(
            {
                "name": f"{name}V2",
                "discriminator": [tag],
                "accounts": accounts,
                "args": v1[name]["args"],
            }
        )
    return raw
