"""The fair market the driver trades pools around, and how it drifts.

Every mint has a value in lamports per smallest unit (SOL is 1). The driver's trades
move each pool to its pair's reference (the ratio of the two values) give or take a
gap, so pools of a pair disagree by realistic amounts and never wander off. The values
themselves move the way the assets do:

- an LST with a stake pool is worth something between what leaving through the pool
  pays, ``rate * (1 - exit_cost)``, and what entering through it costs,
  ``rate * (1 + entry_cost)`` (the pool's own fees, WithdrawSol's or Marinade's liquid
  unstake, DepositSol's or Marinade's deposit, measured with its adapter): outside that
  band arbitrage through the pool pays, so real LST prices stay inside it. Where inside
  (``position``, 0 at the exit price, 1 at the entry price) wanders within
  ``lst_band``; DEX trades that push a pool across an edge open the opportunities
  arbitrageurs take. The rate grows with every epoch's rewards and the value with it, so
  the stake rate stays the same few basis points from the DEX price;
- any other mint takes a random walk (``walk_bps`` per slot) that reflects at
  ``drift_bps`` around its aligned value: markets move, but pools that cannot be moved
  (DLMM pairs) stay within reach of the others.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lstarb_runtime.simnet.stake_pools import StakePool
from lstarb_sdk.solana import WSOL_MINT

SOL = str(WSOL_MINT)


@dataclass(slots=True)
class LstAnchor:
    """An LST whose value follows its stake pool's rate, inside its no-arbitrage band."""

    pool: StakePool
    exit_cost: float
    entry_cost: float
    position: float

    def share(self) -> float:
        """The LST's value as a share of the rate."""
        return 1 - self.exit_cost + self.position * (self.exit_cost + self.entry_cost)


def _reflect(value: float, low: float, high: float) -> float:
    """Fold a walk back inside [low, high]."""
    span = high - low
    if span <= 0:
        return low
    offset = (value - low) % (2 * span)
    return low + (offset if offset <= span else 2 * span - offset)


class Reference:
    """Values per mint: aligned once, then stepped every slot."""

    def __init__(
        self,
        values: dict[str, float],
        *,
        lst_band: tuple[float, float],
        drift_bps: float,
        walk_bps: float,
    ) -> None:
        self.base = dict(values)
        self.offset = {mint: 0.0 for mint in values}
        self.anchors: dict[str, LstAnchor] = {}
        self.rates: dict[str, float] = {}
        self.lst_band = lst_band
        self.drift = drift_bps / 10_000
        self.walk = walk_bps / 10_000

    def anchor(self, mint: str, anchor: LstAnchor, rate: float) -> None:
        self.anchors[mint] = anchor
        self.rates[mint] = rate

    def premium(self, mint: str) -> float:
        """How far the stake rate sits above the LST's value (negative: below)."""
        return 1 / self.anchors[mint].share() - 1

    def value(self, mint: str) -> float:
        if mint == SOL:
            return 1.0
        anchor = self.anchors.get(mint)
        if anchor is not None:
            return self.rates[mint] * anchor.share()
        return self.base[mint] * math.exp(self.offset[mint])

    def pair(self, mint_a: str, mint_b: str) -> float:
        """Reference price of a pair: raw units of B per raw unit of A."""
        return self.value(mint_a) / self.value(mint_b)

    def step(self, rng: random.Random) -> None:
        """One slot of drift: positions and walks move, each folded back into its band."""
        low, high = self.lst_band
        for anchor in self.anchors.values():
            step = rng.gauss(0.0, (high - low) / 20)
            anchor.position = _reflect(anchor.position + step, low, high)
        for mint in sorted(self.offset):
            if mint == SOL or mint in self.anchors:
                continue
            self.offset[mint] = _reflect(
                self.offset[mint] + rng.gauss(0.0, self.walk), -self.drift, self.drift
            )
