"""The scanner's view of the market: pools, the accounts they read, and who reads what.

Every account update is routed only to the pools that depend on it, so a
busy tick array costs one ``update`` call per pool that reads it. A pool
whose update raises DecodeError keeps its previous state, and the error is
counted against it rather than stopping the scanner.

Adapters are plugin code: one that raises anything else (a bug, not bad
bytes) is logged with its name and traceback, counted, and its pool is
quarantined: dropped from the book, because its state may be half updated
and no quote may come from it. The scanner carries on with the others.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import PoolAdapter, Quote
from lstarb_sdk.errors import DecodeError, LstarbError, QuoteError
from lstarb_sdk.solana import Mint

log = logging.getLogger("lstarb.scanner")


@dataclass
class PoolBook:
    """Pools by address, an account cache and a reverse dependency index."""

    adapter_classes: Iterable[type[PoolAdapter]]
    pools: dict[Pubkey, PoolAdapter] = field(default_factory=dict)
    accounts: dict[Pubkey, Account] = field(default_factory=dict)
    readers: defaultdict[Pubkey, set[Pubkey]] = field(default_factory=lambda: defaultdict(set))
    decode_errors: Counter[str] = field(default_factory=Counter)
    adapter_faults: Counter[str] = field(default_factory=Counter)
    """Unexpected exceptions raised by adapters, by adapter name (``dex``)."""
    quarantined: dict[Pubkey, str] = field(default_factory=dict)
    """Pools dropped after their adapter raised unexpectedly, with the reason."""

    def __post_init__(self) -> None:
        self._decimals: dict[Pubkey, int] = {}
        self._by_program: dict[Pubkey, list[type[PoolAdapter]]] = defaultdict(list)
        for cls in self.adapter_classes:
            self._by_program[cls.program_id].append(cls)

    def try_add_pool(self, address: Pubkey, account: Account) -> PoolAdapter | None:
        """Build a pool if some adapter decodes this account as one; else None."""
        if address in self.quarantined:
            return None
        for cls in self._by_program.get(account.owner, ()):
            try:
                if not cls.matches(account):
                    continue
                pool = cls.from_account(address, account)
                wanted = pool.accounts_to_update()
            except DecodeError:
                continue  # an account of the program that is not a pool (tick array, config)
            except Exception as exc:
                self._fault(getattr(cls, "dex", cls.__name__), address, "from_account", exc)
                continue
            self.pools[address] = pool
            self.accounts[address] = account
            self._index(address, wanted)
            return pool
        return None

    def _index(self, address: Pubkey, wanted: Iterable[Pubkey]) -> None:
        for key in wanted:
            self.readers[key].add(address)

    def _fault(self, dex: str, address: Pubkey, call: str, exc: Exception) -> None:
        self.adapter_faults[dex] += 1
        self.quarantined[address] = f"{dex}.{call} raised {exc!r}"
        log.error(
            "adapter %s raised in %s for pool %s; pool quarantined",
            dex,
            call,
            address,
            exc_info=exc,
        )
        self.pools.pop(address, None)
        for readers in self.readers.values():
            readers.discard(address)

    def missing(self) -> list[Pubkey]:
        """Accounts some pool reads that the cache does not hold yet."""
        return [key for key, who in self.readers.items() if who and key not in self.accounts]

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
            if self._update(pool_address, accounts):
                changed.add(pool_address)
        return changed

    def refresh_all(self, address: Pubkey) -> bool:
        """Feed a pool every cached account it reads (after it asked for new ones)."""
        pool = self.pools.get(address)
        if pool is None:
            return False
        try:
            keys = pool.accounts_to_update()
        except Exception as exc:
            self._fault(pool.dex, address, "accounts_to_update", exc)
            return False
        return self._update(address, {k: self.accounts[k] for k in keys if k in self.accounts})

    def whole_token(self, mint: Pubkey) -> int:
        """One whole token of ``mint`` in its smallest unit: the size of probe quotes.

        Decimals come from the cached mint account, decoded once (they never change); a mint
        not loaded yet counts as 6 decimals and is looked up again next time.
        """
        decimals = self._decimals.get(mint)
        if decimals is None:
            account = self.accounts.get(mint)
            if account is None:
                return 10**6
            try:
                decimals = Mint.decode(bytes(account.data)).decimals
            except LstarbError:
                decimals = 6
            self._decimals[mint] = decimals
        return int(10**decimals)

    def quote(self, address: Pubkey, amount: int, mint: Pubkey, *, exact_in: bool = True) -> Quote:
        """The pool's quote; an adapter bug quarantines the pool and reads as QuoteError."""
        pool = self.pools.get(address)
        if pool is None:
            raise QuoteError(f"pool {address} is not in the book ({self.quarantined.get(address)})")
        try:
            return pool.quote(amount, mint, exact_in=exact_in)
        except LstarbError:
            raise
        except Exception as exc:
            self._fault(pool.dex, address, "quote", exc)
            raise QuoteError(f"{pool.dex} pool {address}: adapter fault, quarantined") from exc

    def _update(self, address: Pubkey, accounts: Mapping[Pubkey, Account]) -> bool:
        pool = self.pools.get(address)
        if pool is None:
            return False
        try:
            pool.update(accounts)
            wanted = pool.accounts_to_update()
        except DecodeError as exc:
            self.decode_errors[str(address)] += 1
            log.warning("%s pool %s: update rejected: %s", pool.dex, address, exc)
            return False
        except Exception as exc:
            self._fault(pool.dex, address, "update", exc)
            return False
        self._index(address, wanted)
        return True
