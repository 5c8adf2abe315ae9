"""The market driver (``--drive``): what moves between one slot and the next.

Once, before serving, :meth:`Driver.align` makes the bundled accounts agree: every mint
gets a value from the pools (``market``), constant-product pools are rescaled to it,
concentrated pools that are off are traded into line, and each stake pool's rate is set
so that its LST's value sits inside the band its exit and entry fees leave free of
arbitrage (see ``reference``).

Each slot the values drift (``Reference.step``), and every pool the peer can move
(constant product, Whirlpool, Raydium CLMM) trades with a set probability: the driver
draws a gap to the pair's reference (Pareto: ``min_gap_bps`` times a heavy tail of
exponent ``gap_tail``, capped at ``max_gap_bps``, or ``max_lst_gap_bps`` for pairs of SOL
and LSTs; either side) and
trades the pool there (``trading``). Gaps between pools of a pair therefore look like
real markets' and never wander off, and as the values move the pools follow.

At each epoch boundary every stake pool turns stale (an SPL pool's last_update_epoch
lags the Clock) until its crank runs a few slots later, adding the epoch's staking
rewards at ``apy`` (compounded over the epoch's simulated duration) and minting the
manager's fee, as UpdateStakePoolBalance does; the LST's value follows its rate.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so a seed gives
the same market slot by slot.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.chain import Chain
from lstarb_runtime.simnet.clmm_math import Q64
from lstarb_runtime.simnet.cp_pools import with_token_balance
from lstarb_runtime.simnet.market import ALIGN_BAND, Alignment, Market
from lstarb_runtime.simnet.reference import SOL, LstAnchor, Reference
from lstarb_runtime.simnet.stake_pools import StakePool
from lstarb_runtime.simnet.store import AccountStore
from lstarb_runtime.simnet.trading import Trader
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.layout import u64

log = logging.getLogger("lstarb.simnet")

SECONDS_PER_YEAR = 365.25 * 24 * 3600
ALIGN_STEPS = 64  # swaps tried to bring a concentrated pool into line
CLOSED_COST = 0.003  # the band's edge where a stake pool refuses the way in or out


@dataclass(frozen=True)
class DriverConfig:
    seed: int = 0
    trade_probability: float = 0.5
    trade_sol: float = 2.0
    """Scale of the trades (Pareto), in SOL: the smallest one drawn."""
    trade_tail: float = 1.5
    """Tail exponent of the trade sizes: the larger it is, the rarer big trades are."""
    lst_trade_sol: float = 12.0
    """Scale of the trades in pools of SOL and LSTs (staking flows are larger)."""
    max_gap_bps: float = 100.0
    max_lst_gap_bps: float = 15.0
    """Widest gap of a pair of SOL and LSTs (they trade far closer than volatile pairs)."""
    lst_band: tuple[float, float] = (0.0, 0.5)
    """Where in its no-arbitrage band (0: what leaving through its stake pool pays, 1: what
    entering costs) an LST's value wanders."""
    drift_bps: float = 5.0
    """How far a mint other than SOL and the LSTs may drift from its aligned value (small:
    pools that cannot move stay at their aligned price)."""
    walk_bps: float = 0.2
    """Standard deviation of that drift per slot."""
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
        self.trader = Trader(store, market, chain)
        self.alignment: Alignment | None = None
        self.reference = Reference(
            {}, lst_band=config.lst_band, drift_bps=config.drift_bps, walk_bps=config.walk_bps
        )
        self._cranks: dict[str, int] = {}
        self._lst = {pool.mint for pool in market.stake.values()} | {SOL}

    @property
    def trades(self) -> int:
        return self.trader.trades

    # ------------------------------------------------------------ alignment
    def align(self) -> Alignment:
        """Make the bundled prices agree (once, before serving)."""
        market, slot = self.market, self.chain.slot
        report = Alignment()
        values = market.value(report)
        for address in report.left_out:
            market.leave_out(address, slot)
        config = self.config
        self.reference = Reference(
            values, lst_band=config.lst_band, drift_bps=config.drift_bps, walk_bps=config.walk_bps
        )
        for pool in market.stake.values():
            self._align_stake_pool(pool, values, report)
        for address, cp in market.cp.items():
            if address in report.left_out:
                continue
            before = market.mid_price(address) or 0.0
            target = self.reference.pair(cp.mint_a, cp.mint_b)
            if abs(before / target - 1) > 1e-9:
                market.rescale(cp, target, slot)
            report.rescaled[address] = (before, market.mid_price(address) or 0.0)
        for address in [a for a in report.rescaled if a in market.clmm]:
            self._bring_into_line(address, report)
        for address, reason in report.left_out.items():
            log.warning("simnet: pool %s left out: %s", address, reason)
        self.alignment = report
        return report

    def _bring_into_line(self, address: str, report: Alignment) -> None:
        """Trade a concentrated pool to its pair's value, as arbitrage would have; left out
        if the served tick arrays do not reach that far."""
        pool, market = self.market.clmm[address], self.market
        before = market.mid_price(address) or 0.0
        target = self.reference.pair(pool.mint_a, pool.mint_b)
        for _ in range(ALIGN_STEPS):
            if not self.trader.move_clmm(pool, target):
                break
        after = market.mid_price(address) or 0.0
        report.rescaled[address] = (before, after)
        if abs(after / target - 1) > ALIGN_BAND:
            report.left_out[address] = (
                f"its price {before:.6g} is {100 * (before / target - 1):+.1f}% off the pair's "
                f"first pool ({target:.6g}) and its liquidity cannot be moved there inside its "
                "served tick arrays"
            )
            del report.rescaled[address]
            market.leave_out(address, self.chain.slot)

    def _align_stake_pool(
        self, pool: StakePool, values: dict[str, float], report: Alignment
    ) -> None:
        entry = self.store.get(pool.address)
        assert entry is not None
        supply = self.market.inf_supply()
        lamports, tokens = pool.rate(entry.data, supply)
        before = lamports / tokens if tokens else 0.0
        self._put(pool.address, pool.with_epoch(entry.data, self.chain.epoch))
        value = values.get(pool.mint)
        if value is not None and tokens:
            exit_cost, entry_cost = self._costs(pool, before)
            anchor = LstAnchor(pool, exit_cost, entry_cost, self.rng.uniform(*self.config.lst_band))
            data = pool.with_rate(self.store.get(pool.address).data, value / anchor.share(), supply)  # type: ignore[union-attr]
            self._put(pool.address, data)
            lamports, tokens = pool.rate(data, supply)
            self.reference.anchor(pool.mint, anchor, lamports / tokens)
        report.rates[pool.address] = (before, lamports / tokens if tokens else 0.0)

    def _costs(self, pool: StakePool, rate: float) -> tuple[float, float]:
        """What leaving and entering through the pool cost now, as shares of the rate
        (WithdrawSol's or liquid unstake's fee, DepositSol's or deposit's), as its adapter
        quotes one token's worth; a way the pool refuses costs ``CLOSED_COST``."""
        whole, address = 10**9, Pubkey.from_string(pool.address)
        costs = []
        for mint, worth in ((pool.mint, whole * rate), (SOL, whole / rate)):
            try:
                out = self.market.book.quote(address, whole, Pubkey.from_string(mint)).out_amount
            except LstarbError:
                costs.append(CLOSED_COST)
                continue
            costs.append(max(0.0, 1 - out / worth))
        return costs[0], costs[1]

    def _put(self, address: str, data: bytes) -> None:
        entry = self.store.get(address)
        assert entry is not None
        self.store.put(entry.with_data(data), self.chain.slot)
        self.market.refresh([address])

    # ------------------------------------------------------------ every slot
    @property
    def epoch_reward_rate(self) -> float:
        """Staking reward of one epoch: the APY compounded over the epoch's duration."""
        seconds = self.chain.epoch_slots * (self.chain.slot_ms or 400) / 1000
        return float((1 + self.config.apy) ** (seconds / SECONDS_PER_YEAR) - 1)

    def on_slot(self) -> None:
        slot = self.chain.slot
        self.reference.step(self.rng)
        if self.chain.slot_index == 0:
            low, high = self.config.crank_delay_slots
            for address in self.market.stake:
                self._cranks[address] = slot + self.rng.randint(low, high)
        for address, due in sorted(self._cranks.items()):
            if due <= slot:
                del self._cranks[address]
                self._crank(address)
        config = self.config
        for address in sorted([*self.market.cp, *self.market.clmm]):
            if self.rng.random() >= config.trade_probability:
                continue
            tail = (1.0 - self.rng.random()) ** (-1 / config.trade_tail)
            side = 1 if self.rng.random() < 0.5 else -1
            mint_a, mint_b = self.market.mints_of(address)
            if {mint_a, mint_b} <= self._lst:
                size, widest = config.lst_trade_sol * tail, config.max_lst_gap_bps
            else:
                size, widest = config.trade_sol * tail, config.max_gap_bps
            depth = self._depth(address)
            gap = min(widest, size / depth if depth > 0 else widest) / 10_000
            target = self.reference.pair(mint_a, mint_b) * (1 + side * gap)
            cp = self.market.cp.get(address)
            if cp is not None:
                self.trader.move_cp(cp, target)
            else:
                self.trader.move_clmm(self.market.clmm[address], target)

    def _depth(self, address: str) -> float:
        """SOL it takes to move the pool's price by one basis point (small moves):
        half a basis point of a constant-product reserve, or of L * sqrt(P) in token B."""
        cp = self.market.cp.get(address)
        if cp is not None:
            reserve_a, _ = self.market.reserves(cp)
            return reserve_a * self.reference.value(cp.mint_a) * 0.5e-4 / 1e9
        pool = self.market.clmm[address]
        data = self.store.get(address).data  # type: ignore[union-attr]
        token_b = pool.liquidity(data) * pool.sqrt_price(data) / Q64
        return token_b * self.reference.value(pool.mint_b) * 0.5e-4 / 1e9

    def _crank(self, address: str) -> None:
        pool = self.market.stake[address]
        entry = self.store.get(address)
        if entry is None:
            return
        data = pool.crank(entry.data, self.chain.epoch, self.epoch_reward_rate)
        self._put(address, data)
        if pool.family == "spl":
            self._credit_manager(entry.data, data)
        if pool.mint in self.reference.anchors:
            lamports, tokens = pool.rate(data, self.market.inf_supply())
            self.reference.rates[pool.mint] = lamports / tokens

    def _credit_manager(self, before: bytes, after: bytes) -> None:
        """The epoch fee UpdateStakePoolBalance mints goes to the manager fee account."""
        minted = u64(after, 266) - u64(before, 266)
        fee_account = self.store.get(str(Pubkey.from_bytes(after[194:226])))
        if minted <= 0 or fee_account is None or fee_account.data[:32] != after[162:194]:
            return
        amount = u64(fee_account.data, 64) + minted
        self.store.put(with_token_balance(fee_account, amount), self.chain.slot)
        self.market.refresh([fee_account.key])
