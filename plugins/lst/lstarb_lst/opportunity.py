"""From a sized cycle to an Opportunity: legs, state fingerprint, deterministic id, confidence.

The id is a hash of the strategy, the cycle, the state fingerprint and the
size, so two scanners that see the same pool states and choose the same size
publish the same id (JetStream de-duplicates it); the slot is carried but not
hashed, because the same state seen a slot later is the same opportunity.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from fractions import Fraction

from solders.pubkey import Pubkey

from lstarb_lst.cycles import Cycle
from lstarb_sdk import Leg, Opportunity, PoolAdapter
from lstarb_sdk.fair_value import FairValueBook

#: A leg priced this far from fair value (either way) is suspicious: stale data or a broken pool.
_FAIR_TOLERANCE = Fraction(2, 100)
_FAIR_LIMIT = Fraction(10, 100)
#: Slots after which a pool's state counts as old (about a minute).
_FRESH_SLOTS = 150


def fingerprint(legs: tuple[Leg, ...], pools: Mapping[Pubkey, PoolAdapter]) -> str:
    """A digest of the state the legs were quoted on: each pool's summary and its quote."""
    h = hashlib.blake2b(digest_size=16)
    for leg in legs:
        h.update(bytes(leg.pool))
        h.update(leg.in_amount.to_bytes(8, "little") + leg.out_amount.to_bytes(8, "little"))
        summary = pools[leg.pool].summary()
        if summary is not None:
            for v in (summary.reserve_a, summary.reserve_b, summary.liquidity, summary.fee_ppm):
                h.update(v.to_bytes(16, "little", signed=True))
    return h.hexdigest()


def opportunity_id(strategy: str, cycle: Cycle, state: str, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{strategy}|{cycle.key}|{state}|{size}".encode())
    return h.hexdigest()


def confidence(
    legs: tuple[Leg, ...],
    pools: Mapping[Pubkey, PoolAdapter],
    book: FairValueBook,
    last_slot: Mapping[Pubkey, int],
    slot: int,
) -> Fraction:
    """0..1: fair-value agreement x freshness x depth.

    Agreement: every leg priced within 2 % of fair value counts 1, falling
    linearly to 0.2 at 10 % (a leg that far off is more likely stale data
    than free money); a leg without fair values for both mints counts 0.8.
    Freshness: 1 when every pool changed within the last 150 slots, 0.5 if not,
    0.7 if a fair value used is stale. Depth: 1 / (1 + 10 * the largest share
    of a pool's reserve that a leg takes).
    """
    agree = Fraction(1)
    stale = False
    for leg in legs:
        fair = book.fair_price(leg.input_mint, leg.output_mint)
        if fair is None or leg.in_amount == 0:
            agree *= Fraction(4, 5)
            continue
        for mint in (leg.input_mint, leg.output_mint):
            value = book.get(mint)
            stale = stale or (value is not None and value.stale)
        off = abs(Fraction(leg.out_amount, leg.in_amount) / fair - 1)
        if off > _FAIR_TOLERANCE:
            span = _FAIR_LIMIT - _FAIR_TOLERANCE
            agree *= max(
                Fraction(1, 5), 1 - Fraction(4, 5) * min(off - _FAIR_TOLERANCE, span) / span
            )
    fresh = Fraction(1)
    if any(slot - last_slot.get(leg.pool, slot) > _FRESH_SLOTS for leg in legs):
        fresh = Fraction(1, 2)
    if stale:
        fresh *= Fraction(7, 10)
    share = Fraction(0)
    for leg in legs:
        pool = pools[leg.pool]
        summary = pool.summary()
        if summary is None:
            continue
        reserve = summary.reserve_a if leg.input_mint == pool.mints[0] else summary.reserve_b
        if reserve > 0:
            share = max(share, Fraction(leg.in_amount, reserve))
    depth = 1 / (1 + 10 * share)
    return agree * fresh * depth


def build(
    strategy: str,
    cycle: Cycle,
    size: int,
    pools: Mapping[Pubkey, PoolAdapter],
    book: FairValueBook,
    last_slot: Mapping[Pubkey, int],
    slot: int,
) -> Opportunity:
    """Quote the cycle at ``size`` leg by leg and wrap it (QuoteError if a leg refuses)."""
    legs = []
    amount = size
    for hop in cycle.hops:
        pool = pools[hop.pool]
        q = pool.quote(amount, hop.input_mint)
        legs.append(
            Leg(
                hop.pool,
                pool.dex,
                hop.input_mint,
                hop.output_mint,
                q.in_amount,
                q.out_amount,
                q.fee_amount,
            )
        )
        amount = q.out_amount
    legs_t = tuple(legs)
    state = fingerprint(legs_t, pools)
    conf = confidence(legs_t, pools, book, last_slot, slot)
    return Opportunity(
        id=opportunity_id(strategy, cycle, state, size),
        strategy=strategy,
        base_mint=cycle.base,
        legs=legs_t,
        expected_profit=legs_t[-1].out_amount - legs_t[0].in_amount,
        slot=slot,
        detected_ns=time.time_ns(),
        metadata={
            "cycle": cycle.key,
            "state": state,
            "confidence": f"{float(conf):.4f}",
            "confidence_ppm": str(int(conf * 1_000_000)),
        },
    )
