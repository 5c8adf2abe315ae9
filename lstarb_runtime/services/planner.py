"""The planner service: OPPORTUNITIES -> validate, price, bound the loss, size -> EXECUTION.

Every opportunity is either turned into an ``ExecutionPlanEvent`` or rejected with a reason
(docs/planner.md). The service keeps its own market from the MARKET_DATA tape
(:class:`~lstarb_runtime.planner.market.Market`), so every leg is re-quoted on exactly what the
scanner saw, and decides with :class:`~lstarb_runtime.planner.core.PlanEngine`, the same code
a replay of a recording runs.

One durable consumer group (``[planner] durable``, default ``planner``): several planner
processes split the work, and a restarted one resumes where the group stopped. A plan is
published and acknowledged by the server before its opportunity is acknowledged; its
message id is derived from the plan id, which is deterministic from the opportunity, so an
opportunity delivered again (a crash between the two) is stored once on EXECUTION.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from lstarb_runtime import metrics
from lstarb_runtime.bus import Bus, Delivery, PublishAck, Settle
from lstarb_runtime.planner.core import Planned, Rejection
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.parts import assemble
from lstarb_runtime.services.base import Service
from lstarb_runtime.tape import Tape
from lstarb_sdk.events import AccountEvent, MetricEvent, OpportunityEvent

log = logging.getLogger("lstarb.planner")

RECEIVED_TO_PLAN: Final = "update received -> plan stored"
"""From the account update that set the opportunity off (its trace's origin) to the plan
acknowledged on EXECUTION, in any process on one clock."""
TAPE_WAIT: Final = "waited for the tape"
"""One wait of an opportunity for the planner's tape to reach its state (several per
opportunity at most ``tape_wait_ms`` in all)."""
DECIDED: Final = "opportunity -> decided (tape waits included)"
REJECTED_METRIC: Final = "planner.opportunities_rejected"
PLANNED_METRIC: Final = "planner.plans"
REJECTION_METRIC: Final = "planner.rejection"
"""One per rejected opportunity, on METRICS: labels ``opportunity_id``, ``reason``, ``detail``
(what ``lstarb explain`` reads; the counts above are for dashboards)."""
FEE_FAILURES_METRIC: Final = "planner.priority_fee_failures"
"""Failed reads of the recent-fee source, by ``kind`` (the error's class)."""
FIRST_FEE_READ_S: Final = 1.0
"""How long start-up waits for the first recent-fee read (then the configured price)."""


class MarketTape(Tape):
    """The tape feeding a planner's :class:`Market` (book, fair values, funding state)."""

    def __init__(self, bus: Bus, market: Market) -> None:
        super().__init__(bus, market.book)
        self.market = market

    async def _handle(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, AccountEvent):
            return
        self.read += 1
        if self.market.apply(event):
            self.applied += 1


class Planner(Service):
    """Opportunities in, plans (or reasons) out; see the module."""

    role: ClassVar[str] = "planner"
    stream_driven: ClassVar[bool] = True

    async def on_start(self) -> None:
        env = self.env
        self.settings = env.settings.planner
        parts = assemble(env.host, env.context, env.settings)
        self.parts = parts
        self.market, self.engine, self.fees = parts.market, parts.engine, parts.fees
        self.tape = MarketTape(self.bus, self.market)
        await self.tape.start()
        try:  # priced at the configured price until a slow node answers
            await asyncio.wait_for(self.fees.refresh(), FIRST_FEE_READ_S)
        except TimeoutError:
            log.warning("recent priority fees: no answer within %s s at start", FIRST_FEE_READ_S)
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.planned: Counter[str] = Counter()
        self._published: dict[tuple[str, str, str], int] = {}
        self._stage = metrics.stage("plan")
        self._validated: dict[str, Any] = {}
        """``opportunities_validated`` per strategy (a label lookup saved per plan)."""
        self._wait_s = self.settings.tape_wait_ms / 1000
        await self.consume("OPPORTUNITIES", self.handle, durable=self.settings.durable, gated=False)

    # ------------------------------------------------------------------ one opportunity
    async def handle(self, delivery: Delivery) -> Settle | None:
        """Decide on one opportunity; a plan is published and its acknowledgement returned:
        the opportunity is acknowledged once the plan is stored, and the next one is taken
        meanwhile (a publish that fails gives the opportunity back, as a raise would)."""
        opp = delivery.event
        if not isinstance(opp, OpportunityEvent):
            return None
        t0 = time.perf_counter_ns()
        trace = delivery.trace.header() if delivery.trace is not None else ""
        deadline = time.monotonic() + self._wait_s
        while True:
            left = deadline - time.monotonic()
            decision = self.engine.decide(
                opp,
                now_ns=time.time_ns(),
                traceparent=trace,
                halted=self.halted,
                patient=left > 0,
            )
            if not (isinstance(decision, Rejection) and decision.retry) or left <= 0:
                break
            self.count("waits for the tape")
            waited = time.perf_counter_ns()
            await self.market.moved(left)
            self.observe(TAPE_WAIT, time.perf_counter_ns() - waited)
        if isinstance(decision, Planned):
            self.observe(DECIDED, time.perf_counter_ns() - t0)
            self._sent(decision.plan)
            acked = await self.bus.publish_nowait(decision.plan)
            sent = time.perf_counter_ns() - t0
            self.observe("opportunity -> plan published", sent)
            self._stage.observe(sent / 1e9)
            origin = delivery.trace.origin_ns() if delivery.trace is not None else None
            acked.add_done_callback(
                functools.partial(self._stored, opp.strategy, decision.reevaluated, t0, origin)
            )
            # Not awaiting the acknowledgement, nothing here yields: without this the plans
            # of a whole fetched batch would leave together after the last decision, and in
            # one process the executor takes the plan before the next opportunity is decided.
            await asyncio.sleep(0)
            return acked  # stored before the opportunity is acknowledged (a failure: redelivery)
        self.rejected[(opp.strategy, decision.reason)] += 1
        await self.emit(
            MetricEvent(
                name=REJECTION_METRIC,
                value=1.0,
                labels={
                    "service": "planner",
                    "strategy": opp.strategy,
                    "reason": decision.reason,
                    "opportunity_id": opp.id,
                    "detail": decision.detail[:500],
                },
                time_ns=time.time_ns(),
            )
        )
        self.count(f"rejected: {decision.reason}")
        metrics.OPPORTUNITIES_REJECTED.labels(strategy=opp.strategy, reason=decision.reason).inc()
        log.info("opportunity %s rejected (%s): %s", opp.id, decision.reason, decision.detail)
        return None

    def _stored(
        self,
        strategy: str,
        reevaluated: bool,
        t0: int,
        origin: int | None,
        acked: asyncio.Future[PublishAck],
    ) -> None:
        """A plan's publish settled: counted once stored (a failure is redelivered and counted
        then), with the latencies up to its storage."""
        if acked.cancelled() or acked.exception() is not None:
            return
        self.observe("opportunity -> plan stored (acked)", time.perf_counter_ns() - t0)
        if origin is not None:
            self.observe(RECEIVED_TO_PLAN, time.time_ns() - origin)
        self.planned[strategy] += 1
        self.count("plans")
        if reevaluated:
            self.count("plans re-evaluated on a newer state or capped")
        validated = self._validated.get(strategy)
        if validated is None:
            validated = self._validated[strategy] = metrics.OPPORTUNITIES_VALIDATED.labels(
                strategy=strategy
            )
        validated.inc()

    # ------------------------------------------------------------------ background work
    async def on_run(self) -> None:
        """Refresh the priority fee and publish the counts on METRICS until stopped; then,
        once the consumers are stopped, publish the final counts and release the plugins."""
        fees = asyncio.create_task(self.fees.run(self.stopping), name="lstarb-planner-fees")
        try:
            while not self.stopping.is_set():
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.settings.metrics_interval_s)
                except TimeoutError:
                    await self.publish_counts()
        finally:
            while not self._consumers_stopped:
                await asyncio.sleep(0.02)
            fees.cancel()
            await asyncio.gather(fees, return_exceptions=True)
            await self.publish_counts()
            await self.tape.stop()
            try:
                await self.parts.close()
            except Exception:
                log.exception("planner: closing the submitters failed")

    async def publish_counts(self) -> None:
        """Every rejection count (by strategy and reason) and plan count that changed, as a
        ``MetricEvent`` on METRICS (``planner.opportunities_rejected``, ``planner.plans``)."""
        now = time.time_ns()
        rows: list[tuple[str, Mapping[str, str], int]] = [
            (REJECTED_METRIC, {"strategy": s, "reason": r}, n)
            for (s, r), n in self.rejected.items()
        ]
        rows += [(PLANNED_METRIC, {"strategy": s}, n) for s, n in self.planned.items()]
        rows += [(FEE_FAILURES_METRIC, {"kind": k}, n) for k, n in self.fees.failed.items()]
        for name, labels, count in rows:
            key = (name, labels.get("strategy", ""), labels.get("reason", labels.get("kind", "")))
            if self._published.get(key) == count:
                continue
            self._published[key] = count
            await self.emit(
                MetricEvent(
                    name=name,
                    value=float(count),
                    labels={"service": "planner", **labels},
                    time_ns=now,
                )
            )

    # ------------------------------------------------------------------ reporting
    def _held(self) -> str:
        """Whose rent the plans were spared, and on what assumption."""
        n = len(self.engine.held)
        if self.settings.token_accounts is not None:
            return f"{n} mints configured as held (token_accounts): no rent for them"
        if self.env.context.paper:
            return (
                f"paper wallets assumed prepared with the {n} mints of interest "
                "(lstarb_sdk.tokens): no rent for them"
            )
        return "none configured (token_accounts): rent for every route mint but SOL"

    def summary(self) -> list[tuple[str, str]]:
        if not hasattr(self, "engine"):
            return []
        c = self.stats.counters
        by_reason: Counter[str] = Counter()
        for (_, reason), n in self.rejected.items():
            by_reason[reason] += n
        rejected = ", ".join(f"{r} {n}" for r, n in by_reason.most_common()) or "none"
        rows = [
            (
                "plans",
                f"{c['plans']} ({c['plans re-evaluated on a newer state or capped']} "
                "re-evaluated or capped)",
            ),
            ("rejected", f"{sum(by_reason.values())} ({rejected})"),
            ("priority fee", f"{self.fees.price} micro-lamports/CU ({self.fees.origin})"),
            ("token accounts", self._held()),
            (
                "planner market",
                f"{len(self.market.book.pools)} pools, "
                f"{len(self.market.fair)} fair values, slot {self.market.slot}",
            ),
        ]
        if self.market.faults:
            faults = ", ".join(f"{k} {n}" for k, n in sorted(self.market.faults.items()))
            rows.append(("planner plugin faults", faults))
        return rows
