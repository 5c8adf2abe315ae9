"""The entry point exposes the adapter with the fixed names."""

from __future__ import annotations

from importlib.metadata import entry_points

from lstarb_meteora.dlmm import DlmmPool
from lstarb_meteora.dlmm.constants import PROGRAM_ID
from lstarb_sdk import PoolAdapter


def test_entry_point_and_hook() -> None:
    (ep,) = [e for e in entry_points(group="lstarb") if e.name == "meteora"]
    module = ep.load()
    assert module.lstarb_dex_adapters() == [DlmmPool]
    assert issubclass(DlmmPool, PoolAdapter)
    assert DlmmPool.program_id == PROGRAM_ID
    assert DlmmPool.dex == "meteora-dlmm"
