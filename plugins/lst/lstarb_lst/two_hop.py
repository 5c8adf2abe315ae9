"""Two-hop arbitrage: buy on one pool, sell on another pool of the same pair (any DEX).

A stake pool counts as a pool of SOL and its LST, so minting JitoSOL with
DepositSol and selling it on Orca is a two-hop cycle like any other.
"""

from __future__ import annotations

from typing import ClassVar

from lstarb_lst.cycle_strategy import CycleStrategy


class TwoHopStrategy(CycleStrategy):
    name: ClassVar[str] = "two-hop"
    length: ClassVar[int] = 2
