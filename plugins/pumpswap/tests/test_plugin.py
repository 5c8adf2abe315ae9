"""The entry point exposes the adapter with the fixed names."""

from __future__ import annotations

from importlib.metadata import entry_points

from lstarb_pumpswap.constants import PUMP_AMM_PROGRAM_ID
from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk import PoolAdapter


def test_entry_point_and_hook() -> None:
    (ep,) = [e for e in entry_points(group="lstarb") if e.name == "pumpswap"]
    module = ep.load()
    assert module.LSTARB_SDK_API == "1.1"
    assert module.lstarb_dex_adapters() == [PumpSwapPool]
    assert issubclass(PumpSwapPool, PoolAdapter)
    assert PumpSwapPool.program_id == PUMP_AMM_PROGRAM_ID
    assert str(PUMP_AMM_PROGRAM_ID) == "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
    assert PumpSwapPool.dex == "pumpswap"
