"""accounts_to_update: the pair, Clock, extension, Token-2022 mints and the bin
arrays on both sides of the active bin, found through the bitmaps; it moves
with the active bin. Plus the bitmap search itself."""

from __future__ import annotations

import struct

from meteora_testlib import LABELS, accounts, load_pool, manifest, pair_address
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_meteora.dlmm.bitmap import (
    bin_array_address,
    bin_array_index,
    bitmap_extension_address,
    next_bin_array_index,
)
from lstarb_meteora.dlmm.state import BinArrayBitmapExtension
from lstarb_sdk.solana import SYSVAR_CLOCK_ID


def test_fixture_addresses_are_the_pdas() -> None:
    for s in manifest()["sets"]:
        pair = Pubkey.from_string(s["pair"])
        for m in s["members"]:
            if m["kind"] == "bin_array":
                index = int(m["file"][len("bin_array_") : -len(".json")])
                assert bin_array_address(pair, index) == Pubkey.from_string(m["pubkey"])
            if m["kind"] == "bin_array_bitmap_extension":
                assert bitmap_extension_address(pair) == Pubkey.from_string(m["pubkey"])


def test_lists_pair_clock_extension_and_arrays_around_active() -> None:
    for label in LABELS:
        pool = load_pool(label)
        keys = pool.accounts_to_update()
        assert keys[:3] == [pool.address, SYSVAR_CLOCK_ID, pool.bitmap_extension_address]
        active_index = bin_array_index(pool.pair.active_id)
        indexes = pool.bin_array_indexes()
        assert active_index in indexes, label
        assert any(i < active_index for i in indexes) or label == "pump-sol-bs250"
        for i in indexes:
            assert pool.bin_array_key(i) in keys
            assert pool.pair.bin_array_bitmap >> (i + 512) & 1, (label, i)


def test_sol_usdc_lists_the_manifest_neighbours() -> None:
    pool = load_pool("sol-usdc-bs4")
    # active -6260 is in array -90; two initialized arrays each side.
    assert pool.bin_array_indexes() == [-92, -91, -90, -89, -88]


def test_token2022_mint_is_listed() -> None:
    pool = load_pool("ttfz-sol-bs10-token2022")
    assert pool.mints[0] in pool.accounts_to_update()
    assert pool.mints[1] not in pool.accounts_to_update()


def test_list_moves_with_the_active_bin() -> None:
    label = "sol-usdc-bs4"
    pool = load_pool(label)
    before = pool.bin_array_indexes()
    raw = bytearray(accounts(label)[pair_address(label)].data)
    struct.pack_into("<i", raw, 76, -6260 - 3 * 70)  # three arrays lower
    acc = accounts(label)[pair_address(label)]
    pool.update({pool.address: Account(acc.lamports, bytes(raw), acc.owner, False, 0)})
    after = pool.bin_array_indexes()
    assert after == [-95, -94, -93, -92, -91]
    assert after != before
    assert pool.bin_array_key(-95) in pool.accounts_to_update()


def test_bitmap_search_internal() -> None:
    bitmap = (1 << (512 - 5)) | (1 << (512 + 0)) | (1 << (512 + 7))
    assert next_bin_array_index(True, 0, bitmap, None) == 0
    assert next_bin_array_index(True, -1, bitmap, None) == -5
    assert next_bin_array_index(True, -5 * 70 - 1, bitmap, None) is None
    assert next_bin_array_index(False, 70, bitmap, None) == 7
    assert next_bin_array_index(False, 7 * 70 + 70, bitmap, None) is None
    assert next_bin_array_index(False, -400 * 70, bitmap, None) == -5


def _extension(positive: dict[int, int], negative: dict[int, int]) -> BinArrayBitmapExtension:
    pos = [0] * 12
    neg = [0] * 12
    for index in positive:
        pos[index // 512 - 1] |= 1 << (index % 512)
    for index in negative:
        j = -index - 1
        neg[j // 512 - 1] |= 1 << (j % 512)
    return BinArrayBitmapExtension(Pubkey.default(), pos, neg)


def test_bitmap_search_through_the_extension() -> None:
    ext = _extension({600: 1, 5000: 1}, {-513: 1, -2000: 1})
    internal = 1 << (512 + 10)
    # upwards from inside the pair's bitmap into the extension
    assert next_bin_array_index(False, 11 * 70, internal, ext) == 600
    assert next_bin_array_index(False, 601 * 70, internal, ext) == 5000
    assert next_bin_array_index(False, 5001 * 70, internal, ext) is None
    # downwards from the extension back into the pair's bitmap
    assert next_bin_array_index(True, 599 * 70, internal, ext) == 10
    assert next_bin_array_index(True, 5000 * 70 - 1, internal, ext) == 600
    # negative side
    assert next_bin_array_index(True, -512 * 70, internal, ext) == -513
    assert next_bin_array_index(True, -514 * 70, internal, ext) == -2000
    assert next_bin_array_index(True, -2001 * 70, internal, ext) is None
    assert next_bin_array_index(False, -1999 * 70, internal, ext) == -513
    assert next_bin_array_index(False, -514 * 70, internal, ext) == -513
    sparse = _extension({}, {-2000: 1})
    assert next_bin_array_index(False, -1999 * 70, internal, sparse) == 10
    assert next_bin_array_index(True, 5000 * 70, internal, sparse) == 10
    # without the extension the search stops at the pair's bitmap edge
    assert next_bin_array_index(False, 11 * 70, internal, None) is None
    assert next_bin_array_index(True, -2001 * 70, internal, None) is None


def test_bin_array_index_rounds_toward_minus_infinity() -> None:
    assert bin_array_index(0) == 0
    assert bin_array_index(69) == 0
    assert bin_array_index(-1) == -1
    assert bin_array_index(-70) == -1
    assert bin_array_index(-71) == -2
    assert bin_array_index(-6260) == -90
