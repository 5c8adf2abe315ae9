"""Entry point of the orca plugin: the hooks lstarb calls."""

from __future__ import annotations

from lstarb_orca.whirlpool import WhirlpoolPool
from lstarb_sdk import PoolAdapter, hookimpl

LSTARB_SDK_API = "1.1"


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return [WhirlpoolPool]
