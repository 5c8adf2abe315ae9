"""Swaps across tick arrays that do not exist on chain, to the unit against the official SDK.

``tests/oracle/expected_clmm_sparse.json`` is written by
``tests/oracle/clmm_sparse_quotes.mjs``: raydium-sdk-v2's swap simulator on
two variants of the real fixture pool whose bitmap no longer marks array
-25140, and without that array (the chain has no such account: the adapter
is told so with None). ``gap_down`` keeps the price at tick -25046 and swaps
down through the gap; ``gap_up`` has the price at -25150 and swaps up
through it. The program follows the bitmap and skips the range; so must the
adapter, and it must never read the missing array. A missing array that the
bitmap does mark is a QuoteError naming it.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.clmm.bitmap import tick_array_address
from lstarb_raydium.clmm.tick_math import sqrt_price_at_tick
from lstarb_sdk.errors import QuoteError
from lstarb_sdk.testing import load_account, load_dir

HERE = Path(__file__).parent
EXPECTED = json.loads((HERE / "oracle" / "expected_clmm_sparse.json").read_text())
POOL = Pubkey.from_string(EXPECTED["pool"])
GAP = EXPECTED["absent_tick_array_start"]
GAP_KEY = tick_array_address(POOL, GAP)
REAL = load_dir(HERE / "fixtures" / "clmm")
VARIANTS = list(EXPECTED["variants"])
CASES = [(name, c) for name, v in EXPECTED["variants"].items() for c in v["cases"]]


def _pool_account(name: str) -> Account:
    key, account = load_account(HERE / EXPECTED["variants"][name]["pool_file"])
    assert key == POOL
    return account


def _adapter(name: str) -> ClmmPool:
    accounts: dict[Pubkey, Account | None] = dict(REAL)
    accounts[POOL] = _pool_account(name)
    accounts[GAP_KEY] = None  # the chain has no such account
    pool = ClmmPool.from_account(POOL, _pool_account(name))
    pool.update(accounts)
    return pool


POOLS = {name: _adapter(name) for name in VARIANTS}


def test_derivation_changes_only_the_named_fields() -> None:
    """The variants are the real pool with the gap's bitmap bit cleared (and the price moved)."""
    real = bytes(REAL[POOL].data)
    bit = GAP // 60 + 512
    byte = 904 + bit // 8
    down = bytes(_pool_account("gap_down").data)
    assert [i for i in range(len(real)) if real[i] != down[i]] == [byte]
    assert real[byte] & (1 << bit % 8) and not down[byte] & (1 << bit % 8)
    up = bytes(_pool_account("gap_up").data)
    changed = {i for i in range(len(real)) if real[i] != up[i]}
    assert changed <= {byte, *range(253, 269), *range(269, 273)}
    assert int.from_bytes(up[253:269], "little") == sqrt_price_at_tick(-25150)
    assert int.from_bytes(up[269:273], "little", signed=True) == -25150


def test_oracle_metadata() -> None:
    assert EXPECTED["sdk"] == {"package": "@raydium-io/raydium-sdk-v2", "version": "0.2.73-alpha"}
    assert GAP not in EXPECTED["tick_arrays_loaded"]
    for name in VARIANTS:
        counts = Counter(
            (c["direction"], c["exact_in"]) for c in EXPECTED["variants"][name]["cases"]
        )
        assert len(counts) == 4 and min(counts.values()) >= 45


