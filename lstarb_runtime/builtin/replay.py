"""The ``replay`` plugin: a data source that plays back recorded accounts.

The default run needs no network: it replays a market recorded from real
mainnet pool accounts that ships with the runtime (``lstarb_runtime/data/
market``), or a directory of the same JSON account files given in
``[plugins.replay] path``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from pathlib import Path

from pydantic import Field
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk import (
    AccountUpdate,
    DataSource,
    DataSourceError,
    PluginConfig,
    PluginContext,
    SlotUpdate,
    hookimpl,
)
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock, account_from_json

SYSVAR_ID = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")

LSTARB_SDK_API = "1.0"


SLOTS_PER_EPOCH = 432_000


class ReplayConfig(PluginConfig):
    path: Path | None = Field(
        None, description="directory of account JSON files (default: bundled)"
    )
    slot: int = Field(
        410_400_000, ge=0, description="slot stamped on replayed updates (epoch = slot // 432000)"
    )
    unix_timestamp: int | None = Field(
        None, description="Clock time when the recording has no Clock sysvar (default: now)"
    )


def clock_account(slot: int, unix_timestamp: int) -> Account:
    """A Clock sysvar for a recording that has none: fees that depend on time
    (DLMM's volatility, Orca's adaptive fee) and on the epoch (Token-2022
    transfer fees) read it."""
    epoch = slot // SLOTS_PER_EPOCH
    clock = Clock(slot, unix_timestamp, epoch, epoch + 1, unix_timestamp)
    return Account(1_169_280, clock.encode(), SYSVAR_ID, False, 0)


def bundled_market() -> Path:
    """The market recorded from real mainnet accounts that ships with lstarb."""
    return Path(str(resources.files("lstarb_runtime") / "data" / "market"))


def load_market(root: Path) -> dict[Pubkey, Account]:
    """Every account file below ``root``; a malformed file is named in the error."""
    accounts: dict[Pubkey, Account] = {}
    for path in sorted(root.rglob("*.json")):
        if path.name == "MANIFEST.json":
            continue
        try:
            key, account = account_from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataSourceError(f"replay file {path}: not an account dump ({exc})") from None
        accounts[key] = account
    return accounts


class ReplaySource(DataSource):
    """Plays each subscribed account once, then a slot tick; ends when played."""

    name = "replay"

    def __init__(
        self,
        accounts: Mapping[Pubkey, Account],
        *,
        slot: int = 410_400_000,
        unix_timestamp: int | None = None,
    ) -> None:
        self.accounts = dict(accounts)
        if SYSVAR_CLOCK_ID not in self.accounts:
            now = int(time.time()) if unix_timestamp is None else unix_timestamp
            self.accounts[SYSVAR_CLOCK_ID] = clock_account(slot, now)
        self.slot = slot
        self._queue: asyncio.Queue[Pubkey | None] = asyncio.Queue()
        self._subscribed: set[Pubkey] = set()
        self._closed = False

    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        for key in accounts:
            if key not in self._subscribed:
                self._subscribed.add(key)
                await self._queue.put(key)

    def known_accounts(self) -> Iterable[Pubkey]:
        return list(self.accounts)

    async def fetch(self, accounts: Iterable[Pubkey]) -> Mapping[Pubkey, Account | None]:
        return {key: self.accounts.get(key) for key in accounts}

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        while not self._closed:
            if self._queue.empty():
                yield SlotUpdate(self.slot, source=self.name, received_ns=time.time_ns())
                return
            key = await self._queue.get()
            if key is None:
                return
            account = self.accounts.get(key)
            if account is None:
                continue
            yield AccountUpdate(
                pubkey=key,
                slot=self.slot,
                owner=account.owner,
                lamports=account.lamports,
                data=bytes(account.data),
                executable=account.executable,
                source=self.name,
                received_ns=time.time_ns(),
            )

    async def close(self) -> None:
        self._closed = True
        await self._queue.put(None)


@hookimpl
def lstarb_config_model() -> type[PluginConfig]:
    return ReplayConfig


@hookimpl
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    config = context.config("replay")
    assert config is None or isinstance(config, ReplayConfig)
    config = config or ReplayConfig()
    path = config.path if config.path is not None else bundled_market()
    return [ReplaySource(load_market(path), slot=config.slot, unix_timestamp=config.unix_timestamp)]
