"""The market driver (``--drive``): what moves between one slot and the next.

Each slot, some constant-product pools trade (each with a set probability): the driver
draws a gap to the pair's reference price (log-uniform between ``min_gap_bps`` and
``max_gap_bps``, either side) and sends the pool the trade that moves it there, priced
by the pool's adapter, so the output is what the program pays and the vaults change as
the swap changes them. Gaps between pools of a pair therefore look like real markets'
(a few basis points, now and then near 1%), and never wander off.

At each epoch boundary every stake pool turns stale (an SPL pool's last_update_epoch
lags the Clock) until its crank runs a few slots later, adding the epoch's staking
rewards at ``apy`` (compounded over the epoch's simulated duration) and minting the
manager's fee, as UpdateStakePoolBalance does.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so a seed gives
the same market slot by slot.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.chain import Chain
from lstarb_runtime.simnet.cp_pools import CpPool, token_amount, with_token_amount
from lstarb_runtime.simnet.market import Alignment, Market
from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk.errors import LstarbError

log = logging.getLogger("lstarb.simnet")

SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class DriverConfig:
    seed: int = 0
    trade_probability: float = 0.35
    min_gap_bps: float = 1.0
    max_gap_bps: float = 100.0
    premium_bps: tuple[int, int] = (3, 30)
    apy: float = 0.07
    crank_delay_slots: tuple[int, int] = (1, 8)


class Driver:
    def __init__(
        self, store: AccountStore, chain: Chain, market: Market, config: DriverConfig
    ) -> None:
        self.store = store
        self.chain = chain
        self.market = market
        self.config = config
        self.rng = random.Random(config.seed)
        self.alignment: Alignment | None = None
        self._cranks: dict[str, int] = {}
        self.trades = 0

    def align(self) -> Alignment:
        """Make the bundled prices agree (once, before serving)."""
        self.alignment = self.market.align(
            self.rng, self.chain.slot, self.chain.epoch, self.config.premium_bps
        )
        return self.alignment

    @property
    def epoch_reward_rate(self) -> float:
        """Staking reward of one epoch: the APY compounded over the epoch's duration."""
        seconds = self.chain.epoch_slots * (self.chain.slot_ms or 400) / 1000
        return float((1 + self.config.apy) ** (seconds / SECONDS_PER_YEAR) - 1)

    def on_slot(self) -> None:
        slot = self.chain.slot
        if self.chain.slot_index == 0:
            low, high = self.config.crank_delay_slots
            for address in self.market.stake:
                self._cranks[address] = slot + self.rng.randint(low, high)
        for address, due in sorted(self._cranks.items()):
            if due <= slot:
                del self._cranks[address]
                self._crank(address)
        for address in self.market.cp:
            if self.rng.random() < self.config.trade_probability:
                self._trade(self.market.cp[address])

    def _crank(self, address: str) -> None:
        pool = self.market.stake[address]
        entry = self.store.get(address)
        if entry is None:
            return
        data = pool.crank(entry.data, self.chain.epoch, self.epoch_reward_rate)
        self.store.put(entry.with_data(data), self.chain.slot)

    def _trade(self, pool: CpPool) -> None:
        reference = self.market.pair_reference.get(pool.address)
        low, high = math.log(self.config.min_gap_bps), math.log(self.config.max_gap_bps)
        gap = math.exp(self.rng.uniform(low, high)) / 10_000
        side = 1 if self.rng.random() < 0.5 else -1
        if reference is None:
            return
        target = reference * (1 + side * gap)
        x, y = self.market.reserves(pool)
        price = y / x
        k = x * y
        if target < price:  # sell A into the pool: the price of A falls
            amount, mint = round(math.sqrt(k / target)) - x, pool.mint_a
        else:
            amount, mint = round(math.sqrt(k * target)) - y, pool.mint_b
        if amount <= 0:
            return
        try:
            quote = self.market.book.quote(
                Pubkey.from_string(pool.address), amount, Pubkey.from_string(mint)
            )
        except LstarbError as exc:
            log.debug("simnet: no trade on %s: %s", pool.address, exc)
            return
        if quote.out_amount <= 0:
            return
        into, out_of = (
            (pool.vault_a, pool.vault_b) if mint == pool.mint_a else (pool.vault_b, pool.vault_a)
        )
        slot = self.chain.slot
        for vault, delta in ((into, quote.in_amount), (out_of, -quote.out_amount)):
            entry = self.store.get(vault)
            assert entry is not None
            data = with_token_amount(entry.data, token_amount(entry.data) + delta)
            self.store.put(entry.with_data(data), slot)
        self.market.refresh([into, out_of])
        self.trades += 1
