"""The market the driver moves: pools priced with the installed DEX adapters, and the
one-time alignment that makes bundled accounts captured years apart agree.

Prices are in raw units (smallest unit of B per smallest unit of A), so they multiply
along a path without decimals. A mint's *value* is what one smallest unit of it is worth
in lamports. Values come from concentrated-liquidity pools (CLMM, Whirlpool, DLMM: any
adapter pool that is not constant-product), the deepest pool of a pair first; a second
concentrated pool of a pair that disagrees by more than the band cannot be moved (its
liquidity sits in ticks or bins at its own price), so its set is left out and named.
Constant-product pools are then rescaled to the values (their invariant kept), and each
stake pool's rate is set a small premium above its LST's DEX value.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet.cp_pools import CpPool, cp_pool, token_amount, with_token_amount
from lstarb_runtime.simnet.stake_pools import INF_MINT, StakePool, stake_pool
from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT, token_account_amount

log = logging.getLogger("lstarb.simnet")

ALIGN_BAND = 0.01  # concentrated pools of one pair must agree within this, or one is left out


@dataclass
class Alignment:
    """What the alignment did: prices before and after, and what it left out and why."""

    values: dict[str, float] = field(default_factory=dict)
    rescaled: dict[str, tuple[float, float]] = field(default_factory=dict)
    """CP pool -> (mid price before, after), raw units."""
    rates: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Stake pool -> (SOL per LST before, after)."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Pool -> reason; its accounts are no longer served."""


