"""The system manager service: the circuit breakers, and SYSTEM commands applied to the switch.

It watches what the other services publish (EXECUTION, EXECUTED, the account updates of
MARKET_DATA, wallet balances on METRICS) and, with a wallet floor set, reads the balances of
the wallets it knows through the plugins' data sources; it feeds the breakers
(:mod:`lstarb_runtime.control.breakers`) and, when one trips, throws the kill switch with the
breaker's reason, as ``auto:<breaker>``: the same write to the ``control`` bucket and the same
audited SYSTEM command as ``lstarb kill``. Its consumers are never gated: it keeps watching
while halted.

It also applies SYSTEM commands that some other tool published directly (the seed's "manual
trigger on the SYSTEM stream") to the bucket, so they reach every service; commands written
by ``lstarb kill``, the control API or a breaker are recognised by their id and left alone.

A paper run arms the breakers only with ``[breakers] paper = true``; otherwise it logs and
counts what would have tripped. The breakers' counts (failures in a row, today's loss) are
saved in the ``control`` bucket (key ``breakers``) after each execution event, so a
restarted system manager goes on from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from typing import Any

from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.bus import BusError, Delivery
from lstarb_runtime.control import state as control
from lstarb_runtime.control.breakers import WALLET_METRIC, Breakers, Trip
from lstarb_runtime.executor.fetcher import AccountFetcher
from lstarb_runtime.services.base import Service
from lstarb_sdk import DataSource
from lstarb_sdk.errors import DataSourceError, DecodeError
from lstarb_sdk.events import (
    AccountEvent,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    MetricEvent,
    SystemCommandEvent,
)

log = logging.getLogger("lstarb.system")

DURABLE = "system"
SNAPSHOT_KEY = "breakers"
"""The breakers' counts in the ``control`` bucket, for a restarted system manager."""


