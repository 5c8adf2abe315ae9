"""The scanner's output: one MARKET_DATA event per pool state it has seen.

Why a module of its own: the pool book knows pools, the bus knows streams; this is the one
place that decides what a pool state looks like on the wire (``md.<dex>.<pool>``), so the
scanner loop stays a loop and the event stays the same whichever data source fed it.
"""

from __future__ import annotations

import time

from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import PoolStateEvent
from lstarb_sdk.types import AccountUpdate


def probe_price(book: PoolBook, pool: PoolAdapter) -> float:
    """mint_b per mint_a for one whole token of mint_a; 0.0 while the pool cannot quote exactly.

    The price on MARKET_DATA is a summary for dashboards and ``lstarb tail``, never an input
    to trading: strategies quote the adapter themselves, exactly, at the size they trade.
    """
    mint_a = pool.mints[0]
    try:
        quote = book.quote(pool.address, book.whole_token(mint_a), mint_a)
    except LstarbError:
        return 0.0
    return quote.out_amount / quote.in_amount if quote.in_amount else 0.0


def pool_state_event(
    pool: PoolAdapter,
    update: AccountUpdate,
    price: float,
) -> PoolStateEvent:
    """The MARKET_DATA event for ``pool`` after ``update`` (one of the accounts it reads).

    Publish it with :func:`msg_id` so two data sources that both saw the same account
    state put it on the stream once (JetStream de-duplication).
    """
    mint_a, mint_b = pool.mints
    return PoolStateEvent(
        pool=pool.address,
        dex=pool.dex,
        slot=update.slot,
        mint_a=mint_a,
        mint_b=mint_b,
        price=price,
        write_version=update.write_version,
        source=update.source,
        received_ns=update.received_ns or time.time_ns(),
    )


def msg_id(pool: PoolAdapter, update: AccountUpdate) -> str:
    """Pool, account, slot and write version: unique per pool state, equal across sources.

    The account is part of it because one slot may change several accounts of one pool
    (the pool, a vault, a tick array), each a new pool state that must not be de-duplicated
    away.
    """
    return f"{pool.address}:{update.pubkey}:{update.slot}:{update.write_version}"
