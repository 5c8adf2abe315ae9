"""Entry point of the pumpswap plugin: the hooks lstarb calls."""

from __future__ import annotations

from lstarb_pumpswap.pool import PumpSwapPool
from lstarb_sdk import PoolAdapter, hookimpl

LSTARB_SDK_API = "1.1"


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return [PumpSwapPool]
