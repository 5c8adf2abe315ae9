"""The accounts the peer serves, and who is told when one changes.

Keys are base58 strings: requests and notifications speak base58, so the hot paths
(getMultipleAccounts, notifications) never convert. Each entry caches its base64 data
once, because the same account is read many more times than it is written.
"""

from __future__ import annotations

import base64
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.builtin.replay import load_market
from lstarb_sdk.errors import DataSourceError

log = logging.getLogger("lstarb.simnet")

RENT_EXEMPT_EPOCH = 18_446_744_073_709_551_615  # what rent-exempt accounts report as rentEpoch
SYSTEM_PROGRAM = "11111111111111111111111111111111"


@dataclass(slots=True)
class Entry:
    """One account as the peer holds it."""

    key: str
    lamports: int
    data: bytes
    owner: str
    executable: bool = False
    rent_epoch: int = RENT_EXEMPT_EPOCH
    _b64: str | None = field(default=None, repr=False)
    _json: str | None = field(default=None, repr=False)
    _zstd: str | None = field(default=None, repr=False)

    @property
    def b64(self) -> str:
        if self._b64 is None:
            self._b64 = base64.b64encode(self.data).decode()
        return self._b64

    def zstd_b64(self, compress: Callable[[bytes], bytes]) -> str:
        """The data zstd-compressed and base64-encoded, compressed once per state."""
        if self._zstd is None:
            self._zstd = base64.b64encode(compress(self.data)).decode()
        return self._zstd

    @property
    def json_base64(self) -> str:
        """The RPC account object with base64 data, as JSON text: rendered once per state,
        because the same state is read and notified many times."""
        if self._json is None:
            self._json = (
                f'{{"data":["{self.b64}","base64"],'
                f'"executable":{"true" if self.executable else "false"},'
                f'"lamports":{self.lamports},"owner":"{self.owner}",'
                f'"rentEpoch":{self.rent_epoch},"space":{len(self.data)}}}'
            )
        return self._json

    @property
    def pubkey(self) -> Pubkey:
        return Pubkey.from_string(self.key)

    def account(self) -> Account:
        return Account(
            self.lamports,
            self.data,
            Pubkey.from_string(self.owner),
            self.executable,
            self.rent_epoch,
        )

    def with_data(self, data: bytes) -> Entry:
        """The same account with new data (a driver write)."""
        return Entry(self.key, self.lamports, data, self.owner, self.executable, self.rent_epoch)

    @classmethod
    def of(cls, key: Pubkey | str, account: Account) -> Entry:
        return cls(
            str(key),
            account.lamports,
            bytes(account.data),
            str(account.owner),
            account.executable,
            account.rent_epoch,
        )


Listener = Callable[[Entry, int], None]
"""Called with the new entry and the slot it changed in (lamports 0 = closed)."""


class AccountStore:
    """Accounts by address, an owner index for getProgramAccounts, change listeners."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._by_owner: defaultdict[str, set[str]] = defaultdict(set)
        self.listeners: list[Listener] = []
        self.writes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def keys(self) -> Iterator[str]:
        return iter(list(self._entries))

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def owned_by(self, owner: str) -> list[Entry]:
        return [self._entries[k] for k in sorted(self._by_owner.get(owner, ()))]

    def load(self, entry: Entry) -> None:
        """Put an account without telling anyone (start-up)."""
        self._set(entry)

    def put(self, entry: Entry, slot: int) -> bool:
        """Store a new state; listeners hear of it if anything changed. Returns whether it did.

        An entry with zero lamports is a closed account: it is removed, and listeners get
        it once (a validator notifies the zero-lamport state of a closed account).
        """
        old = self._entries.get(entry.key)
        if old is not None and _same(old, entry):
            return False
        if entry.lamports == 0:
            if old is None:
                return False
            self._remove(old)
        else:
            self._set(entry)
        self.writes += 1
        for listener in self.listeners:
            try:
                listener(entry, slot)
            except Exception:  # a broken subscriber must not undo a write
                log.exception("simnet: account listener failed for %s", entry.key)
        return True

    def remove(self, key: str, slot: int) -> bool:
        """Close an account: subscribers see it with zero lamports, reads see null."""
        old = self._entries.get(key)
        if old is None:
            return False
        return self.put(Entry(key, 0, b"", SYSTEM_PROGRAM, False, 0), slot)

    def _set(self, entry: Entry) -> None:
        old = self._entries.get(entry.key)
        if old is not None and old.owner != entry.owner:
            self._by_owner[old.owner].discard(entry.key)
        self._entries[entry.key] = entry
        self._by_owner[entry.owner].add(entry.key)

    def _remove(self, old: Entry) -> None:
        del self._entries[old.key]
        self._by_owner[old.owner].discard(old.key)


def _same(a: Entry, b: Entry) -> bool:
    return (
        a.lamports == b.lamports
        and a.owner == b.owner
        and a.executable == b.executable
        and a.rent_epoch == b.rent_epoch
        and a.data == b.data
    )


def load_account_dirs(dirs: Iterable[Path]) -> dict[str, Entry]:
    """Every account dump (lstarb's fixture format) below each directory; a later
    directory wins for an address dumped twice. A bad file is named in the error."""
    entries: dict[str, Entry] = {}
    for root in dirs:
        if not root.is_dir():
            raise DataSourceError(f"simnet --accounts {root}: not a directory")
        entries.update(entries_of(load_market(root)))
    return entries


def entries_of(accounts: Mapping[Pubkey, Account]) -> dict[str, Entry]:
    return {str(k): Entry.of(k, a) for k, a in accounts.items()}
