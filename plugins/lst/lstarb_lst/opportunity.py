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

from solders.pubkey import Pubkey

from lstarb_lst.cycles import Cycle
from lstarb_lst.sizing import Sized
from lstarb_sdk import Leg, Opportunity, PoolAdapter, Quote
from lstarb_sdk.fair_value import PPM, FairValueBook, premium_ppm

#: A leg priced this far from fair value (either way, millionths) is suspicious: stale data or a
#: broken pool. Agreement falls from 1 at the tolerance to 0.2 at the limit.
_FAIR_TOLERANCE = 20_000
_FAIR_LIMIT = 100_000
#: Slots after which a pool's state counts as old (about a minute).
_FRESH_SLOTS = 150


def fingerprint(legs: tuple[Leg, ...]) -> str:
    """A digest of the state as the legs saw it: each pool and what it quoted.

    Exact quotes are a function of the pool states, so the same states give
    the same digest; states that differ where the legs do not look (a tick
    array far from the price) quote the same legs and are, for this
    opportunity, the same state.
    """
    h = hashlib.blake2b(digest_size=16)
    for leg in legs:
        h.update(bytes(leg.pool))
        h.update(leg.in_amount.to_bytes(8, "little") + leg.out_amount.to_bytes(8, "little"))
    return h.hexdigest()


def opportunity_id(strategy: str, cycle: Cycle, state: str, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{strategy}|{cycle.key}|{state}|{size}".encode())
    return h.hexdigest()


def confidence_ppm(
    legs: tuple[Leg, ...],
    probe: tuple[Quote, ...],
    book: FairValueBook,
    last_slot: Mapping[Pubkey, int],
    slot: int,
) -> int:
    """0..1,000,000: fair-value agreement x freshness x depth, in integers (each step rounds down).

    Agreement: every leg priced within 2 % of fair value counts 1, falling
    linearly to 0.2 at 10 % (a leg that far off is more likely stale data
    than free money); a leg without fair values for both mints counts 0.8.
    Freshness: 1 when every pool changed within the last 150 slots, 0.5 if not,
    0.7 if a fair value used is stale. Depth: 1 / (1 + 10 * the largest
    impact of a leg, how much better its rate was at the probe size than at
    this one (for a constant-product pool: the share of its reserve the leg
    takes; a stake pool mints at one rate and has none).
    """
    agree = PPM
    stale = False
    for leg in legs:
        paid, got = book.get(leg.input_mint), book.get(leg.output_mint)
        if paid is None or got is None or leg.in_amount <= 0:
            agree = agree * 4 // 5
            continue
        stale = stale or paid.stale or got.stale
        off = abs(premium_ppm(paid, leg.in_amount, got, leg.out_amount))
        if off > _FAIR_TOLERANCE:
            span = _FAIR_LIMIT - _FAIR_TOLERANCE
            factor = PPM - 800_000 * min(off - _FAIR_TOLERANCE, span) // span
            agree = agree * factor // PPM
    fresh = PPM
    if any(slot - last_slot.get(leg.pool, slot) > _FRESH_SLOTS for leg in legs):
        fresh //= 2
    if stale:
        fresh = fresh * 7 // 10
    impact = 0  # millionths
    for leg, small in zip(legs, probe, strict=True):
        paid = small.in_amount * leg.out_amount  # rate here vs rate at the probe, cross-multiplied
        if paid > 0:
            impact = max(impact, (small.out_amount * leg.in_amount - paid) * PPM // paid)
    depth = PPM * PPM // (PPM + 10 * impact)
    return agree * fresh // PPM * depth // PPM


def build(
    strategy: str,
    cycle: Cycle,
    sized: Sized,
    pools: Mapping[Pubkey, PoolAdapter],
    book: FairValueBook,
    last_slot: Mapping[Pubkey, int],
    slot: int,
) -> Opportunity:
    """Wrap a sized cycle: its legs are the quotes the sizing took at the chosen size."""
    legs = tuple(
        [
            Leg(
                h.pool,
                pools[h.pool].dex,
                h.input_mint,
                h.output_mint,
                q.in_amount,
                q.out_amount,
                q.fee_amount,
            )
            for h, q in zip(cycle.hops, sized.quotes, strict=True)
        ]
    )
    state = fingerprint(legs)
    conf = confidence_ppm(legs, sized.probe, book, last_slot, slot)
    return Opportunity(
        id=opportunity_id(strategy, cycle, state, sized.size),
        strategy=strategy,
        base_mint=cycle.base,
        legs=legs,
        expected_profit=sized.profit,
        slot=slot,
        detected_ns=time.time_ns(),
        metadata={
            "cycle": cycle.key,
            "state": state,
            "confidence": f"{conf / PPM:.4f}",
            "confidence_ppm": str(conf),
        },
    )
