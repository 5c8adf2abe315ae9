"""Entry point of the raydium plugin: the hooks lstarb calls."""

from __future__ import annotations

from lstarb_raydium.amm_v4 import AmmV4Pool
from lstarb_raydium.clmm import ClmmPool
from lstarb_raydium.cpmm import CpmmPool
from lstarb_sdk import PoolAdapter, hookimpl

LSTARB_SDK_API = "1.1"


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return [AmmV4Pool, CpmmPool, ClmmPool]
