"""The market the driver moves: pools priced with the installed DEX adapters, and the
values that make bundled accounts captured years apart agree.

Prices are in raw units (smallest unit of B per smallest unit of A), so they multiply
along a path without decimals. A mint's *value* is what one smallest unit of it is worth
in lamports. Values come from concentrated-liquidity pools (CLMM, Whirlpool, DLMM: any
adapter pool that is not constant-product), pools with a SOL side first and the deepest
pool of a pair first; constant-product pools then value what is left.

Three kinds of pool move: constant-product pools (their vault balances), and the
Whirlpools and Raydium CLMM pools the peer can execute swaps on exactly (``clmm_pools``).
The rest (DLMM pairs, adaptive or dynamic-fee pools) stand still; ``still`` says why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet.clmm_math import price_of
from lstarb_runtime.simnet.clmm_pools import ClmmPool, clmm_pool
from lstarb_runtime.simnet.cp_pools import CpPool, cp_pool, token_amount, with_token_balance
from lstarb_runtime.simnet.stake_pools import INF_MINT, StakePool, stake_pool
from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT, token_account_amount

log = logging.getLogger("lstarb.simnet")

ALIGN_BAND = 0.01  # concentrated pools of one pair must agree within this, or one is moved


@dataclass
class Alignment:
    """What the alignment did: prices before and after, and what it left out and why."""

    values: dict[str, float] = field(default_factory=dict)
    rescaled: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Moved pool -> (mid price before, after), raw units."""
    rates: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Stake pool -> (SOL per LST before, after)."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Pool -> reason; its accounts are no longer served."""
    still: dict[str, str] = field(default_factory=dict)
    """Concentrated pool that does not trade -> why."""


