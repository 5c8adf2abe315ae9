"""The driver's trades: a pool moved to a target price as a swap would move it.

A constant-product pool trades the input that takes its reserves to the target (the
constant product solved in floats), priced by the pool's adapter, so the output is what
the program pays and the vaults change as the swap changes them. A concentrated pool
trades to the target exactly (``clmm_swap``): the peer computes the swap the program
would run, and executes it only if the pool's adapter quotes that input to the same
output and fee, to the unit; a disagreement is counted and logged and the trade dropped.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.chain import Chain
from lstarb_runtime.simnet.clmm_math import sqrt_price_of
from lstarb_runtime.simnet.clmm_pools import ClmmPool, Unmovable
from lstarb_runtime.simnet.clmm_swap import Swap, SwapRefused, swap_to_price
from lstarb_runtime.simnet.cp_pools import CpPool, token_amount, with_token_balance
from lstarb_runtime.simnet.market import Market
from lstarb_runtime.simnet.store import AccountStore
from lstarb_sdk.errors import LstarbError

log = logging.getLogger("lstarb.simnet")


class Trader:
    """Moves pools of the market; counts what it did and what it refused."""

    def __init__(self, store: AccountStore, market: Market, chain: Chain) -> None:
        self.store = store
        self.market = market
        self.chain = chain
        self.trades = 0
        self.refused: Counter[str] = Counter()
        """Reason -> trades not made (the program would fail, or it would leave the
        served tick arrays)."""
        self.mismatches: list[str] = []
        """Trades the pool's adapter quoted differently from the peer's swap (none, if
        the two implementations agree)."""
        self.on_trade: Callable[[Pubkey, Pubkey, int, int], None] | None = None
        """Told of each trade before it is made: pool, input mint, amount in, amount out
        (the peer's ShredStream turns it into the swap's transaction)."""

    # ------------------------------------------------------------ constant product
    def move_cp(self, pool: CpPool, target: float) -> bool:
        x, y = self.market.reserves(pool)
        k = x * y
        if target < y / x:  # sell A into the pool: the price of A falls
            amount, mint = round(math.sqrt(k / target)) - x, pool.mint_a
        else:
            amount, mint = round(math.sqrt(k * target)) - y, pool.mint_b
        if amount <= 0:
            return False
        try:
            quote = self.market.book.quote(
                Pubkey.from_string(pool.address), amount, Pubkey.from_string(mint)
            )
        except LstarbError as exc:
            self.refused[f"{pool.program} quote: {type(exc).__name__}"] += 1
            log.debug("simnet: no trade on %s: %s", pool.address, exc)
            return False
        if quote.out_amount <= 0:
            return False
        into, out_of = (
            (pool.vault_a, pool.vault_b) if mint == pool.mint_a else (pool.vault_b, pool.vault_a)
        )
        self._tell(pool.address, mint, quote.in_amount, quote.out_amount)
        try:
            self._write({into: quote.in_amount, out_of: -quote.out_amount}, {})
        except SwapRefused as exc:
            self.refused[f"{pool.program}: {exc}"] += 1
            return False
        return True

    # ------------------------------------------------------------ concentrated
    def move_clmm(self, pool: ClmmPool, target: float) -> Swap | None:
        """One swap toward ``target``, as far as the tick arrays the program would be given
        (and the peer serves) reach; the swap executed, None if none was."""
        data = self.store.get(pool.address).data  # type: ignore[union-attr]
        current = pool.sqrt_price(data)
        wanted = sqrt_price_of(target)
        a_to_b = wanted < current
        math_ = pool.math
        low, high = pool.reachable(self.store, data, a_to_b)
        tick = min(max(math_.tick_at(wanted), low), high)
        if (
            not low <= math_.tick_at(wanted) <= high
        ):  # as far as it goes: the middle of the edge tick
            wanted = (math_.sqrt_price_at_tick(tick) + math_.sqrt_price_at_tick(tick + 1)) // 2
        if wanted == math_.sqrt_price_at_tick(tick):
            wanted += 1  # never end on a tick's price (the program would cross it)
        if (wanted >= current) if a_to_b else (wanted <= current):
            return None
        edge_tick, last = (low, low - 1) if a_to_b else (high + 1, high)
        try:
            swap = swap_to_price(
                math_,
                sqrt_price=current,
                liquidity=pool.liquidity(data),
                fee_rate=pool.fee_rate(self.store, data),
                fee_growth_in=pool.fee_growth(data, a_to_b),
                split=pool.fee_split(self.store, data),
                ticks=pool.ticks_between(self.store, pool.tick(data), last, a_to_b),
                edge=math_.sqrt_price_at_tick(edge_tick),
                target=wanted,
            )
            if swap.amount_in == 0 or swap.amount_out == 0:
                return None
            if not self._agrees(pool, swap):
                return None
            self._tell(
                pool.address,
                pool.mint_a if a_to_b else pool.mint_b,
                swap.amount_in,
                swap.amount_out,
            )
            writes = pool.execute(self.store, swap, self.chain.clock())
            into, out_of = (pool.vault_a, pool.vault_b) if a_to_b else (pool.vault_b, pool.vault_a)
            self._write({into: swap.amount_in, out_of: -swap.amount_out}, writes)
        except (SwapRefused, Unmovable) as exc:
            self.refused[f"{pool.program}: {exc}"] += 1
            return None
        return swap

    def _agrees(self, pool: ClmmPool, swap: Swap) -> bool:
        mint = pool.mint_a if swap.a_to_b else pool.mint_b
        try:
            quote = self.market.book.quote(
                Pubkey.from_string(pool.address), swap.amount_in, Pubkey.from_string(mint)
            )
        except LstarbError as exc:  # e.g. the next tick array is not served
            self.refused[f"{pool.program} quote: {type(exc).__name__}"] += 1
            log.debug("simnet: no swap on %s: %s", pool.address, exc)
            return False
        ours = (swap.amount_in, swap.amount_out, swap.fee)
        theirs = (quote.in_amount, quote.out_amount, quote.fee_amount)
        if ours != theirs:
            problem = f"{pool.address} {swap.amount_in} in: peer {ours}, adapter {theirs}"
            if not self.mismatches:
                log.warning("simnet: swap and adapter quote disagree: %s", problem)
            self.mismatches.append(problem)
            return False
        return True

    def _tell(self, pool: str, input_mint: str, amount_in: int, amount_out: int) -> None:
        if self.on_trade is not None:
            self.on_trade(
                Pubkey.from_string(pool), Pubkey.from_string(input_mint), amount_in, amount_out
            )

    # ------------------------------------------------------------ writing
    def _write(self, vault_deltas: dict[str, int], others: dict[str, bytes]) -> None:
        """Vault balances moved by the deltas and other accounts replaced, or nothing
        (SwapRefused) if a vault is not served or would go below zero."""
        slot = self.chain.slot
        vaults = {}
        for key, delta in vault_deltas.items():
            entry = self.store.get(key)
            if entry is None:
                raise SwapRefused(f"vault {key} is not served")
            amount = token_amount(entry.data) + delta
            if amount < 0:
                raise SwapRefused(f"vault {key} holds less than the swap pays out")
            vaults[key] = with_token_balance(entry, amount)
        for key, data in others.items():
            entry = self.store.get(key)
            assert entry is not None
            self.store.put(entry.with_data(data), slot)
        for moved in vaults.values():
            self.store.put(moved, slot)
        self.market.refresh([*others, *vault_deltas])
        self.trades += 1
