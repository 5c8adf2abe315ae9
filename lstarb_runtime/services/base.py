"""The one base every lstarb service is built on: scanner, planner, executor, auditor, system.

Why one base (STYLE.md, after nautilus_trader's components): the runner starts, stops and
reports every service the same way, and the plumbing a service needs around its own work is
written once, here:

- an explicit life cycle (:class:`ServiceState`) driven by the same methods for every
  service: :meth:`Service.start`, :meth:`Service.run`, :meth:`Service.stop`, with
  :meth:`Service.degrade` / :meth:`Service.recover` and faults recorded, never raised at the
  runner;
- durable consumption with one ack policy (:meth:`Service.consume`): an event is acknowledged
  after its handler returned (or, when it returned a :data:`~lstarb_runtime.bus.Settle`,
  once that completed: the planner's plan stored); a handler that raises gets it again
  (the bus redelivers, up to ``MAX_DELIVER``); a malformed message is counted and skipped
  (the bus terminates it);
- publishing (:meth:`Service.emit`, :meth:`Service.publish`) counted per stream; what the
  server acknowledged is the bus's count (``bus.stats``), and publishes it has not confirmed
  (or refused) degrade the service, never kill it;
- graceful shutdown: stop intake, let the work in hand finish, flush;
- counters and stage latencies (:attr:`Service.stats`), health (:meth:`Service.health`);
- the halted state of the kill switch (:class:`~lstarb_runtime.services.halt.HaltSwitch`):
  while halted, handlers registered as ``gated`` do not run.

A service differs from the others only in what it does with an event: see
``docs/services.md`` for how one is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final

from lstarb_runtime import metrics
from lstarb_runtime.bus import Bus, BusError, Consumer, Delivery, PublishAck, Settle
from lstarb_runtime.bus.streams import stream_of
from lstarb_runtime.bus.tracing import TraceContext
from lstarb_runtime.config import Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk import PluginContext
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import EventModel

log = logging.getLogger("lstarb.service")

FLUSH_EVERY: Final = 1024
"""Publishes between checks of the server's acknowledgements (:meth:`Service.emit`)."""
STOP_GRACE: Final = 10.0
"""Seconds a service's own work may take to finish after its intake stopped."""


class ServiceState(StrEnum):
    """Where a service is in its life. The runner reports it; transitions are checked."""

    INITIALIZED = "initialized"  # built, nothing acquired
    READY = "ready"  # on_start done: components built, consumers started
    RUNNING = "running"  # doing its work
    DEGRADED = "degraded"  # still working, with a named impairment (a source lost, acks late)
    STOPPING = "stopping"  # intake stopped; finishing the work in hand, flushing
    STOPPED = "stopped"  # done; everything it published is confirmed (or reported)
    FAULTED = "faulted"  # could not work; the reason says why


_NEXT: Final[dict[ServiceState, frozenset[ServiceState]]] = {
    ServiceState.INITIALIZED: frozenset(
        {ServiceState.READY, ServiceState.STOPPED, ServiceState.FAULTED}
    ),
    ServiceState.READY: frozenset(
        {ServiceState.RUNNING, ServiceState.STOPPING, ServiceState.FAULTED}
    ),
    ServiceState.RUNNING: frozenset(
        {ServiceState.DEGRADED, ServiceState.STOPPING, ServiceState.FAULTED}
    ),
    ServiceState.DEGRADED: frozenset(
        {ServiceState.RUNNING, ServiceState.STOPPING, ServiceState.FAULTED}
    ),
    ServiceState.STOPPING: frozenset({ServiceState.STOPPED, ServiceState.FAULTED}),
    ServiceState.STOPPED: frozenset(),
    ServiceState.FAULTED: frozenset(),
}


class LifecycleError(LstarbError):
    """A life-cycle method called in a state that does not allow it (a runner bug)."""


class NothingToDo(LstarbError):
    """The service has no work: the message says why and what to change.

    ``usage``: the cause is what the user asked for (exit code 2), not the data (exit 1).
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class StageTimer:
    """Latency samples per stage, in nanoseconds."""

    samples: dict[str, list[int]] = field(default_factory=dict)

    def add(self, stage: str, ns: int) -> None:
        self.samples.setdefault(stage, []).append(ns)

    def table(self) -> list[tuple[str, int, float, float]]:
        """(stage, count, p50 µs, p99 µs) per stage."""
        rows = []
        for stage, values in self.samples.items():
            ordered = sorted(values)
            p50 = ordered[len(ordered) // 2] / 1000
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
            rows.append((stage, len(values), p50, p99))
        return rows


@dataclass
class ServiceStats:
    """Counters, stage latencies and events published per stream, of one service.

    What the server made of the publishes (acknowledged, de-duplicated, retried, refused) is
    counted once, by the bus, for the whole process: ``bus.stats``.
    """

    counters: Counter[str] = field(default_factory=Counter)
    timer: StageTimer = field(default_factory=StageTimer)
    published: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Health:
    """A service's health at a glance (the control API and ``lstarb status`` will serve it)."""

    role: str
    state: ServiceState
    halted: bool
    reason: str
    counters: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.state in (ServiceState.READY, ServiceState.RUNNING, ServiceState.STOPPED)


