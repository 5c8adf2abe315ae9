"""The auditor service: EXECUTED -> the P&L ledger, every result exactly once.

Why a service of its own: the books must be kept whatever the other stages do (the kill
switch stops new trades, never the bookkeeping), by a process that may run anywhere on the
cluster and restart at will. Each result is written by
:class:`~lstarb_runtime.ledger.recorder.TradeRecorder` and only then acknowledged, so

- a crash between the write and the acknowledgement means the stream delivers the result
  again, and the ledger, keyed by (plan id, outcome), finds it there and writes nothing;
- a ledger database that cannot be reached holds the result (retried here, with back-off,
  the service DEGRADED meanwhile) instead of letting the bus give up on it after
  ``MAX_DELIVER`` deliveries: a result is never dropped because PostgreSQL restarted;
- a result the ledger cannot take (a field out of range) is logged, counted and acknowledged:
  it stays on EXECUTED (seven days) for inspection.

Several auditor processes share one durable consumer (``auditor``) and may share one
PostgreSQL ledger; a SQLite ledger (the default, ``[auditor] ledger_path``) belongs to one host.

The plan of each result is looked up when that is cheap (:class:`PlanIndex`, which follows
EXECUTION): results of this runtime carry their strategy, legs and fees themselves (schema
version 3); for an older executor's result the plan fills them in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter, OrderedDict
from typing import Any, ClassVar, Final

from lstarb_runtime.bus import Bus, BusError, Consumer, Delivery
from lstarb_runtime.ledger import Ledger, LedgerError, ledger_url
from lstarb_runtime.ledger.recorder import TradeRecorder, start_of_day_ns
from lstarb_runtime.services.base import STOP_GRACE, Service
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent

log = logging.getLogger("lstarb.auditor")

DURABLE: Final = "auditor"
"""The consumer group of every auditor process on EXECUTED."""
PLAN_INDEX_SIZE: Final = 100_000
"""Plans remembered by id (EXECUTION keeps an hour of them; the oldest are forgotten first)."""
PLAN_WAIT_S: Final = 2.0
"""How long a fresh result lacking strategy or legs waits for its plan to be indexed."""
FRESH_NS: Final = 60 * 10**9
"""A result completed this recently may have a plan not indexed yet; older ones do not wait."""
RETRY_FIRST_S: Final = 0.5
RETRY_MAX_S: Final = 10.0
REFRESH_S: Final = 60.0
"""How often the P&L gauges are recomputed without a new trade (today's restarts at 00:00 UTC)."""


def ledger_url_of(settings: Any) -> str:
    """The ledger of ``[auditor]``: ``database_url`` when set, else the SQLite ``ledger_path``."""
    secret = settings.database_url
    return ledger_url(secret.get_secret_value() if secret else None, settings.ledger_path)


class PlanIndex:
    """Plans by id, from EXECUTION: a reader of its own (:meth:`Bus.follow`), read from the
    stream's start.

    Each auditor process needs every plan, so the reader is never shared, and it is gone from
    the server when the auditor stops or dies.
    """

    def __init__(self, bus: Bus, size: int = PLAN_INDEX_SIZE) -> None:
        self.bus = bus
        self.size = size
        self.plans: OrderedDict[str, ExecutionPlanEvent] = OrderedDict()
        self._consumer: Consumer | None = None
        self._added = asyncio.Event()

    async def _handle(self, delivery: Delivery) -> None:
        plan = delivery.event
        if not isinstance(plan, ExecutionPlanEvent):
            return
        self.plans[plan.id] = plan
        self.plans.move_to_end(plan.id)
        while len(self.plans) > self.size:
            self.plans.popitem(last=False)
        self._added.set()

    async def start(self, *, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Follow EXECUTION; return once what it holds now is indexed (or ``timeout`` passed:
        the index keeps filling, and results carry what the ledger needs anyway)."""
        self._consumer = consumer = await self.bus.follow(
            "EXECUTION", "auditor-plans", self._handle
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {s.name: s for s in await self.bus.stream_states()}
            if states["EXECUTION"].consumers.get(consumer.durable, 0) == 0:
                return
            await asyncio.sleep(poll)
        log.warning("auditor: EXECUTION not fully indexed within %gs; continuing", timeout)

    async def find(self, plan_id: str, wait: float = 0.0) -> ExecutionPlanEvent | None:
        """The plan, waiting at most ``wait`` seconds for it to be indexed."""
        deadline = time.monotonic() + wait
        while True:
            plan = self.plans.get(plan_id)
            remaining = deadline - time.monotonic()
            if plan is not None or remaining <= 0:
                return plan
            self._added.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._added.wait(), remaining)

    async def stop(self) -> None:
        if self._consumer is None:
            return
        await self._consumer.stop()  # a reader: deleted from the server
        self._consumer = None


class Auditor(Service):
    """Execution results in, ledger rows out; see the module."""

    role: ClassVar[str] = "auditor"
    stream_driven: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: Counter[str] = Counter()
        """recorded / duplicate / invalid, as the ledger answered."""
        self.ledger: Ledger | None = None
        self.plans: PlanIndex | None = None
        self._closed = False
        self._today: list[tuple[str, str]] = []

    async def on_start(self) -> None:
        url = ledger_url_of(self.env.settings.auditor)
        self.ledger = await asyncio.to_thread(Ledger.open, url)
        self.recorder = TradeRecorder(self.ledger, consumer=DURABLE)
        await self._refresh()
        self.plans = PlanIndex(self.bus)
        await self.plans.start()
        # not gated: a halt stops new trades, never the books of the ones already made
        await self.consume("EXECUTED", self.handle, durable=DURABLE, gated=False)

    async def on_run(self) -> None:
        """Keep the P&L gauges right between trades (today's P&L starts again at midnight)."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), REFRESH_S)
            if not self.stopping.is_set():
                try:
                    await self._refresh()
                except Exception as exc:  # a gauge left stale never stops the books
                    log.warning("auditor: P&L gauges not refreshed: %s", exc)

    async def _refresh(self) -> None:
        for paper in (True, False):
            await asyncio.to_thread(self.recorder.refresh, paper)

    # ------------------------------------------------------------------ one result
    async def handle(self, delivery: Delivery) -> None:
        result = delivery.event
        if not isinstance(result, ExecutionResultEvent):
            self.count("not a result")
            return
        plan = await self._plan_of(result)
        delay = RETRY_FIRST_S
        while True:
            try:
                outcome = await self.recorder.record_one(
                    result, stream_seq=delivery.sequence, plan=plan
                )
            except (LedgerError, sqlite3.OperationalError) as exc:  # unreachable, locked
                if self.stopping.is_set():
                    raise  # not acknowledged: the next auditor records it
                if delay == RETRY_FIRST_S:
                    self.degrade(f"ledger: {exc}")
                self.count("ledger write retries")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            break
        self.recover()
        self.outcomes[outcome] += 1
        self.count(f"results {outcome}")
        if outcome == "recorded":
            log.debug(
                "recorded plan %s (%s) from EXECUTED %d",
                result.plan_id,
                result.status,
                delivery.sequence,
            )

    async def _plan_of(self, result: ExecutionResultEvent) -> ExecutionPlanEvent | None:
        if self.plans is None:
            return None
        complete = bool(result.strategy and result.legs)
        fresh = time.time_ns() - result.completed_ns < FRESH_NS
        plan = await self.plans.find(result.plan_id, 0.0 if complete or not fresh else PLAN_WAIT_S)
        self.count("plans found" if plan is not None else "plans not found")
        return plan

    # ------------------------------------------------------------------ stop and report
    async def stop(self, grace: float = STOP_GRACE) -> None:
        """The base's stop (the result in hand is written and acknowledged), then the plan
        index and the ledger are closed."""
        await super().stop(grace)
        if self._closed:
            return
        self._closed = True
        if self.plans is not None:
            with contextlib.suppress(BusError):
                await self.plans.stop()
        if self.ledger is not None:
            with contextlib.suppress(LedgerError):
                self._today = await asyncio.to_thread(self._pnl_today, self.ledger)
            self.ledger.close()

    @staticmethod
    def _pnl_today(ledger: Ledger) -> list[tuple[str, str]]:
        today = start_of_day_ns(time.time_ns())
        rows = []
        for paper in (True, False):
            pnl = ledger.realized_lamports(paper=paper, since_ns=today)
            label = f"P&L today {'paper' if paper else 'live'}"
            rows.append((label, f"{pnl} lamports ({pnl / 1e9:.9f} SOL)"))
        return rows

    def summary(self) -> list[tuple[str, str]]:
        rows = [
            (
                "ledger",
                f"{self.outcomes['recorded']} recorded, {self.outcomes['duplicate']} already "
                f"there, {self.outcomes['invalid']} invalid"
                + (f" ({self.ledger.where})" if self.ledger is not None else ""),
            )
        ]
        return rows + self._today
