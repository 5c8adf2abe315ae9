"""Address lookup tables, decoded once and kept: the builder compiles with them, no I/O.

A table is an account of the lookup-table program (a 56-byte header, then 32-byte
addresses). The executor loads the tables adapters and funding providers name, and the ones
configured under ``[executor] lookup_tables``, through the data path before it builds; a
table that is missing, not a table, or deactivated is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.pubkey import Pubkey

LOOKUP_TABLE_PROGRAM_ID: Final = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
_ACTIVE: Final = 2**64 - 1

Fetch = Callable[[list[Pubkey]], Awaitable[Mapping[Pubkey, Account | None]]]


class LookupTableError(Exception):
    """A table the transaction needs cannot be used (the message names it and why)."""


def decode_table(key: Pubkey, account: Account | None) -> AddressLookupTableAccount:
    """The table at ``key``; LookupTableError when it is absent, foreign or deactivated."""
    if account is None:
        raise LookupTableError(f"lookup table {key}: the chain has no such account")
    if account.owner != LOOKUP_TABLE_PROGRAM_ID:
        raise LookupTableError(f"lookup table {key}: owned by {account.owner}, not a table")
    try:
        table = AddressLookupTable.deserialize(bytes(account.data))
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise LookupTableError(f"lookup table {key}: not a lookup table ({exc})") from None
    if table.meta.deactivation_slot != _ACTIVE:
        raise LookupTableError(
            f"lookup table {key}: deactivated at slot {table.meta.deactivation_slot}"
        )
    return AddressLookupTableAccount(key, list(table.addresses))


class LookupTables:
    """Tables by address. ``get`` never does I/O; ``load`` fetches the ones not held."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        self._fetch = fetch
        self._tables: dict[Pubkey, AddressLookupTableAccount] = {}

    def add(self, key: Pubkey, account: Account | None) -> AddressLookupTableAccount:
        table = decode_table(key, account)
        self._tables[key] = table
        return table

    def get(self, key: Pubkey) -> AddressLookupTableAccount:
        table = self._tables.get(key)
        if table is None:
            raise LookupTableError(f"lookup table {key} is not loaded")
        return table

    def holds(self, key: Pubkey) -> bool:
        return key in self._tables

    async def load(self, keys: Iterable[Pubkey]) -> None:
        """Fetch and decode every table of ``keys`` not held yet."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._tables]
        if not missing:
            return
        if self._fetch is None:
            raise LookupTableError(
                f"lookup table {missing[0]} is not loaded and no data source can fetch it"
            )
        fetched = await self._fetch(missing)
        for key in missing:
            if key not in fetched:
                raise LookupTableError(f"lookup table {key}: no data source knows the account")
            self.add(key, fetched[key])
