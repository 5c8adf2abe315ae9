"""Which tick arrays a swap walks, where they live, and how to search them.

A Whirlpool swap may use the tick array holding the current price and the
next two in the swap direction, no more. Their addresses are PDAs of the pool
and the array's start tick written in decimal, so the window can be derived
from the pool account alone and moves with the price.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey

from lstarb_orca.state import WHIRLPOOL_PROGRAM_ID, TickArrayState
from lstarb_orca.tick_math import MAX_TICK_INDEX, MIN_TICK_INDEX, TICK_ARRAY_SIZE
from lstarb_sdk.errors import QuoteError

SWAP_WINDOW = 3
"""Tick arrays one swap instruction can reach (tick_array_0..2)."""


@lru_cache(maxsize=4096)
def tick_array_address(whirlpool: Pubkey, start_tick_index: int) -> Pubkey:
    """PDA of the tick array starting at ``start_tick_index`` (both layouts share it)."""
    seeds = [b"tick_array", bytes(whirlpool), str(start_tick_index).encode()]
    return Pubkey.find_program_address(seeds, WHIRLPOOL_PROGRAM_ID)[0]


@lru_cache(maxsize=1024)
def oracle_address(whirlpool: Pubkey) -> Pubkey:
    """PDA of the pool's adaptive-fee Oracle (passed to every swap, even when unused)."""
    return Pubkey.find_program_address([b"oracle", bytes(whirlpool)], WHIRLPOOL_PROGRAM_ID)[0]


def is_valid_start(start_tick_index: int, tick_spacing: int) -> bool:
    """Whether an array may start at this tick (the program's ``check_is_valid_start_tick``).

    Below the minimum tick only the one array holding it is valid; the program
    computes it with Rust's truncating remainder, reproduced here.
    """
    span = TICK_ARRAY_SIZE * tick_spacing
    if start_tick_index > MAX_TICK_INDEX:
        return False
    if start_tick_index < MIN_TICK_INDEX:
        rust_rem = -(-MIN_TICK_INDEX % span)
        return start_tick_index == MIN_TICK_INDEX - (rust_rem + span)
    return start_tick_index % span == 0


def window_starts(
    tick_current_index: int, tick_spacing: int, a_to_b: bool, size: int = SWAP_WINDOW
) -> list[int]:
    """Start ticks of the arrays a swap in this direction may use, in walking order.

    b->a starts from the array holding ``tick_current_index + tick_spacing``:
    the next initializable tick up may already be in the following array.
    Starts the program deems invalid (beyond the tick range) are left out, so
    near the ends of the range the window holds fewer arrays.
    """
    span = TICK_ARRAY_SIZE * tick_spacing
    shift = 0 if a_to_b else tick_spacing
    base = ((tick_current_index + shift) // span) * span
    step = -span if a_to_b else span
    starts = [base + i * step for i in range(size)]
    return [s for s in starts if is_valid_start(s, tick_spacing)]


@dataclass(slots=True)
class TickSequence:
    """The initialized ticks of a run of consecutive arrays, ready for bisection.

    Mirrors the semantics of Orca's ``TickArraySequence``: past the last
    initialized tick the search returns the edge of the sequence with no
    tick; asking beyond the edge is an error (on chain the swap fails).
    ``stop_reason`` says why the sequence ends where it does, for the message.
    """

    ticks: list[int]
    nets: list[int]
    start_index: int
    end_index: int
    stop_reason: str

    @classmethod
    def build(
        cls, arrays: list[TickArrayState], tick_spacing: int, stop_reason: str
    ) -> TickSequence:
        ordered = sorted(arrays, key=lambda a: a.start_tick_index)
        ticks: list[int] = []
        nets: list[int] = []
        for arr in ordered:
            s = arr.start_tick_index
            ticks.extend(s + o * tick_spacing for o in arr.offsets)
            nets.extend(arr.liquidity_net)
        first = ordered[0].start_tick_index
        last = ordered[-1].start_tick_index
        return cls(
            ticks,
            nets,
            max(first, MIN_TICK_INDEX),
            min(last + TICK_ARRAY_SIZE * tick_spacing - 1, MAX_TICK_INDEX),
            stop_reason,
        )

    def _beyond(self) -> QuoteError:
        return QuoteError(f"Orca Whirlpool: {self.stop_reason}")

    def prev_initialized(self, tick_index: int) -> tuple[int, int | None]:
        """(tick, liquidity_net) of the initialized tick at or below ``tick_index``."""
        if tick_index < self.start_index:
            raise self._beyond()
        i = bisect_right(self.ticks, tick_index) - 1
        if i >= 0 and self.ticks[i] >= self.start_index:
            return self.ticks[i], self.nets[i]
        return self.start_index, None

    def next_initialized(self, tick_index: int) -> tuple[int, int | None]:
        """(tick, liquidity_net) of the first initialized tick above ``tick_index``."""
        if tick_index >= self.end_index:
            raise self._beyond()
        i = bisect_right(self.ticks, tick_index)
        if i < len(self.ticks) and self.ticks[i] <= self.end_index:
            return self.ticks[i], self.nets[i]
        return self.end_index, None
