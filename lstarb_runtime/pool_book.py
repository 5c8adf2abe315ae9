"""The scanner's view of the market: pools, the accounts they read, and who reads what.

Every account update is routed only to the pools that depend on it, so a
busy tick array costs one ``update`` call per pool that reads it. A pool
whose update raises DecodeError keeps its previous state, and the error is
counted against it rather than stopping the scanner.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import DecodeError

log = logging.getLogger("lstarb.scanner")


@dataclass
class PoolBook:
    """Pools by address, an account cache and a reverse dependency index."""

    adapter_classes: Iterable[type[PoolAdapter]]
    pools: dict[Pubkey, PoolAdapter] = field(default_factory=dict)
    accounts: dict[Pubkey, Account] = field(default_factory=dict)
    readers: defaultdict[Pubkey, set[Pubkey]] = field(default_factory=lambda: defaultdict(set))
    decode_errors: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._by_program: dict[Pubkey, list[type[PoolAdapter]]] = defaultdict(list)
        for cls in self.adapter_classes:
            self._by_program[cls.program_id].append(cls)

    def try_add_pool(self, address: Pubkey, account: Account) -> PoolAdapter | None:
        """Build a pool if some adapter decodes this account as one; else None."""
        for cls in self._by_program.get(account.owner, ()):
            if not cls.matches(account):
                continue
            try:
                pool = cls.from_account(address, account)
            except DecodeError:
                continue  # an account of the program that is not a pool (tick array, config)
            self.pools[address] = pool
            self.accounts[address] = account
            self._index(pool)
            return pool
        return None

    def _index(self, pool: PoolAdapter) -> list[Pubkey]:
        wanted = pool.accounts_to_update()
        for key in wanted:
            self.readers[key].add(pool.address)
        return wanted

    def missing(self) -> list[Pubkey]:
        """Accounts some pool reads that the cache does not hold yet."""
        return [key for key in self.readers if key not in self.accounts]

    def apply(self, updates: Mapping[Pubkey, Account]) -> set[Pubkey]:
        """Cache the accounts and refresh the pools that read them.

        Returns the addresses of pools that were updated successfully.
        """
        self.accounts.update(updates)
        touched: defaultdict[Pubkey, dict[Pubkey, Account]] = defaultdict(dict)
        for key, account in updates.items():
            for pool_address in self.readers.get(key, ()):
                touched[pool_address][key] = account
        changed: set[Pubkey] = set()
        for pool_address, accounts in touched.items():
            pool = self.pools[pool_address]
            try:
                pool.update(accounts)
            except DecodeError as exc:
                self.decode_errors[str(pool_address)] += 1
                log.warning("%s pool %s: update rejected: %s", pool.dex, pool_address, exc)
                continue
            changed.add(pool_address)
            self._index(pool)
        return changed

    def refresh_all(self, address: Pubkey) -> bool:
        """Feed a pool every cached account it reads (after it asked for new ones)."""
        pool = self.pools[address]
        have = {k: self.accounts[k] for k in pool.accounts_to_update() if k in self.accounts}
        try:
            pool.update(have)
        except DecodeError as exc:
            self.decode_errors[str(address)] += 1
            log.warning("%s pool %s: update rejected: %s", pool.dex, address, exc)
            return False
        self._index(pool)
        return True
