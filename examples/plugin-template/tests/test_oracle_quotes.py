"""The example adapter's quotes equal the official SDK's, to the unit, on every grid point.

``oracle/expected_quotes.json`` was computed by Raydium's SDK on the same accounts (see
``oracle/README.md``). Where the SDK's output is 0 the program refuses the swap, so the
adapter raises QuoteError there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_example.pool import ExampleCpmmPool
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import load_dir, load_json

HERE = Path(__file__).parent
EXPECTED = load_json(HERE / "oracle" / "expected_quotes.json")
POOL = Pubkey.from_string(EXPECTED["pool"])
ACCOUNTS = load_dir(HERE / "fixtures" / "sol-usdc-7Juw")


@pytest.fixture(scope="module")
def pool() -> ExampleCpmmPool:
    p = ExampleCpmmPool.from_account(POOL, ACCOUNTS[POOL])
    p.update(ACCOUNTS)
    return p


def test_the_oracle_is_the_pinned_sdk() -> None:
    assert EXPECTED["sdk"] == {"package": "@raydium-io/raydium-sdk-v2", "version": "0.2.73-alpha"}
    assert EXPECTED["rates"]["creator_applied"] == "0"  # the example refuses creator fees
    assert len(EXPECTED["cases"]) > 100


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=lambda c: f"{c['direction']}-{c['amount']}")
def test_quote_matches_the_sdk(pool: ExampleCpmmPool, case: dict[str, Any]) -> None:
    mint = Pubkey.from_string(case["input_mint"])
    amount, exact_in = int(case["amount"]), case["exact_in"]
    if int(case["out_amount"]) == 0 or int(case["in_amount"]) > 2**64 - 1:
        with pytest.raises(QuoteError):
            pool.quote(amount, mint, exact_in=exact_in)
        return
    q = pool.quote(amount, mint, exact_in=exact_in)
    assert (q.in_amount, q.out_amount, q.fee_amount) == (
        int(case["in_amount"]),
        int(case["out_amount"]),
        int(case["trade_fee"]),
    )
