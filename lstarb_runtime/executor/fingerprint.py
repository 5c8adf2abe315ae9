"""Which pool states a plan was made on, as 16 bytes (``ExecutionPlanEvent.state_fingerprint``).

Why a digest of account versions rather than of account bytes: every process that reads the
market tape holds the same (slot, write_version) for each account it took (the tape orders
them), so comparing versions is exact and costs no hashing of megabytes of tick arrays. The
planner writes the fingerprint of the legs' pools; the executor computes it again on its own
book and knows whether the market moved between planning and building.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from solders.pubkey import Pubkey

from lstarb_runtime.pool_book import PoolBook

FINGERPRINT_BYTES = 16
_VERSION = struct.Struct("<QQ")
_NONE = (0, 0)


def state_fingerprint(book: PoolBook, pools: Iterable[Pubkey]) -> bytes:
    """Digest of the version of every account the given pools read, the pools included.

    Accounts are taken once each, in key order, so the legs' order and repeated pools do not
    matter. A pool the book does not hold contributes its address with version (0, 0): the
    fingerprint still differs from one made while the book held it.
    """
    keys: set[Pubkey] = set()
    for address in pools:
        keys.add(address)
        pool = book.pools.get(address)
        if pool is not None:
            keys.update(pool.accounts_to_update())
    versions = book.versions
    pack = _VERSION.pack
    # One update of the joined bytes hashes exactly what one update per part did (blake2b is
    # a stream), at a fraction of the calls: this runs for every plan, planned and built.
    ordered = sorted((bytes(key), versions.get(key, _NONE)) for key in keys)
    data = b"".join(raw + pack(*version) for raw, version in ordered)
    return hashlib.blake2b(data, digest_size=FINGERPRINT_BYTES).digest()