def _id(case: tuple[str, dict[str, Any]]) -> str:
    name, c = case
    return f"{name}-{c['direction']}-{'in' if c['exact_in'] else 'out'}-{c['amount']}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_quote_matches_sdk(case: tuple[str, dict[str, Any]]) -> None:
    name, c = case
    pool = POOLS[name]
    mint = Pubkey.from_string(c["input_mint"])
    amount, exact_in = int(c["amount"]), c["exact_in"]
    if not c["all_trade"]:
        with pytest.raises(QuoteError, match=r"tick array \w+ \(start -?\d+\) is not loaded"):
            pool.quote(amount, mint, exact_in=exact_in)
        return
    if int(c["out_amount"]) == 0 or int(c["in_amount"]) == 0:
        with pytest.raises(QuoteError, match="too small"):
            pool.quote(amount, mint, exact_in=exact_in)
        return
    q = pool.quote(amount, mint, exact_in=exact_in)
    assert (q.in_amount, q.out_amount, q.fee_amount) == (
        int(c["in_amount"]),
        int(c["out_amount"]),
        int(c["fee_amount"]),
    )
    zero_for_one = c["direction"] == "token0_in"
    specified = amount
    _, _, _, used, _ = pool.swap_amounts(specified, zero_for_one, exact_in)
    assert GAP not in used
    ours = [str(tick_array_address(POOL, s)) for s in pool.swap_tick_arrays(used, zero_for_one)]
    loaded = {str(tick_array_address(POOL, s)) for s in EXPECTED["tick_arrays_loaded"]}
    sdk = c["remaining_accounts"]
    assert ours == sdk or (ours[:-1] == sdk and ours[-1] not in loaded), (ours, sdk)


@pytest.mark.parametrize("name", VARIANTS)
def test_swaps_cross_the_gap_both_ways(name: str) -> None:
    """The grid holds fills that walk from one side of the missing array to the other."""
    pool = POOLS[name]
    crossing = Counter()
    for n, c in CASES:
        if n != name or not c["all_trade"] or not int(c["out_amount"]) or not int(c["in_amount"]):
            continue
        zero_for_one = c["direction"] == "token0_in"
        _, _, _, used, _ = pool.swap_amounts(int(c["amount"]), zero_for_one, c["exact_in"])
        if min(used) < GAP < max(used):
            crossing[(c["direction"], c["exact_in"])] += 1
    direction = "token0_in" if name == "gap_down" else "token1_in"
    assert crossing[(direction, True)] >= 5 and crossing[(direction, False)] >= 5, crossing


@pytest.mark.parametrize("name", VARIANTS)
def test_the_missing_array_is_never_listed(name: str) -> None:
    pool = POOLS[name]
    assert GAP_KEY not in pool.accounts_to_update()
    assert GAP not in pool.swap_tick_arrays([pool.pool_state.tick_current // 60 * 60], True)


def test_a_marked_array_the_chain_lacks_is_named() -> None:
    """The real bitmap marks -25140; told it does not exist, a swap reaching it refuses."""
    accounts: dict[Pubkey, Account | None] = dict(REAL)
    accounts[GAP_KEY] = None
    pool = ClmmPool.from_account(POOL, REAL[POOL])
    pool.update(accounts)
    m0, m1 = pool.mints
    reference = ClmmPool.from_account(POOL, REAL[POOL])
    reference.update(REAL)
    with pytest.raises(QuoteError, match=f"tick array {GAP_KEY} \\(start {GAP}\\) does not exist"):
        pool.quote(10**9, m0)  # the price-down walk enters -25140 at once
    assert pool.quote(10**6, m1) == reference.quote(10**6, m1)  # the way up never reaches it
    assert pool.summary() == reference.summary()
    pool.update({GAP_KEY: REAL[GAP_KEY]})  # it appeared after all
    assert pool.quote(10**9, m0) == reference.quote(10**9, m0)


def test_fixture_bytes_are_base64_of_the_variants() -> None:
    """The derived files carry their derivation, and decode as the pool they claim to be."""
    for name in VARIANTS:
        doc = json.loads((HERE / EXPECTED["variants"][name]["pool_file"]).read_text())
        assert doc["derivation"]["derived_from"] == "../clmm/pool.json"
        assert base64.b64decode(doc["data_base64"]) == bytes(_pool_account(name).data)
        assert ClmmPool.matches(_pool_account(name))
