"""Which bin array a swap visits next, and the addresses of bin arrays.

The pair's own 1024-bit bitmap marks initialized arrays with indexes
-512..511; the extension account marks those out to +-6656. A swap that leaves
the active bin's array looks for the nearest initialized array in its
direction (downwards when selling X for Y, upwards otherwise), crossing from
the pair's bitmap into the extension and back exactly as the program does.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.constants import (
    BIN_ARRAY_BITMAP_SIZE,
    BIN_ARRAY_SEED,
    BITMAP_SEED,
    EVENT_AUTHORITY_SEED,
    EXTENSION_BINARRAY_BITMAP_SIZE,
    MAX_BIN_PER_ARRAY,
    ORACLE_SEED,
    PROGRAM_ID,
)
from lstarb_meteora.dlmm.state import BinArrayBitmapExtension

_INTERNAL_MIN = -BIN_ARRAY_BITMAP_SIZE  # -512
_INTERNAL_MAX = BIN_ARRAY_BITMAP_SIZE - 1  # 511
_EXT_BITS = BIN_ARRAY_BITMAP_SIZE * EXTENSION_BINARRAY_BITMAP_SIZE  # 6144 per side
_EXT_MASK = (1 << _EXT_BITS) - 1


def bin_array_index(bin_id: int) -> int:
    """The index of the array holding ``bin_id`` (floor division, toward -inf)."""
    return bin_id // MAX_BIN_PER_ARRAY


def _lowest_set_at_or_above(bits: int, start: int) -> int | None:
    m = bits >> start
    if not m:
        return None
    return start + (m & -m).bit_length() - 1


def _highest_set_at_or_below(bits: int, start: int) -> int | None:
    if start < 0:
        return None
    m = bits & ((2 << start) - 1)
    if not m:
        return None
    return m.bit_length() - 1


def next_bin_array_index(
    swap_for_y: bool,
    bin_id: int,
    pair_bitmap: int,
    extension: BinArrayBitmapExtension | None,
) -> int | None:
    """The nearest initialized array from the one holding ``bin_id`` onwards
    (inclusive) in the swap's direction, or None when there is none.

    Without the extension the search ends at the edge of the pair's bitmap,
    as the program's does when the extension account is not passed.
    """
    index = bin_array_index(bin_id)
    while True:
        if _INTERNAL_MIN <= index <= _INTERNAL_MAX:
            offset = index + BIN_ARRAY_BITMAP_SIZE
            if swap_for_y:
                bit = _highest_set_at_or_below(pair_bitmap, offset)
                if bit is not None:
                    return bit - BIN_ARRAY_BITMAP_SIZE
                index = _INTERNAL_MIN - 1
            else:
                bit = _lowest_set_at_or_above(pair_bitmap, offset)
                if bit is not None:
                    return bit - BIN_ARRAY_BITMAP_SIZE
                index = _INTERNAL_MAX + 1
            continue
        if extension is None:
            return None
        if index < 0:
            # index <= -513 is bit (-index - 513) of the negative side; moving
            # down in index moves up in bits.
            start = -index - BIN_ARRAY_BITMAP_SIZE - 1
            if start >= _EXT_BITS:
                return None
            bits = extension.negative_bits
            if swap_for_y:
                bit = _lowest_set_at_or_above(bits & _EXT_MASK, start)
                return None if bit is None else -bit - BIN_ARRAY_BITMAP_SIZE - 1
            bit = _highest_set_at_or_below(bits, start)
            if bit is not None:
                return -bit - BIN_ARRAY_BITMAP_SIZE - 1
            index = _INTERNAL_MIN
        else:
            start = index - BIN_ARRAY_BITMAP_SIZE
            if start >= _EXT_BITS:
                return None
            bits = extension.positive_bits
            if swap_for_y:
                bit = _highest_set_at_or_below(bits, start)
                if bit is not None:
                    return bit + BIN_ARRAY_BITMAP_SIZE
                index = _INTERNAL_MAX
            else:
                bit = _lowest_set_at_or_above(bits & _EXT_MASK, start)
                return None if bit is None else bit + BIN_ARRAY_BITMAP_SIZE


def bin_array_address(lb_pair: Pubkey, index: int) -> Pubkey:
    """PDA ``["bin_array", lb_pair, index as i64 LE]``."""
    seeds = [BIN_ARRAY_SEED, bytes(lb_pair), index.to_bytes(8, "little", signed=True)]
    return Pubkey.find_program_address(seeds, PROGRAM_ID)[0]


def bitmap_extension_address(lb_pair: Pubkey) -> Pubkey:
    """PDA ``["bitmap", lb_pair]``; the account exists only for wide pairs."""
    return Pubkey.find_program_address([BITMAP_SEED, bytes(lb_pair)], PROGRAM_ID)[0]


def oracle_address(lb_pair: Pubkey) -> Pubkey:
    """PDA ``["oracle", lb_pair]`` (also stored in the pair)."""
    return Pubkey.find_program_address([ORACLE_SEED, bytes(lb_pair)], PROGRAM_ID)[0]


EVENT_AUTHORITY = Pubkey.find_program_address([EVENT_AUTHORITY_SEED], PROGRAM_ID)[0]