class Market:
    """The adapters' pool book over the store, plus the driver's knowledge of CP pools
    and stake pools."""

    def __init__(self, store: AccountStore, adapters: Sequence[type[PoolAdapter]]) -> None:
        self.store = store
        self.book = PoolBook(adapters, keep_unwanted=True)  # every account it serves
        for entry in store.entries():
            self.book.apply(entry.pubkey, entry.account())
        self.stake: dict[str, StakePool] = {}
        for entry in sorted(store.entries(), key=lambda e: e.key):
            found = stake_pool(entry.key, entry.owner, entry.data)
            if found is not None:
                self.stake[entry.key] = found
        self.cp: dict[str, CpPool] = {}
        self.concentrated: dict[str, PoolAdapter] = {}
        for address, pool in sorted(self.book.pools.items(), key=lambda kv: str(kv[0])):
            held = store.get(str(address))
            if held is None or held.key in self.stake:
                continue  # a stake pool (the lst plugin adapts them too) is priced by its rate
            cp = cp_pool(str(address), held.owner, held.data)
            if cp is not None:
                self.cp[cp.address] = cp
            else:
                self.concentrated[str(address)] = pool
        self.pair_reference: dict[str, float] = {}
        """CP pool -> the mid price (raw B per raw A) the driver keeps it around."""

    # ------------------------------------------------------------ prices
    def refresh(self, keys: Sequence[str]) -> None:
        """Tell the adapters that these accounts changed in the store."""
        for key in keys:
            entry = self.store.get(key)
            if entry is not None:
                self.book.apply(Pubkey.from_string(key), entry.account())

    def reserves(self, pool: CpPool) -> tuple[int, int]:
        a, b = self.store.get(pool.vault_a), self.store.get(pool.vault_b)
        if a is None or b is None:
            raise LstarbError(f"pool {pool.address}: vault account not served")
        return pool.reserves(token_account_amount(a.data), token_account_amount(b.data))

    def mid_price(self, address: str) -> float | None:
        """Mid price of a pool in raw units (B per A), fees taken out; None if it cannot quote."""
        cp = self.cp.get(address)
        if cp is not None:
            x, y = self.reserves(cp)
            return y / x if x > 0 and y > 0 else None
        pool = self.book.pools.get(Pubkey.from_string(address))
        if pool is None:
            return None
        mint_a, mint_b = pool.mints
        amount = max(1, self.book.whole_token(mint_a) // 1000)
        try:
            for _ in range(12):
                out_b = self.book.quote(pool.address, amount, mint_a).out_amount
                if out_b >= 1_000_000:
                    break
                amount *= 10
            back_a = self.book.quote(pool.address, out_b, mint_b).out_amount
        except LstarbError:
            return None
        if out_b <= 0 or back_a <= 0:
            return None
        return out_b / math.sqrt(amount * back_a)

    def impact(self, address: str, size: int) -> float:
        """Price impact of selling ``size`` of mint A (1.0 when the pool cannot fill it)."""
        pool = self.book.pools[Pubkey.from_string(address)]
        mint_a = pool.mints[0]
        small = max(1, size // 10_000)
        try:
            out_small = self.book.quote(pool.address, small, mint_a).out_amount
            out_big = self.book.quote(pool.address, size, mint_a).out_amount
        except LstarbError:
            return 1.0
        if out_small <= 0:
            return 1.0
        return max(0.0, 1.0 - (out_big / size) / (out_small / small))

    def mints_of(self, address: str) -> tuple[str, str]:
        cp = self.cp.get(address)
        if cp is not None:
            return cp.mint_a, cp.mint_b
        a, b = self.book.pools[Pubkey.from_string(address)].mints
        return str(a), str(b)

    # ------------------------------------------------------------ alignment
    def align(
        self, rng: random.Random, slot: int, epoch: int, premium_bps: tuple[int, int]
    ) -> Alignment:
        report = Alignment()
        values = report.values
        values[str(WSOL_MINT)] = 1.0
        mids = {a: self.mid_price(a) for a in [*self.concentrated, *self.cp]}
        for address, mid in mids.items():
            if mid is None:
                report.left_out[address] = "its adapter cannot quote it from the served accounts"
        concentrated = self._deepest_first([a for a in self.concentrated if mids[a] is not None])
        self._value_pools(concentrated, mids, values, report, movable=False)
        cps = [a for a in self.cp if mids[a] is not None]
        self._value_pools(cps, mids, values, report, movable=True)
        for address in report.left_out:
            self._leave_out(address, slot)
        for address in cps:
            if address in report.left_out:
                continue
            a, b = self.mints_of(address)
            target = values[a] / values[b]
            self.pair_reference[address] = target
            before = mids[address] or 0.0
            if abs(before / target - 1) > 1e-9:
                self._rescale(self.cp[address], target, slot)
            report.rescaled[address] = (before, self.mid_price(address) or 0.0)
        for pool in self.stake.values():
            self._align_stake_pool(pool, values, rng, slot, epoch, premium_bps, report)
        for address, reason in report.left_out.items():
            log.warning("simnet: pool %s left out: %s", address, reason)
        return report

    def _deepest_first(self, addresses: list[str]) -> list[str]:
        """Order concentrated pools so the deepest of each pair comes first.

        Depth is compared at the smallest trade size (powers of ten of one whole token)
        at which some pool of the pair moves by more than half a percent."""
        by_pair: dict[frozenset[str], list[str]] = {}
        for address in addresses:
            by_pair.setdefault(frozenset(self.mints_of(address)), []).append(address)
        ordered: list[str] = []
        for pools in by_pair.values():
            if len(pools) > 1:
                mint_a = self.book.pools[Pubkey.from_string(pools[0])].mints[0]
                whole = self.book.whole_token(mint_a)
                impacts: dict[str, float] = {}
                for power in range(0, 9):
                    impacts = {p: self._impact_in(p, whole * 10**power, mint_a) for p in pools}
                    if max(impacts.values()) > 0.005:
                        break
                pools.sort(key=lambda p: (impacts[p], p))
            ordered.extend(pools)
        return ordered

    def _impact_in(self, address: str, size: int, mint: Pubkey) -> float:
        pool = self.book.pools[Pubkey.from_string(address)]
        if pool.mints[0] == mint:
            return self.impact(address, size)
        small = max(1, size // 10_000)
        try:
            out_small = self.book.quote(pool.address, small, mint).out_amount
            out_big = self.book.quote(pool.address, size, mint).out_amount
        except LstarbError:
            return 1.0
        return 1.0 if out_small <= 0 else max(0.0, 1.0 - (out_big / size) / (out_small / small))

    def _value_pools(
        self,
        addresses: list[str],
        mids: dict[str, float | None],
        values: dict[str, float],
        report: Alignment,
        *,
        movable: bool,
    ) -> None:
        pending = list(addresses)
        while pending:
            progress = False
            for address in list(pending):
                a, b = self.mints_of(address)
                mid = mids[address]
                assert mid is not None
                if a in values and b in values:
                    pending.remove(address)
                    progress = True
                    implied = values[a] / values[b]
                    if not movable and abs(mid / implied - 1) > ALIGN_BAND:
                        report.left_out[address] = (
                            f"its price {mid:.6g} is {100 * (mid / implied - 1):+.1f}% off the "
                            f"pair's deeper pool ({implied:.6g}); concentrated liquidity cannot "
                            "be moved"
                        )
                elif a in values:
                    values[b] = values[a] / mid
                elif b in values:
                    values[a] = values[b] * mid
                else:
                    continue
                if address in pending:
                    pending.remove(address)
                progress = True
            if not progress:  # a component not connected to SOL: anchor it at its first pool
                a, _ = self.mints_of(pending[0])
                values[a] = 1.0

    def _rescale(self, pool: CpPool, target: float, slot: int) -> None:
        """Move the pool's mid price to ``target`` keeping x*y: what arbitrage would do."""
        x, y = self.reserves(pool)
        k = x * y
        new_x = round(math.sqrt(k / target))
        new_y = round(math.sqrt(k * target))
        for vault, delta in ((pool.vault_a, new_x - x), (pool.vault_b, new_y - y)):
            entry = self.store.get(vault)
            assert entry is not None
            amount = token_amount(entry.data) + delta
            self.store.put(entry.with_data(with_token_amount(entry.data, amount)), slot)
        self.refresh([pool.vault_a, pool.vault_b])

    def _align_stake_pool(
        self,
        pool: StakePool,
        values: dict[str, float],
        rng: random.Random,
        slot: int,
        epoch: int,
        premium_bps: tuple[int, int],
        report: Alignment,
    ) -> None:
        entry = self.store.get(pool.address)
        assert entry is not None
        supply = self.inf_supply()
        lamports, tokens = pool.rate(entry.data, supply)
        before = lamports / tokens if tokens else 0.0
        data = pool.with_epoch(entry.data, epoch)
        value = values.get(pool.mint)
        if value is not None and tokens:
            premium = rng.uniform(*premium_bps) / 10_000
            data = pool.with_rate(data, value * (1 + premium), supply)
        self.store.put(entry.with_data(data), slot)
        lamports, tokens = pool.rate(data, supply)
        report.rates[pool.address] = (before, lamports / tokens if tokens else 0.0)

    def inf_supply(self) -> int:
        mint = self.store.get(INF_MINT)
        return int.from_bytes(mint.data[36:44], "little") if mint else 0

    def _leave_out(self, address: str, slot: int) -> None:
        """Stop serving a pool and the accounts no other pool reads."""
        pool = self.book.pools.pop(Pubkey.from_string(address), None)
        self.cp.pop(address, None)
        self.concentrated.pop(address, None)
        if pool is None:
            return
        keep: set[str] = {str(SYSVAR_CLOCK_ID)}
        for other in self.book.pools.values():
            keep.update(str(k) for k in other.accounts_to_update())
            keep.update(str(m) for m in other.mints)
        for key in {address, *(str(k) for k in pool.accounts_to_update())} - keep:
            self.store.remove(key, slot)