class Market:
    """The adapters' pool book over the store, plus the driver's knowledge of the pools
    it moves and of the stake pools."""

    def __init__(self, store: AccountStore, adapters: Sequence[type[PoolAdapter]]) -> None:
        self.store = store
        self.book = PoolBook(adapters, keep_unwanted=True, states=False)  # serves, never publishes
        for entry in store.entries():
            self.book.apply(entry.pubkey, entry.account())
        self.stake: dict[str, StakePool] = {}
        for entry in sorted(store.entries(), key=lambda e: e.key):
            found = stake_pool(entry.key, entry.owner, entry.data)
            if found is not None:
                self.stake[entry.key] = found
        self.cp: dict[str, CpPool] = {}
        self.concentrated: dict[str, PoolAdapter] = {}
        self.clmm: dict[str, ClmmPool] = {}
        self.still: dict[str, str] = {}
        for address, pool in sorted(self.book.pools.items(), key=lambda kv: str(kv[0])):
            held = store.get(str(address))
            if held is None or held.key in self.stake:
                continue  # a stake pool (the lst plugin adapts them too) is priced by its rate
            cp = cp_pool(str(address), held.owner, held.data)
            if cp is not None:
                self.cp[cp.address] = cp
                continue
            self.concentrated[str(address)] = pool
            movable = clmm_pool(held.key, held.owner, held.data, store)
            if isinstance(movable, ClmmPool):
                self.clmm[held.key] = movable
            else:
                self.still[held.key] = (
                    movable or f"a {pool.dex} pool (the peer executes no swaps on it)"
                )

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
        """Mid price of a pool in raw units (B per A), fees taken out; None if it cannot quote.

        Exact for the pools the driver moves (reserves, the pool's sqrt price); for the
        others, the geometric mean of a small round trip's two legs."""
        cp = self.cp.get(address)
        if cp is not None:
            x, y = self.reserves(cp)
            return y / x if x > 0 and y > 0 else None
        clmm = self.clmm.get(address)
        if clmm is not None:
            return price_of(clmm.sqrt_price(self.store.get(address).data))  # type: ignore[union-attr]
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

    def mints_of(self, address: str) -> tuple[str, str]:
        cp = self.cp.get(address)
        if cp is not None:
            return cp.mint_a, cp.mint_b
        a, b = self.book.pools[Pubkey.from_string(address)].mints
        return str(a), str(b)

    def inf_supply(self) -> int:
        mint = self.store.get(INF_MINT)
        return int.from_bytes(mint.data[36:44], "little") if mint else 0

    # ------------------------------------------------------------ values
    def value(self, report: Alignment) -> dict[str, float]:
        """Every mint's value from the pools' mid prices (``report.values``).

        A concentrated pool that cannot move and disagrees with its pair's first pool by
        more than the band is left out; one that can move is named in ``report.rescaled``
        for the driver to trade it into line."""
        values = report.values
        values[str(WSOL_MINT)] = 1.0
        report.still.update(self.still)
        mids = {a: self.mid_price(a) for a in [*self.concentrated, *self.cp]}
        for address, mid in mids.items():
            if mid is None:
                report.left_out[address] = "its adapter cannot quote it from the served accounts"
        concentrated = self._valuation_order([a for a in self.concentrated if mids[a] is not None])
        self._value_pools(concentrated, mids, values, report)
        self._value_pools([a for a in self.cp if mids[a] is not None], mids, values, report)
        return values

    def _valuation_order(self, addresses: list[str]) -> list[str]:
        """Pools with a SOL side first (the shortest path to SOL), the deepest of each pair
        first. Depth is compared at the smallest trade size (powers of ten of one whole
        token) at which some pool of the pair moves by more than half a percent."""
        by_pair: dict[frozenset[str], list[str]] = {}
        for address in addresses:
            by_pair.setdefault(frozenset(self.mints_of(address)), []).append(address)
        ordered: list[str] = []
        sol = str(WSOL_MINT)
        for pair in sorted(by_pair, key=lambda p: (sol not in p, sorted(p))):
            pools = by_pair[pair]
            if len(pools) > 1:
                mint_a = self.book.pools[Pubkey.from_string(pools[0])].mints[0]
                whole = self.book.whole_token(mint_a)
                impacts: dict[str, float] = {}
                for power in range(0, 9):
                    impacts = {p: self.impact(p, whole * 10**power, mint_a) for p in pools}
                    if max(impacts.values()) > 0.005:
                        break
                pools.sort(key=lambda p: (p in self.clmm, impacts[p], p))
            ordered.extend(pools)
        return ordered

    def impact(self, address: str, size: int, mint: Pubkey) -> float:
        """Price impact of selling ``size`` of ``mint`` (1.0 when the pool cannot fill it)."""
        pool = self.book.pools[Pubkey.from_string(address)]
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
                    if abs(mid / implied - 1) <= ALIGN_BAND or address in self.cp:
                        continue
                    if address in self.clmm:
                        report.rescaled[address] = (mid, mid)  # the driver trades it into line
                    else:
                        report.left_out[address] = (
                            f"its price {mid:.6g} is {100 * (mid / implied - 1):+.1f}% off the "
                            f"pair's first pool ({implied:.6g}); its liquidity cannot be moved "
                            f"({self.still.get(address, '')})"
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

    # ------------------------------------------------------------ moving constant product
    def rescale(self, pool: CpPool, target: float, slot: int) -> None:
        """Move the pool's mid price to ``target`` keeping x*y: what arbitrage would do."""
        x, y = self.reserves(pool)
        k = x * y
        new_x = round(math.sqrt(k / target))
        new_y = round(math.sqrt(k * target))
        for vault, delta in ((pool.vault_a, new_x - x), (pool.vault_b, new_y - y)):
            entry = self.store.get(vault)
            assert entry is not None
            self.store.put(with_token_balance(entry, token_amount(entry.data) + delta), slot)
        self.refresh([pool.vault_a, pool.vault_b])

    def leave_out(self, address: str, slot: int) -> None:
        """Stop serving a pool and the accounts no other pool reads."""
        pool = self.book.pools.pop(Pubkey.from_string(address), None)
        self.cp.pop(address, None)
        self.concentrated.pop(address, None)
        self.clmm.pop(address, None)
        if pool is None:
            return
        keep: set[str] = {str(SYSVAR_CLOCK_ID)}
        for other in self.book.pools.values():
            keep.update(str(k) for k in other.accounts_to_update())
            keep.update(str(m) for m in other.mints)
        for key in {address, *(str(k) for k in pool.accounts_to_update())} - keep:
            self.store.remove(key, slot)
