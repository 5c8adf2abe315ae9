"""The scanner's output: one MARKET_DATA event per pool state it has seen.

Why a module of its own: the pool book knows pools, the bus knows streams; this is the one
place that decides what a pool state looks like on the wire (``md.<dex>.<pool>``), so the
scanner loop stays a loop and the event stays the same whichever data source fed it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import PoolStateEvent
from lstarb_sdk.types import AccountUpdate


@dataclass(slots=True)
class PriceProbe:
    """The last probe quote of a pool: ``out_amount`` of mint_b for ``in_amount`` of mint_a."""

    in_amount: int
    out_amount: int

    @property
    def price(self) -> float:
        return self.out_amount / self.in_amount if self.in_amount else 0.0


def probe_price(book: PoolBook, pool: PoolAdapter, amount: int) -> PriceProbe | None:
    """Quote ``amount`` of mint_a through the pool; None while the pool cannot quote exactly.

    The price on MARKET_DATA is a summary for dashboards and ``lstarb tail``, never an input
    to trading: strategies quote the adapter themselves, exactly, at the size they trade.
    """
    try:
        quote = book.quote(pool.address, amount, pool.mints[0])
    except LstarbError:
        return None
    return PriceProbe(quote.in_amount, quote.out_amount)


def pool_state_event(
    pool: PoolAdapter,
    update: AccountUpdate,
    probe: PriceProbe | None,
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
        price=probe.price if probe else 0.0,
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
