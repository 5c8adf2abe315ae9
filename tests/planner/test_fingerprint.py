"""The plans' state fingerprint (``lstarb_runtime.executor.fingerprint``) is the digest its
docstring defines, part by part: the planner writes it and the executor recomputes it, so
any change to how it is computed must leave every byte as it was (checked on the real market
of the planner tests, every scanned route, with and without a pool the book lacks)."""

from __future__ import annotations

import hashlib
import struct

from solders.pubkey import Pubkey

from lstarb_runtime.executor.fingerprint import FINGERPRINT_BYTES, state_fingerprint
from lstarb_runtime.pool_book import PoolBook

from .planner_testlib import by_route, engine, fresh_market, scanned, traded


def by_parts(book: PoolBook, pools: list[Pubkey]) -> bytes:
    """The definition: each account once, in key order, its address then (slot, version)."""
    keys: set[Pubkey] = set()
    for address in pools:
        keys.add(address)
        if address in book.pools:
            keys.update(book.pools[address].accounts_to_update())
    digest = hashlib.blake2b(digest_size=FINGERPRINT_BYTES)
    for key in sorted(keys, key=bytes):
        digest.update(bytes(key))
        digest.update(struct.pack("<QQ", *book.versions.get(key, (0, 0))))
    return digest.digest()


def test_every_route_fingerprint_is_the_defined_digest() -> None:
    book = engine().market.book
    routes = [[leg.pool for leg in opp.legs] for opp in scanned().opportunities]
    assert len(routes) >= 5
    missing = Pubkey.new_unique()
    for pools in routes:
        assert state_fingerprint(book, pools) == by_parts(book, pools)
        assert state_fingerprint(book, [*pools, missing]) == by_parts(book, [*pools, missing])
        assert state_fingerprint(book, list(reversed(pools))) == state_fingerprint(book, pools)


def test_a_newer_state_changes_the_fingerprint() -> None:
    market = fresh_market()
    opp = by_route("raydium-clmm", "raydium-amm-v4")
    pools = [leg.pool for leg in opp.legs]
    before = state_fingerprint(market.book, pools)
    amm = opp.legs[1]  # constant product: what ``traded`` moves
    slot = scanned().tape[-1].slot + 1
    market.apply_all(traded(market.book, amm.pool, amm.output_mint, 10**9, slot=slot, seq=1))
    after = state_fingerprint(market.book, pools)
    assert after != before
    assert after == by_parts(market.book, pools)
