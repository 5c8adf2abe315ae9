"""The pool state event the scanner publishes: checked where plugin code supplies the values,
equal to the fully validated model everywhere else."""

from __future__ import annotations

import pytest

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_runtime.market_data import pool_state_event
from lstarb_runtime.pool_book import PoolState
from lstarb_runtime.pool_premiums import PoolFairValue
from lstarb_sdk import PoolSummary
from lstarb_sdk.events import PoolStateEvent

from .test_scanner import MARKET, WHIRLPOOLS


def _state(summary: PoolSummary) -> PoolState:
    key = WHIRLPOOLS[0]
    return PoolState(WhirlpoolPool.from_account(key, MARKET[key]), summary, 1.5e-3, 9, 6)


@pytest.mark.parametrize(
    "fair", [None, PoolFairValue(fair_value=1.07, epoch=812, stale=True, premium_bps=-3.5)]
)
def test_the_event_equals_the_validated_model(fair: PoolFairValue | None) -> None:
    state = _state(PoolSummary(reserve_a=2**64 - 1, reserve_b=7, liquidity=2**100, fee_ppm=3000))
    event = pool_state_event(
        state, slot=99, write_version=3, source="rpc", received_ns=1234, fair=fair
    )
    pool = state.pool
    validated = PoolStateEvent(
        pool=pool.address,
        dex=pool.dex,
        slot=99,
        mint_a=pool.mints[0],
        mint_b=pool.mints[1],
        reserve_a=2**64 - 1,
        reserve_b=7,
        price=1.5e-3,
        liquidity=float(2**100),
        fee_bps=30,
        write_version=3,
        source="rpc",
        received_ns=1234,
        price_human=state.price_human,
        decimals_a=9,
        decimals_b=6,
        fee_ppm=3000,
        fair_value=fair.fair_value if fair else 0.0,
        fair_value_epoch=fair.epoch if fair else 0,
        fair_value_stale=fair.stale if fair else False,
        premium_bps=fair.premium_bps if fair else 0.0,
    )
    assert event.model_dump() == validated.model_dump()
    assert event.encode() == validated.encode()
    assert PoolStateEvent.decode(event.encode()) == validated


@pytest.mark.parametrize(
    "summary",
    [
        PoolSummary(reserve_a=-1, reserve_b=0, liquidity=0, fee_ppm=0),
        PoolSummary(reserve_a=0, reserve_b=2**64, liquidity=0, fee_ppm=0),
        PoolSummary(reserve_a=0, reserve_b=0, liquidity=0, fee_ppm=2**32),
        PoolSummary(reserve_a=1.0, reserve_b=0, liquidity=0, fee_ppm=0),  # type: ignore[arg-type]
        PoolSummary(reserve_a=True, reserve_b=0, liquidity=0, fee_ppm=0),
    ],
)
def test_a_summary_out_of_range_is_refused_here(summary: PoolSummary) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        pool_state_event(_state(summary), slot=1, write_version=0, source="", received_ns=0)
