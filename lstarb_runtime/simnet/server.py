"""The peer in one object: accounts, chain, LiteSVM bank, HTTP and PubSub ports, driver.

Embed it in an asyncio program (tests, ``lstarb run``'s embedded default)::

    async with Simnet(SimnetConfig(port=0, drive=True, seed=7)) as net:
        client = AsyncClient(net.http_url)          # HTTP on net.port
        ws = await connect(net.ws_url)              # PubSub on net.ws_port == net.port + 1

With ``slot_ms=0`` slots do not tick by themselves: call :meth:`Simnet.step` to advance
one (deterministic tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.simnet.bank import Bank
from lstarb_runtime.simnet.chain import DEFAULT_START_EPOCH, MAINNET_EPOCH_SLOTS, Chain
from lstarb_runtime.simnet.driver import Driver, DriverConfig
from lstarb_runtime.simnet.http_server import HttpServer
from lstarb_runtime.simnet.lookup_table import add_lookup_table
from lstarb_runtime.simnet.market import Alignment, Market
from lstarb_runtime.simnet.methods import RpcMethods
from lstarb_runtime.simnet.pubsub import PubSub
from lstarb_runtime.simnet.shredstream import ShredstreamServer, TradeTransactions
from lstarb_runtime.simnet.store import AccountStore, Entry, load_account_dirs
from lstarb_runtime.simnet.synthesis import Synthetic, synthesize
from lstarb_sdk import PoolAdapter
from lstarb_sdk.solana import SYSVAR_CLOCK_ID

log = logging.getLogger("lstarb.simnet")

SYSVAR_OWNER = "Sysvar1111111111111111111111111111111111111"
CLOCK_LAMPORTS = 1_169_280


@dataclass
class SimnetConfig:
    """How to run the peer; the CLI flags map one to one."""

    host: str = "127.0.0.1"
    port: int = 8899
    """HTTP port; PubSub listens on port + 1. 0 picks a free pair."""
    accounts: Sequence[Path] = ()
    """Directories of account dumps; empty: the bundled market."""
    drive: bool = False
    seed: int = 0
    slot_ms: int = 400
    """Slot length; 0: slots advance only through :meth:`Simnet.step`."""
    epoch_slots: int = MAINNET_EPOCH_SLOTS
    start_epoch: int = DEFAULT_START_EPOCH
    start_slot: int | None = None
    """First slot (the epoch follows from it); None: the first slot of ``start_epoch``."""
    genesis_unix_time: int | None = None
    """Clock unix_timestamp of the first slot (default: now)."""
    synthesize: bool = True
    """Make up the accounts pools read that no dump holds (Orca vaults, stake pool
    reserves and fee accounts, Marinade's legs), each by a stated rule (``synthesis``)."""
    priority_fee_median: int = 10_000
    """The network's priority fees getRecentPrioritizationFees reports beside ours: a
    deterministic spread of 0 to twice this (micro-lamports per CU) per slot; 0: none."""
    lookup_table: bool = False
    """Add one address lookup table over the served market (``lookup_table``); its address
    is :attr:`Simnet.lookup_table`."""
    driver: DriverConfig = field(default_factory=DriverConfig)
    shredstream_port: int | None = None
    """Serve the driven market's swaps as a Jito ShredStream proxy (gRPC) on this port
    (``simnet.shredstream``); 0 picks a free one; None: not served."""
    shred_lead_ms: float = 100.0
    """With ShredStream served: how long a slot's account notifications follow its entries
    (a real node notifies after the leader's shreds went out); at most half a slot."""


class Simnet:
    """A local Solana RPC peer (HTTP JSON-RPC + PubSub) over real account dumps."""

    def __init__(
        self,
        config: SimnetConfig | None = None,
        *,
        adapters: Sequence[type[PoolAdapter]] | None = None,
    ) -> None:
        self.config = config = config or SimnetConfig()
        self.store = AccountStore()
        self.chain = Chain(
            seed=config.seed,
            epoch_slots=config.epoch_slots,
            start_epoch=config.start_epoch,
            genesis_unix_time=(
                int(time.time()) if config.genesis_unix_time is None else config.genesis_unix_time
            ),
            slot_ms=config.slot_ms,
            priority_fee_median=config.priority_fee_median,
            start_slot=config.start_slot,
        )
        dirs = list(config.accounts) or [bundled_market()]
        for entry in load_account_dirs(dirs).values():
            self.store.load(entry)
        self.synthetic: list[Synthetic] = synthesize(self.store) if config.synthesize else []
        self.lookup_table: str | None = None
        if config.lookup_table:
            self.lookup_table = add_lookup_table(self.store, config.seed, self.chain.slot).key
        self._write_clock()
        self.bank = Bank(self.store, self.chain)
        self.identity = str(Keypair.from_seed(bytes([config.seed % 256]) * 32).pubkey())
        self.methods = RpcMethods(self)
        self.pubsub = PubSub(self)
        self.http = HttpServer(self._call)
        self.driver: Driver | None = None
        self.alignment: Alignment | None = None
        if config.drive:
            market = Market(self.store, adapters if adapters is not None else installed_adapters())
            self.driver = Driver(
                self.store, self.chain, market, _with_seed(config.driver, config.seed)
            )
            self.alignment = self.driver.align()
        self.shredstream: ShredstreamServer | None = None
        self.trade_transactions: TradeTransactions | None = None
        if config.shredstream_port is not None:
            self.shredstream = ShredstreamServer(config.host, config.shredstream_port)
            if self.driver is not None:
                self.trade_transactions = TradeTransactions(self.store, config.seed)
                self.driver.trader.on_trade = self._trade_transaction
        self.store.listeners.append(self.pubsub.on_account)
        self.port = 0
        self.ws_port = 0
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ life cycle
    @property
    def http_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.ws_port}"

    async def start(self) -> None:
        """Listen (HTTP on ``port``, PubSub on ``port + 1``) and start ticking slots."""
        self._loop = asyncio.get_running_loop()
        host, port = self.config.host, self.config.port
        for _ in range(50):
            self.port = await self.http.start(host, port)
            try:
                self.ws_port = await self.pubsub.start(host, self.port + 1)
                break
            except OSError as exc:
                await self.http.stop()
                if port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
        else:
            raise OSError(f"simnet: no free port pair on {host}")
        if self.shredstream is not None:
            try:
                await self.shredstream.start()
            except BaseException:
                await self.pubsub.stop()
                await self.http.stop()
                raise
        if self.config.slot_ms > 0:
            self._ticker = asyncio.create_task(self._tick())
        log.info(
            "simnet: HTTP %s, PubSub %s, %d accounts", self.http_url, self.ws_url, len(self.store)
        )

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self.shredstream is not None:
            await self.shredstream.stop()
        self.pubsub.release()
        await self.pubsub.stop()
        await self.http.stop()

    async def __aenter__(self) -> Simnet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ slots
    async def _tick(self) -> None:
        period = self.config.slot_ms / 1000
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += period
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            try:
                self.step()
            except Exception:  # the peer keeps ticking; the fault is logged
                log.exception("simnet: slot %d failed", self.chain.slot)

    def step(self) -> int:
        """Advance one slot: new blockhash and Clock, the driver's moves, notifications."""
        parent = self.chain.slot
        slot = self.chain.advance()
        self.pubsub.on_slot(slot, parent, self.chain.root)
        self._write_clock()
        if self.shredstream is None:
            if self.driver is not None:
                self.driver.on_slot()
        else:  # the slot's entries first, its account notifications after the lead
            hold = self.pubsub.hold()
            if self.driver is not None:
                self.driver.on_slot()
            told = self.trade_transactions.take() if self.trade_transactions else []
            self.shredstream.publish(slot, told)
            self._release_later(hold)
        self.pubsub.check_signatures()
        return slot

    def _release_later(self, hold: int) -> None:
        lead = self.config.shred_lead_ms / 1000
        if self.config.slot_ms > 0:
            lead = min(lead, self.config.slot_ms / 2000)
        if self._loop is None:
            self.pubsub.release(hold)
        else:
            self._loop.call_later(lead, self.pubsub.release, hold)

    def _trade_transaction(
        self, pool: Pubkey, input_mint: Pubkey, amount_in: int, amount_out: int
    ) -> None:
        adapter = self.driver.market.book.pools.get(pool) if self.driver else None
        if adapter is None or self.trade_transactions is None:
            return
        self.trade_transactions.add(
            adapter, input_mint, amount_in, amount_out, self.chain.latest_blockhash
        )

    def _write_clock(self) -> None:
        entry = Entry(
            str(SYSVAR_CLOCK_ID), CLOCK_LAMPORTS, self.chain.clock().encode(), SYSVAR_OWNER
        )
        self.store.put(entry, self.chain.slot)

    # ------------------------------------------------------------ plumbing
    def _call(self, method: str, params: Sequence[Any]) -> Any:
        return self.methods.table[method](params)

    def after_transaction(self, signature: str) -> None:
        self.pubsub.on_received(signature)
        self.pubsub.check_signatures()

    def loop_soon(self, callback: Callable[[], None]) -> None:
        if self._loop is not None:
            self._loop.call_soon(callback)


def _with_seed(config: DriverConfig, seed: int) -> DriverConfig:
    return replace(config, seed=seed)


def installed_adapters() -> list[type[PoolAdapter]]:
    """The DEX adapters of every installed plugin (the driver prices pools with them)."""
    host = PluginHost()
    host.discover()
    adapters: list[type[PoolAdapter]] = []
    for _, item in host.collect("lstarb_dex_adapters", _adapter_problem):
        adapters.append(item)
    return adapters


def _adapter_problem(item: object) -> str | None:
    if isinstance(item, type) and issubclass(item, PoolAdapter) and hasattr(item, "program_id"):
        return None
    return f"{item!r} is not a PoolAdapter subclass with a program_id"
