"""What the scanner puts on MARKET_DATA: the raw account updates it applied (the tape) and a
summary of each pool that can quote.

Why a module of its own: the pool book knows pools, the bus knows streams and message ids;
this is the one place that decides what a pool state looks like as an event, so the scanner
loop stays a loop and the event is the same whichever data source fed it. Subjects and
message ids are the bus's (``subject_of``, ``msg_id_of``), never decided here.
"""

from __future__ import annotations

from typing import Final

from lstarb_runtime.pool_book import PoolState
from lstarb_runtime.pool_premiums import PoolFairValue
from lstarb_sdk.events import SCHEMA_VERSION, PoolStateEvent

PPM_PER_BPS = 100
_U64: Final = 2**64
_U32: Final = 2**32


def _unsigned(name: str, value: object, bound: int) -> int:
    """A summary's integer, checked: an int (not a bool) in ``[0, bound)``, else ValueError."""
    if type(value) is not int or not 0 <= value < bound:
        raise ValueError(f"{name} must be an integer in [0, {bound}), got {value!r}")
    return value


def pool_state_event(
    state: PoolState,
    *,
    slot: int,
    write_version: int,
    source: str,
    received_ns: int,
    fair: PoolFairValue | None = None,
) -> PoolStateEvent:
    """The MARKET_DATA event of a pool that can quote, after an account at ``slot`` changed it.

    Reserves, liquidity and fee come from the adapter's own ``summary()``; ``price`` is the
    probe quote's raw ratio and ``price_human`` the same with the mints' decimals applied.
    ``fair``: the LST's fair value and the pool's premium to it (an LST/SOL pool whose LST is
    priced; see :mod:`lstarb_runtime.pool_premiums`), else the fields stay 0.
    The values that come from plugin code (the summary's reserves, liquidity and fee) are
    checked here, so a summary out of range is an error here (the scanner counts it), not a
    broken event on the stream; the rest is the scanner's own (addresses, slots, decimals,
    prices, fair values) and the event is built without pydantic's validation of every field,
    which cost about as much as encoding it (checked equal to the validated model in
    ``tests/test_market_data.py``).
    """
    pool, summary = state.pool, state.summary
    mint_a, mint_b = pool.mints
    fee_ppm = _unsigned("fee_ppm", summary.fee_ppm, _U32)
    return PoolStateEvent.unchecked(
        {
            "schema_version": SCHEMA_VERSION,
            "pool": pool.address,
            "dex": pool.dex,
            "slot": slot,
            "mint_a": mint_a,
            "mint_b": mint_b,
            "reserve_a": _unsigned("reserve_a", summary.reserve_a, _U64),
            "reserve_b": _unsigned("reserve_b", summary.reserve_b, _U64),
            "price": float(state.price),
            "liquidity": float(summary.liquidity),
            "fee_bps": fee_ppm // PPM_PER_BPS,
            "write_version": write_version,
            "source": source,
            "received_ns": received_ns,
            "price_human": float(state.price_human),
            "decimals_a": state.decimals_a,
            "decimals_b": state.decimals_b,
            "fee_ppm": fee_ppm,
            "fair_value": float(fair.fair_value) if fair is not None else 0.0,
            "fair_value_epoch": fair.epoch if fair is not None else 0,
            "fair_value_stale": fair.stale if fair is not None else False,
            "premium_bps": float(fair.premium_bps) if fair is not None else 0.0,
        }
    )