class SystemManager(Service):
    """Breakers over the streams; a trip throws the kill switch with its reason."""

    role = "system"
    stream_driven = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trips: Counter[str] = Counter()
        self.would_trip: Counter[str] = Counter()
        self._latched = False
        self._tripping: set[asyncio.Task[None]] = set()
        self.wallets: set[Pubkey] = set()
        """Wallets whose balance the floor reads through the data sources."""
        self.sources: list[DataSource] = []
        self._balances: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self.config = cfg = self.env.settings.breakers
        self.armed = cfg.paper or not self.env.context.paper
        self.breakers = Breakers(cfg, time.time())
        await self._restore()
        await self.consume("SYSTEM", self._command, durable=DURABLE, gated=False)
        await self.consume("EXECUTION", self._plan, durable=DURABLE, gated=False)
        await self.consume("EXECUTED", self._result, durable=DURABLE, gated=False)
        await self.consume(
            "MARKET_DATA",
            self._account,
            durable=DURABLE,
            filter_subject="md.account.>",
            gated=False,
        )
        await self.consume(
            "METRICS",
            self._metric,
            durable=DURABLE,
            filter_subject=f"metrics.{WALLET_METRIC.split('.', 1)[0]}",
            gated=False,
        )
        if not self.armed:
            self.env.echo(
                "system: breakers watching, not armed in a paper run ([breakers] paper = true)"
            )
        if cfg.wallet_floor_sol:
            self._start_balances()

    async def _restore(self) -> None:
        """Go on counting from the last snapshot (a restart must not forget today's loss)."""
        try:
            entry = await self.bus.kv(control.BUCKET).get(SNAPSHOT_KEY)
            if entry is not None:
                self.breakers.restore(json.loads(entry.value))
                self.count("breaker counts restored")
        except (ValueError, TypeError, KeyError) as exc:
            log.warning(
                "%s/%s unreadable (%s); counting from zero", control.BUCKET, SNAPSHOT_KEY, exc
            )

    async def _save(self) -> None:
        """Snapshot the counts after each execution event (a few per second at most)."""
        data = json.dumps(self.breakers.snapshot(), separators=(",", ":")).encode()
        try:
            await self.bus.kv(control.BUCKET).put(SNAPSHOT_KEY, data)
        except BusError as exc:
            log.warning("breaker counts not saved: %s", exc)

    def _start_balances(self) -> None:
        """Read wallet balances through the plugins' data sources (as the executor does)."""
        self.wallets = {Pubkey.from_string(w) for w in self.config.wallets}
        self.sources = [
            s
            for _, s in self.env.host.collect(
                "lstarb_data_sources",
                lambda s: None if isinstance(s, DataSource) else f"{s!r} is not a DataSource",
                context=self.env.context,
            )
        ]
        if not self.sources:
            log.warning(
                "wallet_floor: no data source to read balances with; only METRICS %s counts",
                WALLET_METRIC,
            )
            return
        self._balances = asyncio.create_task(self._balance_loop(), name="lstarb-system-balances")

    async def on_run(self) -> None:
        """Look at the clock-based breakers every ``check_interval_seconds`` until stopped."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.config.check_interval_seconds)
            self._trip(self.breakers.check(time.time()))

    async def on_stop(self) -> None:
        # five consumers, each letting its fetch in flight finish: stopped together, not one
        # after the other (the base's stop of them afterwards is then a no-op)
        await asyncio.gather(*(c.stop() for c in self.consumers), return_exceptions=True)
        if self._balances is not None:
            self._balances.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._balances
        for source in self.sources:
            try:
                await source.close()
            except Exception:
                log.exception("%s: close failed", source.name)
        for task in list(self._tripping):
            with contextlib.suppress(Exception):
                await task

    async def _balance_loop(self) -> None:
        fetcher = AccountFetcher(self.sources)
        while True:
            if self.wallets:
                await self.read_balances(fetcher)
            await asyncio.sleep(self.config.wallet_check_seconds)

    async def read_balances(self, fetcher: AccountFetcher) -> None:
        """One read of every watched wallet; a wallet the chain does not have holds nothing."""
        try:
            found = await fetcher.fetch(sorted(self.wallets, key=bytes))
        except DataSourceError as exc:
            log.warning("wallet_floor: balances not read: %s", exc)
            return
        for wallet, account in found.items():
            lamports = account.lamports if account is not None else 0
            self.count("wallet balances read")
            self._trip(self.breakers.on_balance(str(wallet), lamports))

    def on_resume(self, reason: str) -> None:
        self._latched = False
        self.breakers.rearm(time.time())
        task = asyncio.create_task(self._save(), name="lstarb-system-save")
        self._tripping.add(task)
        task.add_done_callback(self._tripping.discard)

    # ------------------------------------------------------------------ handlers
    async def _command(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, SystemCommandEvent):
            return
        try:
            current = await control.read(self.bus)
        except DecodeError as exc:
            log.warning("%s; the SYSTEM command %s replaces it", exc, event.id)
            current = control.HaltState()
        if not current.superseded_by(event):
            return
        await control.write(self.bus, control.HaltState.of(event))
        self.count("SYSTEM commands applied to the switch")
        log.warning(
            "applied SYSTEM command %s (%s by %s: %s)",
            event.id,
            event.command.name,
            event.triggered_by or "?",
            event.reason,
        )

    async def _plan(self, delivery: Delivery) -> None:
        if isinstance(delivery.event, ExecutionPlanEvent):
            self.breakers.on_plan()

    async def _result(self, delivery: Delivery) -> None:
        result = delivery.event
        if isinstance(result, ExecutionResultEvent):
            if result.wallet and not result.paper and self._balances is not None:
                self.wallets.add(Pubkey.from_bytes(result.wallet))  # live wallets only
            self._trip(self.breakers.on_result(result, time.time()))
            await self._save()

    async def _account(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, AccountEvent):
            now = time.time()
            seen = min(now, event.received_ns / 1e9) if event.received_ns else now
            self._trip(self.breakers.on_account(event.source, event.slot, now, seen))

    async def _metric(self, delivery: Delivery) -> None:
        if isinstance(delivery.event, MetricEvent):
            self._trip(self.breakers.on_metric(delivery.event))

    # ------------------------------------------------------------------ tripping
    def _trip(self, trip: Trip | None) -> None:
        if trip is None or self._latched or self.halted:
            return
        if not self.armed:
            if not self.would_trip[trip.breaker]:
                log.warning(
                    "breaker %s would trip (paper, not armed): %s", trip.breaker, trip.reason
                )
            self.would_trip[trip.breaker] += 1
            return
        self._latched = True
        self.trips[trip.breaker] += 1
        self.count(f"breaker trips: {trip.breaker}")
        metrics.BREAKER_TRIPS.labels(breaker=trip.breaker).inc()
        log.error("breaker %s tripped: %s", trip.breaker, trip.reason)
        task = asyncio.create_task(self._throw(trip), name=f"lstarb-trip-{trip.breaker}")
        self._tripping.add(task)
        task.add_done_callback(self._tripping.discard)

    async def _throw(self, trip: Trip) -> None:
        for attempt in range(5):
            try:
                await control.command(
                    self.bus, halted=True, reason=trip.reason, by=f"auto:{trip.breaker}"
                )
                return
            except Exception as exc:
                log.error("breaker %s: throwing the kill switch failed: %s", trip.breaker, exc)
                await asyncio.sleep(0.2 * (attempt + 1))
        self._latched = False  # let the next evidence try again
        self.degrade(f"breaker {trip.breaker} tripped but the kill switch could not be thrown")

    def summary(self) -> list[tuple[str, str]]:
        trips = ", ".join(f"{n} {b}" for b, n in sorted(self.trips.items())) or "none"
        if self.armed:
            return [("breaker trips", trips)]
        would = ", ".join(f"{n} {b}" for b, n in sorted(self.would_trip.items())) or "none"
        return [("breakers", "not armed (paper run)"), ("would have tripped", would)]
