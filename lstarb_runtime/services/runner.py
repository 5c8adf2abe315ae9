"""Runs the selected roles in one process: start, run, stop on a signal, summarise.

Why here and not in each service: every service is started, stopped and reported the same
way (:class:`~lstarb_runtime.services.base.Service`), so the order of a run is written once:

1. connect the bus (starting our own nats-server when none answers and the run is paper);
2. follow SYSTEM for the kill switch; start every service (READY), then run them;
3. end when the services with intake of their own have played it out, ``--duration`` passes,
   a service faults, or SIGINT/SIGTERM arrives;
4. stop in pipeline order: each stage's intake first, and on a natural end each stream-driven
   stage is drained before it stops, so what one stage published the next one handles (a
   drained stage finishes its stop beside the next one's drain: :func:`stop_services`);
5. flush, call the plugins' ``lstarb_shutdown``, print the summary, stop what we started.

SIGINT and SIGTERM stop the same way; a second signal forces a quick exit (the embedded
nats-server is still stopped). Exit codes: 0 a clean stop (including SIGTERM), 130 after
Ctrl-C, 1 a run that failed or had nothing to do, 2 when what was asked cannot run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from lstarb_runtime import metrics
from lstarb_runtime.bus import Bus, BusError, PublishCounts, connect_bus
from lstarb_runtime.config import Settings
from lstarb_runtime.control.api import start_control_api
from lstarb_runtime.embedded.peer import EmbeddedPeer
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.auditor import Auditor
from lstarb_runtime.services.base import (
    NothingToDo,
    Service,
    ServiceEnv,
    ServiceState,
    StageTimer,
)
from lstarb_runtime.services.executor import Executor
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.planner import Planner
from lstarb_runtime.services.progress import Progress, Tally, sol, tally
from lstarb_runtime.services.scanner import Scanner
from lstarb_runtime.services.summary import (
    by_strategy,
    latency_rows,
    ledger_summary,
    next_steps,
    pipeline_text,
    strategy_text,
)
from lstarb_runtime.services.system import SystemManager
from lstarb_sdk import PluginContext

log = logging.getLogger("lstarb.run")

PIPELINE: Final = ("scanner", "planner", "executor", "auditor", "system")
"""Every role, in the order events flow (and the order a run stops them in)."""
ROLE_SERVICES: Final[dict[str, type[Service]]] = {
    "scanner": Scanner,
    "planner": Planner,
    "executor": Executor,
    "auditor": Auditor,
    "system": SystemManager,
}
"""The roles built so far; a new service registers its class here."""

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_SIGINT: Final = 128 + signal.SIGINT


class ForcedExit(SystemExit):
    """A second signal during shutdown: leave now (finally blocks still stop our server)."""


def roles_of(role: str) -> list[str]:
    return list(PIPELINE) if role == "all" else [role]


@dataclass
class RunPlan:
    """What ``lstarb run`` decided before any service starts."""

    host: PluginHost
    context: PluginContext
    settings: Settings
    plugins: list[str]
    echo: Callable[[str], None]
    summary_json: Path | None = None
    peer: EmbeddedPeer | None = None
    """The embedded local RPC peer, when this run started one."""
    tty: bool | None = None
    """Redraw one status line in place (None: when stdout is a terminal)."""
    shutdown_called: bool = False
    started_ns: int = field(default_factory=time.time_ns)

    def call_shutdown(self) -> None:
        """``lstarb_shutdown`` once per run, even after an error (plugins may hold resources)."""
        if not self.shutdown_called:
            self.shutdown_called = True
            self.host.call_each("lstarb_shutdown", context=self.context)


@dataclass
class RunReport:
    """How a run ended; ``exit_code`` is what ``lstarb run`` exits with."""

    plugins: list[str]
    roles: list[str]
    not_built: list[str]
    services: list[Service] = field(default_factory=list)
    bus_url: str = ""
    ended_by: str = ""
    problem: str = ""
    exit_code: int = EXIT_OK
    hook_errors: dict[str, int] = field(default_factory=dict)
    published: dict[str, PublishCounts] = field(default_factory=dict)
    """What the server made of this run's publishes, per stream (the bus's counts)."""
    tally: Tally = field(default_factory=Tally)
    refusals: dict[str, int] = field(default_factory=dict)
    """Why plans did not land (the executor's reasons, by kind)."""
    by_strategy: dict[str, dict[str, int]] = field(default_factory=dict)
    latency: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[str, Any] | None = None
    peer: dict[str, int] = field(default_factory=dict)
    metrics_url: str | None = None
    next: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, problem: str, code: int = EXIT_FAILED) -> None:
        if not self.problem:
            self.problem, self.exit_code = problem, code

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "ended_by": self.ended_by,
            "problem": self.problem,
            "plugins": self.plugins,
            "roles": self.roles,
            "not_built": self.not_built,
            "bus_url": self.bus_url,
            "hook_errors": self.hook_errors,
            "published": {stream: asdict(c) for stream, c in self.published.items()},
            "services": {s.role: s.report() for s in self.services},
            "seconds": round(self.seconds, 3),
            "pipeline": self.tally.to_json(),
            "rejected": self._planner_rejections(),
            "not_landed": self.refusals,
            "by_strategy": self.by_strategy,
            "pnl_lamports": self.tally.pnl_lamports,
            "ledger": self.ledger,
            "latency": self.latency,
            "peer": self.peer,
            "next": self.next,
        }

    def _planner_rejections(self) -> dict[str, int]:
        reasons: dict[str, int] = {}
        for service in self.services:
            for (_, reason), n in getattr(service, "rejected", {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
        return dict(sorted(reasons.items(), key=lambda kv: -kv[1]))

    def collect(self, plan: RunPlan) -> None:
        """The cross-service parts of the summary, once the services have stopped."""
        self.seconds = (time.time_ns() - plan.started_ns) / 1e9
        self.tally = tally(self.services)
        opportunities = self.published.get("OPPORTUNITIES")
        if opportunities is not None and self.tally.opportunities is not None:
            self.tally.distinct_opportunities = opportunities.acked - opportunities.duplicates
        self.by_strategy = by_strategy(self.services)
        self.latency = latency_rows(self.services)
        for service in self.services:
            self.refusals.update(getattr(service, "refusals", {}))
        if "auditor" in self.roles and any(s.role == "auditor" for s in self.services):
            self.ledger = ledger_summary(
                plan.settings, since_ns=plan.started_ns, paper=plan.context.paper
            )
        if plan.peer is not None:
            self.peer = plan.peer.report()
        self.next = next_steps(self.roles, self.metrics_url)


class Stopper:
    """SIGINT and SIGTERM: the first asks for a graceful stop, a second forces a quick exit."""

    SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.signum: int | None = None
        self.requested = asyncio.Event()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in self.SIGNALS:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self.signum is not None:
            self.echo(f"{name} again: quitting now")
            raise ForcedExit(128 + sig)
        self.signum = sig
        self.echo(f"{name}: stopping (finishing work in hand; {name} again quits at once)")
        self.requested.set()


_T = TypeVar("_T")


async def in_thread(fn: Callable[[], _T]) -> _T:
    """Run blocking plugin code (shutdown hooks) off the loop, in a daemon thread.

    Why not ``asyncio.to_thread``: a hook stuck there would hold the interpreter at exit
    (the default executor is joined); a daemon thread cannot, so a second signal still quits.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting task, which decides
            loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=target, name="lstarb-hooks", daemon=True).start()
    return await done


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


async def run_services(plan: RunPlan) -> RunReport:
    """Run the roles of ``plan.settings.run.role`` until they end or a signal stops them."""
    roles = roles_of(plan.settings.run.role)
    report = RunReport(
        plugins=plan.plugins,
        roles=[r for r in roles if r in ROLE_SERVICES],
        not_built=[r for r in roles if r not in ROLE_SERVICES],
    )
    loop = asyncio.get_running_loop()
    progress = Progress(plan.echo, tty=plan.tty)
    plan.echo = progress.echo  # messages clear the status line before they print
    stopper = Stopper(plan.echo)
    stopper.install(loop)
    try:
        if plan.settings.run.metrics_port is not None:
            server = metrics.serve(plan.settings.run.metrics_port)
            report.metrics_url = server.url
            plan.echo(f"metrics: {server.url}")
        if not report.roles:
            report.fail(f"nothing to do: the {', '.join(roles)} service is not built yet")
            return report
        nats = plan.settings.nats
        try:
            async with connect_bus(
                nats.url,
                embedded=nats.embedded,
                live=not plan.context.paper,
                store_dir=nats.data_dir,
                ack_wait=nats.ack_wait_s,
                local_delivery=plan.settings.run.local_delivery,
            ) as bus:
                report.bus_url = nats.url
                plan.echo(f"bus: {nats.url} (six streams ready)")
                try:
                    await _run(bus, plan, report, stopper, progress)
                finally:
                    await _finish(plan, report)
        except BusError as exc:
            report.fail(f"event bus: {exc}")
        return report
    finally:
        await _finish(plan, report)
        stopper.remove(loop)


async def _finish(plan: RunPlan, report: RunReport) -> None:
    """Shutdown hooks, then the summary: once, whichever way the run ended."""
    if plan.shutdown_called:
        return
    await in_thread(plan.call_shutdown)
    report.hook_errors = dict(plan.host.hook_errors)
    try:
        report.collect(plan)
    except Exception:  # the summary must still print what it has
        log.exception("collecting the summary failed")
    print_summary(report, plan.echo)
    if plan.summary_json is not None:
        plan.summary_json.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")


async def _run(
    bus: Bus, plan: RunPlan, report: RunReport, stopper: Stopper, progress: Progress
) -> None:
    halt = HaltSwitch()
    env = ServiceEnv(bus, plan.host, plan.context, plan.settings, halt, plan.echo)
    await halt.follow(bus)
    api = None
    try:
        api = await start_control_api(plan.settings, halt, bus, lambda: report.services, plan.echo)
        report.services = [ROLE_SERVICES[role](env) for role in report.roles]
        started: list[Service] = []
        for service in report.services:
            try:
                await service.start()
            except Exception:
                break
            started.append(service)
        if len(started) == len(report.services):
            drawing = asyncio.create_task(progress.run(report.services), name="lstarb-progress")
            try:
                await _until_end(report, plan, stopper)
            finally:
                drawing.cancel()
                await asyncio.gather(drawing, return_exceptions=True)
        await stop_services(report.services, drain=not stopper.signum)
        _outcome(report, stopper)
    except BusError as exc:
        report.fail(f"event bus: {exc}")
    finally:
        if api is not None:
            await api.close()
        await halt.stop()
        report.published = {s: c for s, c in bus.stats.streams.items() if c.sent}


async def stop_services(services: Sequence[Service], *, drain: bool) -> None:
    """Stop in pipeline order: a service with intake of its own (the scanner) stops first
    and whole; then each stream-driven stage, drained first when ``drain`` (a natural end),
    so what the stage before it published is handled.

    Why a drained stage's stop runs beside the next stage's drain instead of before it: the
    stop waits out the stage's pull request on the server (about a second) and then has
    nothing to hand on (drained, with its intake stopping), so the next stage need not wait
    for it; a run used to end a second per stage after its last work. Without a drain (a
    signal) the stages stop together: what one still publishes while the next stops stays
    on its stream for the next run, as it did when they stopped one after another (a
    stopping consumer gives back what arrives).
    """
    stopping: list[asyncio.Task[None]] = []
    for service in services:
        if not service.stream_driven:
            await service.stop()
            continue
        if drain and service.state is ServiceState.RUNNING:
            await service.drain()
        stopping.append(asyncio.create_task(service.stop(), name=f"lstarb-stop-{service.role}"))
        await asyncio.sleep(0)  # its stop begins (intake first) before the next stage drains
    await asyncio.gather(*stopping)


async def _until_end(report: RunReport, plan: RunPlan, stopper: Stopper) -> None:
    runs = {asyncio.create_task(s.run(), name=f"lstarb-{s.role}"): s for s in report.services}
    own_intake = {t for t, s in runs.items() if not s.stream_driven}
    stop = asyncio.create_task(stopper.requested.wait())
    waiting: set[asyncio.Task[Any]] = {stop, *runs}
    timer = None
    if plan.settings.run.duration:
        timer = asyncio.create_task(asyncio.sleep(plan.settings.run.duration))
        waiting.add(timer)
    try:
        while True:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            waiting -= done
            if stop in done:
                report.ended_by = signal.Signals(stopper.signum or signal.SIGTERM).name
                return
            if timer in done:
                report.ended_by = f"--duration {plan.settings.run.duration:g}s"
                plan.echo(f"{report.ended_by} reached")
                return
            if any(runs[t].state is ServiceState.FAULTED for t in done if t in runs):
                report.ended_by = "a service faulted"
                return
            if own_intake and not own_intake & waiting:
                report.ended_by = "the data sources ended"
                return
    finally:
        stop.cancel()
        if timer is not None:
            timer.cancel()


def _outcome(report: RunReport, stopper: Stopper) -> None:
    for service in report.services:
        if service.state is ServiceState.FAULTED:
            error = service.fault_error
            if isinstance(error, NothingToDo):
                report.fail(
                    f"nothing to do: {service.reason}", EXIT_USAGE if error.usage else EXIT_FAILED
                )
            else:
                report.fail(f"{service.role} failed: {service.reason}")
    if not report.problem and stopper.signum == signal.SIGINT:
        report.exit_code = EXIT_SIGINT


def print_summary(report: RunReport, echo: Callable[[str], None]) -> None:
    """What the run did, what the server confirmed, how long each stage took, and how it ended."""
    echo("")
    echo("summary")

    def row(label: str, value: str) -> None:
        echo(f"  {label:<18} {value}")

    roles = ", ".join(report.roles) or "none"
    if report.not_built:
        roles += f"  ({', '.join(report.not_built)}: not built yet)"
    row("services", roles)
    for service in report.services:
        for label, value in service.summary():
            row(label, value)
    if "planner" in report.not_built:
        row("plans", "0  (planner service: not built yet)")
    if "executor" in report.not_built:
        row("simulated P&L", "0 lamports  (executor service: not built yet)")
    for stream, counts in report.published.items():
        label = "market data" if stream == "MARKET_DATA" else stream.lower()
        stored = counts.acked - counts.duplicates
        text = f"{stored} events on {stream} ({counts.duplicates} de-duplicated)"
        if counts.sent != counts.acked or counts.retried:
            text += (
                f"; sent {counts.sent}, {counts.retried} re-sent, {counts.failed} refused, "
                f"{counts.pending} unconfirmed"
            )
        row(label, f"{text} via {report.bus_url or 'no bus'}")
    for service in report.services:
        state = str(service.state)
        if service.degradations:
            state += f" (degraded: {'; '.join(service.degradations)})"
        elif service.reason:
            state += f" ({service.reason})"
        row(f"{service.role} state", state)
    if report.hook_errors:
        row(
            "plugin hook errors",
            ", ".join(f"{p} {n}" for p, n in sorted(report.hook_errors.items())),
        )
    if report.ended_by:
        row("ended by", f"{report.ended_by} after {report.seconds:.1f}s")
    _print_pipeline(report, row)
    _print_latency(report, echo)
    if report.services and report.next:
        echo("  next")
        for step in report.next:
            echo(f"    {step}")
    if report.problem:
        echo("")
        echo(report.problem)


def _print_pipeline(report: RunReport, row: Callable[[str, str], None]) -> None:
    """Counts per stage, why plans were refused, P&L by strategy, the ledger, the peer."""
    flow = pipeline_text(report.tally)
    if flow:
        row("pipeline", flow)
    rejected = report._planner_rejections()
    if rejected:
        row("planner rejected", ", ".join(f"{r} {n}" for r, n in rejected.items()))
    if report.refusals:
        refusals = sorted(report.refusals.items(), key=lambda kv: -kv[1])
        row("not landed", ", ".join(f"{r} {n}" for r, n in refusals))
    for i, line in enumerate(strategy_text(report.by_strategy)):
        row("by strategy" if i == 0 else "", line)
    if report.tally.pnl_lamports is not None:
        row("paper P&L" if "executor" in report.roles else "P&L", sol(report.tally.pnl_lamports))
    ledger = report.ledger
    if ledger is not None:
        if "error" in ledger:
            row("ledger", f"not read: {ledger['error']}")
        else:
            row(
                "ledger",
                f"{ledger['trades']} trades recorded by this run, P&L "
                f"{sol(ledger['pnl_lamports'])} ({ledger['where']})",
            )
    if report.peer:
        peer = report.peer
        seed = peer.get("seed")
        repeat = (
            f" (the same market again: lstarb run --seed {seed}; on this bus its plans are "
            "then already decided)"
            if peer.get("seed_drawn")
            else ""
        )
        row(
            "local peer",
            (f"seed {seed}{repeat}, " if seed is not None else "")
            + f"{peer.get('slots', 0)} slots, {peer.get('trades', 0)} market trades, "
            f"{peer.get('notifications', 0)} notifications, {peer.get('requests', 0)} requests"
            + (
                f", {peer['shredstream_entries']} ShredStream entries served"
                if "shredstream_entries" in peer
                else ""
            ),
        )


def _print_latency(report: RunReport, echo: Callable[[str], None]) -> None:
    """The seed's budget beside what we measured, then every stage we timed (microseconds)."""
    if report.latency:
        echo("  latency against the seed's budget      count    p50 ms    p99 ms  budget")
        for r in report.latency:
            mark = "" if r["within"] is None else ("  ok" if r["within"] else "  OVER")
            echo(
                f"    {r['stage']:<34} {r['count']:>6} {r['p50_ms']:>9.3f} {r['p99_ms']:>9.3f}"
                f"  {r['budget']}{mark}"
            )
    timer = StageTimer()
    for service in report.services:
        for stage, samples in service.stats.timer.samples.items():
            timer.samples.setdefault(f"{service.role}: {stage}", []).extend(samples)
    if timer.samples:
        echo("  latency per stage  (count, p50 us, p99 us)")
        for stage, count, p50, p99 in timer.table():
            echo(f"    {stage:<44} {count:>6} {p50:>9.1f} {p99:>9.1f}")