@dataclass
class ServiceEnv:
    """What every service of one process shares: the bus, the plugins, settings, the switch."""

    bus: Bus
    host: PluginHost
    context: PluginContext
    settings: Settings
    halt: HaltSwitch
    echo: Callable[[str], None] = print
    market_stopped: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once this process's scanner has stopped taking account updates: its tape readers
    (the executor's landing simulator) will see no later slot from it."""


Handler = Callable[[Delivery], Awaitable[Settle | None]]


def _seen(sent: asyncio.Future[PublishAck]) -> None:
    """Mark a publish's outcome as read: the bus reports failures itself, at ``flush``."""
    if not sent.cancelled():
        sent.exception()


class Service:
    """Base of every service. Subclasses set :attr:`role` and override the ``on_*`` methods.

    The runner drives each service through the same calls::

        await service.start()   # INITIALIZED -> READY   (on_start)
        await service.run()     # READY -> RUNNING, returns when its intake ends (on_run)
        await service.stop()    # -> STOPPING -> STOPPED (on_stop, consumers, own work, flush)

    ``run`` never raises: a failure leaves the service FAULTED with the reason, and the runner
    reports it. :meth:`drain` waits until the service's consumers have handled everything
    their streams hold, so a run that ends stops each stage only after the one before it.
    """

    role: ClassVar[str]
    stream_driven: ClassVar[bool] = False
    """True when all the service's work comes from bus streams (planner, executor, auditor):
    it never ends by itself, it is drained and stopped when the run ends. False for a service
    with intake of its own (the scanner's data sources), whose run ends when that intake does."""

    def __init__(self, env: ServiceEnv) -> None:
        self.env = env
        self.bus = env.bus
        self.state = ServiceState.INITIALIZED
        self.reason = ""
        self.stats = ServiceStats()
        self.consumers: list[Consumer] = []
        """Every consumer this service started (kept after stop, for their counts)."""
        self.degradations: list[str] = []
        """Every impairment reported, in order (the state shows only the current one)."""
        self.fault_error: BaseException | None = None
        """The exception that faulted the service (None while it has not)."""
        self.stopping = asyncio.Event()
        """Set when :meth:`stop` begins: a work loop in :meth:`on_run` ends when it is set."""
        self._since_flush = 0
        self._flushing: asyncio.Task[None] | None = None
        self._sent_meters: dict[type[EventModel], tuple[str, Any]] = {}
        self._consumers_stopped = False
        self._run_task: asyncio.Task[None] | None = None
        env.halt.listen(self._halt_changed)
        metrics.SERVICE_STATE.labels(service=self.role).state(self.state.value)

    # ------------------------------------------------------------------ what a service writes
    async def on_start(self) -> None:
        """Build components and start consumers (:meth:`consume`). Raise to fail start-up."""

    async def on_run(self) -> None:
        """The service's own work loop; the default waits until the service is stopped
        (right for a service whose work arrives through :meth:`consume`)."""
        await self.stopping.wait()

    async def on_stop(self) -> None:
        """Stop intake of your own (close data sources); consumers are stopped by the base."""

    def on_halt(self, reason: str) -> None:
        """The kill switch was thrown (the base already gates handlers); extra reactions here."""

    def on_resume(self, reason: str) -> None:
        """The kill switch was released."""

    def summary(self) -> list[tuple[str, str]]:
        """Rows (label, value) this service adds to the run's summary."""
        return []

    # ------------------------------------------------------------------ life cycle
    def _to(self, state: ServiceState, reason: str = "") -> None:
        if state not in _NEXT[self.state]:
            raise LifecycleError(f"{self.role}: cannot go from {self.state} to {state}")
        log.debug("%s: %s -> %s %s", self.role, self.state, state, reason)
        self.state = state
        metrics.SERVICE_STATE.labels(service=self.role).state(state.value)
        if reason:
            self.reason = reason

    async def start(self) -> None:
        """INITIALIZED -> READY. A failure leaves the service FAULTED and is raised."""
        try:
            await self.on_start()
        except Exception as exc:
            await self._stop_consumers()
            self._fault(exc)
            raise
        self._to(ServiceState.READY)

    async def run(self) -> None:
        """READY -> RUNNING; returns when :meth:`on_run` does (or the service faulted)."""
        self._to(ServiceState.RUNNING)
        self._run_task = asyncio.current_task()
        try:
            await self.on_run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fault(exc)
        finally:
            self._run_task = None

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop intake, let the work in hand finish (at most ``grace`` s), flush; -> STOPPED.

        Safe to call in any state: a faulted service still releases what it holds and stays
        FAULTED; a stopped one is left alone.
        """
        if self.state in (ServiceState.STOPPED, ServiceState.STOPPING):
            return
        if self.state is ServiceState.INITIALIZED:  # never started: nothing to release
            self._to(ServiceState.STOPPED)
            return
        faulted = self.state is ServiceState.FAULTED
        if not faulted:
            self._to(ServiceState.STOPPING)
        self.stopping.set()
        try:
            await self.on_stop()
        except Exception as exc:
            log.error("%s: stopping intake failed", self.role, exc_info=exc)
        await self._stop_consumers()
        await self._finish_run(grace)
        await self.flush()
        if self._flushing is not None:  # the final flush answered for everything it waits on
            self._flushing.cancel()
        if not faulted:
            self._to(ServiceState.STOPPED)

    async def _finish_run(self, grace: float) -> None:
        task = self._run_task
        if task is None or task.done() or task is asyncio.current_task():
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning(
                "%s: work did not finish within %.0fs of stopping; cancelled", self.role, grace
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _stop_consumers(self) -> None:
        if self._consumers_stopped:
            return
        self._consumers_stopped = True
        # All at once: each stop waits out its pull (about a second), and an executor has one
        # consumer per wallet, so stopping them one after another made shutdown crawl.
        await asyncio.gather(
            *(consumer.stop() for consumer in self.consumers), return_exceptions=True
        )

    def degrade(self, reason: str) -> None:
        """Keep working, impaired: the reason is logged, shown in health and the summary."""
        log.warning("%s degraded: %s", self.role, reason)
        self.degradations.append(reason)
        if self.state is ServiceState.RUNNING:
            self._to(ServiceState.DEGRADED, reason)

    def recover(self) -> None:
        """DEGRADED -> RUNNING once the impairment is gone."""
        if self.state is ServiceState.DEGRADED:
            self._to(ServiceState.RUNNING, "")
            self.reason = ""

    def _fault(self, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, LstarbError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, LstarbError):
            log.error("%s faulted", self.role, exc_info=exc)
        self.fault_error = exc
        self.state = ServiceState.FAULTED
        self.reason = reason
        metrics.SERVICE_STATE.labels(service=self.role).state(self.state.value)

    # ------------------------------------------------------------------ the kill switch
    @property
    def halted(self) -> bool:
        return self.env.halt.halted

    def _halt_changed(self, halted: bool, reason: str) -> None:
        try:
            if halted:
                self.on_halt(reason)
            else:
                self.on_resume(reason)
        except Exception:
            log.exception("%s: reacting to the kill switch failed", self.role)

    # ------------------------------------------------------------------ consuming
    async def consume(
        self,
        stream: str,
        handler: Handler,
        *,
        durable: str | None = None,
        filter_subject: str | None = None,
        gated: bool = True,
        batch: int | None = None,
    ) -> Consumer:
        """Hand every event of ``stream`` to ``handler``; acknowledged once it returns, or, when
        it returns a :data:`~lstarb_runtime.bus.Settle` (a publish's acknowledgement), once
        that completes, while the next event is already handled.

        ``durable`` defaults to the role: every process running this role shares one consumer
        group, so each event is handled by one of them, and a restarted service resumes where
        the group stopped. ``gated`` handlers are not called while the kill switch is thrown:
        the event is acknowledged and counted as skipped (new work stops everywhere).
        """
        label = f"handle {stream}"
        name = durable or self.role
        consumed = metrics.EVENTS_CONSUMED.labels(stream=stream, consumer=name)
        failed = metrics.HANDLER_ERRORS.labels(stream=stream, consumer=name, kind="handler")

        async def handle(delivery: Delivery) -> Settle | None:
            consumed.inc()
            if gated and self.halted:
                self.count(f"{stream}: skipped while halted")
                return None
            t0 = time.perf_counter_ns()
            try:
                settle = await handler(delivery)
            except Exception:
                failed.inc()
                raise  # the bus redelivers it (up to MAX_DELIVER)
            self.stats.timer.add(label, time.perf_counter_ns() - t0)
            return settle  # the consumer acknowledges the event once it completes

        consumer = await self.bus.consume(
            stream, name, handle, filter_subject=filter_subject, batch=batch
        )
        self.consumers.append(consumer)
        return consumer

    async def drain(self, timeout: float = STOP_GRACE, poll: float = 0.05) -> bool:
        """Wait until this service's consumers have nothing pending; False on timeout."""
        if not self.consumers:
            return True
        mine = {(c.stream, c.durable) for c in self.consumers}
        deadline = time.monotonic() + timeout
        while True:
            states = await self.bus.stream_states()
            pending = sum(n for s in states for d, n in s.consumers.items() if (s.name, d) in mine)
            if pending == 0:
                return True
            if time.monotonic() >= deadline:
                log.warning("%s: %d events still pending after %.0fs", self.role, pending, timeout)
                return False
            await asyncio.sleep(poll)

    # ------------------------------------------------------------------ publishing
    async def emit(self, event: EventModel, trace: TraceContext | None = None) -> None:
        """Publish without waiting for the acknowledgement (the hot path).

        The bus keeps the publish until the server acknowledges it (re-sending it with its
        message id); every :data:`FLUSH_EVERY` publishes the answers are checked beside the
        hot path (one check at a time: the next event does not wait for them), so a refused
        or unconfirmed publish degrades the service within a bounded number of events.
        """
        self._sent(event)
        sent = await self.bus.publish_nowait(event, trace=trace)
        sent.add_done_callback(_seen)
        self._since_flush += 1
        if self._since_flush >= FLUSH_EVERY and self._flushing is None:
            self._since_flush = 0
            self._flushing = asyncio.create_task(self._flush_behind(), name=f"{self.role} flush")

    async def _flush_behind(self) -> None:
        try:
            await self.flush()
        finally:
            self._flushing = None

    async def publish(self, event: EventModel) -> PublishAck:
        """Publish and wait for the server's acknowledgement (plans, results: not the hot path)."""
        self._sent(event)
        return await self.bus.publish(event)

    def _sent(self, event: EventModel) -> None:
        """Count one publish: in the service's stats and in ``events_published``."""
        kind = type(event)
        meter = self._sent_meters.get(kind)
        if meter is None:
            stream = stream_of(event).name
            meter = self._sent_meters[kind] = (
                stream,
                metrics.EVENTS_PUBLISHED.labels(stream=stream, type=kind.__name__),
            )
        stream, published = meter
        self.stats.published[stream] += 1
        published.inc()

    async def flush(self) -> None:
        """Wait for the answers to everything emitted; a refusal or a timeout degrades.

        Unconfirmed publishes are not lost: the bus keeps re-sending them.
        """
        self._since_flush = 0
        try:
            unconfirmed = await self.bus.flush()
        except BusError as exc:
            self.degrade(f"publishes refused: {exc}")
            return
        if unconfirmed:
            self.degrade(f"publishes not confirmed: {unconfirmed} (the bus keeps re-sending)")

    # ------------------------------------------------------------------ metrics and health
    def count(self, name: str, n: int = 1) -> None:
        self.stats.counters[name] += n

    def observe(self, stage: str, ns: int) -> None:
        self.stats.timer.add(stage, ns)

    def health(self) -> Health:
        return Health(self.role, self.state, self.halted, self.reason, dict(self.stats.counters))

    def _consumed(self) -> dict[str, dict[str, int]]:
        """Counters per ``<stream>/<group>``, summed over the group's consumers (the executor
        runs one per wallet)."""
        out: dict[str, Counter[str]] = {}
        for c in self.consumers:
            out.setdefault(f"{c.stream}/{c.durable}", Counter()).update(vars(c.stats))
        return {key: dict(counts) for key, counts in out.items()}

    def report(self) -> dict[str, Any]:
        """The service's part of ``--summary-json``."""
        return {
            "state": str(self.state),
            "reason": self.reason,
            "degradations": list(self.degradations),
            "counters": dict(self.stats.counters),
            "published": dict(self.stats.published),
            "consumed": self._consumed(),
            "latency_us": {
                stage: {"count": n, "p50": p50, "p99": p99}
                for stage, n, p50, p99 in self.stats.timer.table()
            },
            "rows": dict(self.summary()),
        }
