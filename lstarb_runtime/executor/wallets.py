"""The executor's wallets: keys loaded safely, one plan per wallet at a time, balances known.

Why several wallets: a wallet's transactions are ordered by the chain (they write the same fee
payer), and a wallet's SOL must cover one trade's fees, tip, rent and own capital at a time;
with several, that many plans are in flight at once. Keys stay in this module and the
builder that signs: plugins never see one, logs never show one (each key is registered with
the log redactor as it is loaded).

Paper runs sign with throw-away keys made at start (no file is read), so paper transactions
are built and signed exactly as live ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.keypair import load_keypair
from lstarb_runtime.logs import register_keypair
from lstarb_sdk.errors import ConfigError


@dataclass(eq=False)
class Wallet:
    """One signing wallet and what the executor knows of it."""

    keypair: Keypair
    lamports: int = 0
    """SOL balance (paper: simulated; live: refreshed from the chain after each trade)."""
    token_accounts: set[Pubkey] = field(default_factory=set)
    """Token accounts known to exist (no creation instruction needed)."""
    busy: bool = False
    trades: int = 0

    def __post_init__(self) -> None:
        self.pubkey = self.keypair.pubkey()
        self._gauge = metrics.WALLET_BALANCE_SOL.labels(wallet=str(self.pubkey))
        self._gauge.set(self.lamports / 1e9)

    def set_balance(self, lamports: int) -> None:
        self.lamports = lamports
        self._gauge.set(lamports / 1e9)

    def __repr__(self) -> str:  # never the key, whatever prints a wallet
        return f"Wallet({self.pubkey}, {self.lamports} lamports{', busy' if self.busy else ''})"


def load_wallets(paths: Iterable[Path]) -> list[Wallet]:
    """Wallets from Solana CLI key files (each refused when others may read it)."""
    wallets: list[Wallet] = []
    seen: set[Pubkey] = set()
    for path in paths:
        keypair = load_keypair(Path(path).expanduser())
        register_keypair(keypair)
        if keypair.pubkey() in seen:
            raise ConfigError(f"keypair file {path}: wallet {keypair.pubkey()} is listed twice")
        seen.add(keypair.pubkey())
        wallets.append(Wallet(keypair))
    return wallets


def paper_wallets(count: int, lamports: int) -> list[Wallet]:
    """Throw-away wallets for paper trading, each starting with ``lamports``."""
    wallets = []
    for _ in range(count):
        keypair = Keypair()
        register_keypair(keypair)
        wallets.append(Wallet(keypair, lamports))
    return wallets


class NoWallet(Exception):
    """No wallet became free with enough SOL before the plan's deadline."""


class WalletPool:
    """Hands out one free wallet per plan; a plan waits while every wallet is busy."""

    def __init__(self, wallets: Sequence[Wallet]) -> None:
        if not wallets:
            raise ConfigError("the executor needs at least one wallet")
        self.wallets = list(wallets)
        self._changed = asyncio.Condition()

    def __len__(self) -> int:
        return len(self.wallets)

    def by_key(self, key: Pubkey) -> Wallet | None:
        return next((w for w in self.wallets if w.pubkey == key), None)

    async def acquire(self, need_lamports: int, *, deadline: float) -> Wallet:
        """A free wallet holding at least ``need_lamports`` (the richest first); waits for one
        to be released until ``deadline`` (``time.monotonic()``), then raises NoWallet."""
        async with self._changed:
            while True:
                free = [w for w in self.wallets if not w.busy]
                rich = [w for w in free if w.lamports >= need_lamports]
                if rich:
                    wallet = max(rich, key=lambda w: w.lamports)
                    wallet.busy = True
                    return wallet
                if free and not any(w.busy for w in self.wallets):
                    best = max(w.lamports for w in free)
                    raise NoWallet(
                        f"no wallet holds the {need_lamports} lamports the plan needs "
                        f"(richest: {best})"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoWallet(f"every wallet ({len(self.wallets)}) stayed busy")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    raise NoWallet(f"every wallet ({len(self.wallets)}) stayed busy") from None

    async def claim(self, key: Pubkey) -> Wallet | None:
        """Mark the wallet ``key`` busy (a restarted executor following its plan); None if
        it is not one of ours."""
        wallet = self.by_key(key)
        if wallet is None:
            return None
        async with self._changed:
            while wallet.busy:
                await self._changed.wait()
            wallet.busy = True
        return wallet

    async def release(self, wallet: Wallet) -> None:
        async with self._changed:
            wallet.busy = False
            self._changed.notify_all()
