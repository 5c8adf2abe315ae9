"""Which tick arrays exist, and their addresses.

A pool keeps a 1024-bit map of initialized tick arrays for array indices
``[-512, 511]`` (index = start_tick_index / (60 * tick_spacing)); the
TickArrayBitmapExtension holds 14 more 512-bit groups on each side. Here the
three are laid end to end into one integer over indices ``[-7680, 7679]`` so
"next initialized array above/below" is one shift and a bit scan, which is what
the swap loop asks each time it leaves an array.
"""

from __future__ import annotations

from functools import lru_cache

from solders.pubkey import Pubkey

from lstarb_raydium.clmm.state import (
    EXT_BITMAP_GROUPS,
    EXT_GROUP_BYTES,
    EXT_NEGATIVE_OFFSET,
    TICK_ARRAY_SIZE,
)

CLMM_PROGRAM_ID = Pubkey.from_string("CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK")

POOL_BITMAP_MIN_INDEX = -512
POOL_BITMAP_MAX_INDEX = 511
ALL_MIN_INDEX = -7680
ALL_MAX_INDEX = 7679
_POOL_SHIFT = POOL_BITMAP_MIN_INDEX - ALL_MIN_INDEX  # 7168
_POS_SHIFT = POOL_BITMAP_MAX_INDEX + 1 - ALL_MIN_INDEX  # 8192
POOL_RANGE_MASK = ((1 << 1024) - 1) << _POOL_SHIFT


def array_start_index(tick: int, tick_spacing: int) -> int:
    """Start tick of the array holding ``tick`` (floor toward -inf)."""
    ticks_in_array = TICK_ARRAY_SIZE * tick_spacing
    return (tick // ticks_in_array) * ticks_in_array


def negative_groups_in_order(ext_raw: bytes) -> int:
    """The extension's negative bitmap as one integer, lowest array index first.

    Negative group ``r`` holds indices ``[-512 (r + 2), -512 (r + 1))`` with bit
    ``s`` meaning index ``s - 512 (r + 2)``: the groups run downward, so they are
    reversed to lay them on an ascending axis.
    """
    groups = [
        ext_raw[
            EXT_NEGATIVE_OFFSET + EXT_GROUP_BYTES * r : EXT_NEGATIVE_OFFSET
            + EXT_GROUP_BYTES * (r + 1)
        ]
        for r in range(EXT_BITMAP_GROUPS - 1, -1, -1)
    ]
    return int.from_bytes(b"".join(groups), "little")


def combined_bitmap(
    pool_bitmap: int, ext_positive: int | None, ext_negative_ordered: int | None
) -> int:
    """Bit ``index + 7680`` set for every initialized array index known."""
    combined = pool_bitmap << _POOL_SHIFT
    if ext_positive is not None:
        combined |= ext_positive << _POS_SHIFT
    if ext_negative_ordered is not None:
        combined |= ext_negative_ordered
    return combined


def is_initialized(combined: int, index: int) -> bool:
    return ALL_MIN_INDEX <= index <= ALL_MAX_INDEX and bool(combined >> (index - ALL_MIN_INDEX) & 1)


def next_initialized_index(combined: int, index: int, upward: bool) -> int | None:
    """The nearest initialized array index strictly above/below ``index``, or None."""
    bit = index - ALL_MIN_INDEX
    if upward:
        rest = combined >> (bit + 1)
        if not rest:
            return None
        return index + 1 + ((rest & -rest).bit_length() - 1)
    if bit <= 0:
        return None
    rest = combined & ((1 << bit) - 1)
    if not rest:
        return None
    return rest.bit_length() - 1 + ALL_MIN_INDEX


def in_pool_bitmap(index: int) -> bool:
    return POOL_BITMAP_MIN_INDEX <= index <= POOL_BITMAP_MAX_INDEX


@lru_cache(maxsize=65536)
def tick_array_address(
    pool: Pubkey, start_tick_index: int, program_id: Pubkey = CLMM_PROGRAM_ID
) -> Pubkey:
    """PDA ``["tick_array", pool, start_tick_index as i32 big-endian]``."""
    seed = start_tick_index.to_bytes(4, "big", signed=True)
    return Pubkey.find_program_address([b"tick_array", bytes(pool), seed], program_id)[0]


@lru_cache(maxsize=4096)
def bitmap_extension_address(pool: Pubkey, program_id: Pubkey = CLMM_PROGRAM_ID) -> Pubkey:
    """PDA ``["pool_tick_array_bitmap_extension", pool]``."""
    return Pubkey.find_program_address(
        [b"pool_tick_array_bitmap_extension", bytes(pool)], program_id
    )[0]
