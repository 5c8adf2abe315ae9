"""Triangular arbitrage: base -> X -> Y -> base over three pools (SOL -> JitoSOL -> mSOL -> SOL).

Stake-pool legs are ordinary legs: SOL -> JitoSOL by DepositSol, mSOL -> SOL by
Marinade's liquid unstake, and any AMM pool between the LSTs.
"""

from __future__ import annotations

from typing import ClassVar

from lstarb_lst.cycle_strategy import CycleStrategy


class TriangularStrategy(CycleStrategy):
    name: ClassVar[str] = "triangular"
    length: ClassVar[int] = 3
