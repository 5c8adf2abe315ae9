"""One address lookup table over the served market, as a trader running on it would keep.

Why: a two- or three-leg route through Raydium CLMM and Meteora DLMM names 31-32 accounts,
and with every key written out a v0 transaction passes the 1,232-byte packet limit. Real
traders put the pools, vaults, tick arrays and programs they touch in a lookup table; the
embedded run does the same so its paper executor builds what a real one would send.

The account is the lookup-table program's own layout (what ``AddressLookupTable`` in
solders and the runtime read): a 56-byte header (u32 type 1, deactivation slot u64::MAX:
active, last extended slot, its start index, an optional authority, two bytes of padding),
then the addresses, 32 bytes each, at most 256.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Final

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.store import AccountStore, Entry

LOOKUP_TABLE_PROGRAM: Final = "AddressLookupTab1e1111111111111111111111111"
MAX_ADDRESSES: Final = 256
HEADER_SIZE: Final = 56
_ACTIVE: Final = 2**64 - 1
_NOT_IN_TABLE: Final = frozenset(
    {
        "11111111111111111111111111111111",  # a payer's program: never worth a slot
        "Sysvar1111111111111111111111111111111111111",
        "NativeLoader1111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
    }
)


_PROGRAMS: Final = frozenset({"11111111111111111111111111111111"})
"""Owners whose accounts are still worth a slot (system-owned accounts: wallets, reserves)."""


def lookup_table_key(seed: int) -> str:
    """A fixed address per seed (no key pair: nobody extends or closes it)."""
    return str(Pubkey(hashlib.sha256(f"lstarb-simnet:{seed}:lookup-table".encode()).digest()))


def table_addresses(store: AccountStore) -> list[str]:
    """Every served account and every program owning one (pools, vaults, tick arrays, bin
    arrays, stake pools, their programs, the token programs), sorted, at most 256."""
    keys: dict[str, None] = {}
    for entry in sorted(store.entries(), key=lambda e: e.key):
        for key in (entry.owner, entry.key):
            if key not in _NOT_IN_TABLE and entry.owner not in _NOT_IN_TABLE - _PROGRAMS:
                keys[key] = None
    return sorted(keys)[:MAX_ADDRESSES]


def encode_table(addresses: list[str], last_extended_slot: int) -> bytes:
    """The program's account layout for an active table with no authority (frozen)."""
    if len(addresses) > MAX_ADDRESSES:
        raise ValueError(f"a lookup table holds at most {MAX_ADDRESSES} addresses")
    header = struct.pack("<IQQB", 1, _ACTIVE, last_extended_slot, 0) + bytes(33) + bytes(2)
    assert len(header) == HEADER_SIZE
    return header + b"".join(bytes(Pubkey.from_string(a)) for a in addresses)


def add_lookup_table(store: AccountStore, seed: int, slot: int) -> Entry:
    """Put the market's table in ``store``: extended before ``slot``, so usable from it."""
    data = encode_table(table_addresses(store), max(0, slot - 1))
    lamports = (128 + len(data)) * 3480 * 2  # rent-exempt minimum
    entry = Entry(lookup_table_key(seed), lamports, data, LOOKUP_TABLE_PROGRAM)
    store.load(entry)
    return entry
