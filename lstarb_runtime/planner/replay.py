"""``lstarb replay --role planner --tape DIR``: a recording played through the planner, offline.

The recording (``lstarb record --stream MARKET_DATA --stream OPPORTUNITIES``) holds the tape
and the opportunities. The tape is played in its order, and each opportunity where the
scanner detected it (:func:`merged`): each account event enters the planner's market, each
opportunity is decided by the same :class:`~lstarb_runtime.planner.core.PlanEngine` the
service runs, at ``now`` = the time the server stored its message, with the ``traceparent``
it was published with. Nothing reads the clock or the network (the priority fee is
``[planner] compute_unit_price``), so the same recording gives byte-identical plans.

Plans go to ``--out`` as a recording of EXECUTION (one record per plan, its message id kept,
a plan id once: as JetStream stores them); the summary says what was planned and rejected.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click

from lstarb_runtime.bus.recording import (
    Record,
    RecordingError,
    RecordingWriter,
    read_records,
    recorded_streams,
)
from lstarb_runtime.bus.streams import msg_id_of, subject_of
from lstarb_runtime.planner.core import Planned
from lstarb_runtime.planner.parts import PlannerParts
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import AccountEvent, OpportunityEvent

NEEDED: Final = ("MARKET_DATA", "OPPORTUNITIES")


@dataclass
class ReplayReport:
    tape_events: int = 0
    opportunities: int = 0
    plans: int = 0
    duplicates: int = 0
    """Opportunities whose plan id was planned already (JetStream would store it once)."""
    malformed: int = 0
    reevaluated: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    out: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tape_events": self.tape_events,
            "opportunities": self.opportunities,
            "plans": self.plans,
            "duplicates": self.duplicates,
            "malformed": self.malformed,
            "reevaluated": self.reevaluated,
            "rejected": dict(self.rejected.most_common()),
            "out": str(self.out) if self.out else None,
        }


Step = tuple[AccountEvent, None] | tuple[OpportunityEvent, Record]


def merged(path: Path, report: ReplayReport) -> Iterator[Step]:
    """The tape in its order, each opportunity where the scanner detected it.

    The tape keeps the scanner's order (stream order); an opportunity goes before the first
    account event the scanner received after detecting it (``received_ns`` and
    ``detected_ns`` are both read from the scanner's clock; the server's store times of two
    streams are not ordered with each other).
    """
    held = recorded_streams(path)
    missing = [s for s in NEEDED if s not in held]
    if missing:
        raise RecordingError(
            f"{path} holds {', '.join(held)}; the planner replay needs {' and '.join(NEEDED)} "
            "(lstarb record --stream MARKET_DATA --stream OPPORTUNITIES)"
        )
    tape = _decoded(read_records(path, "MARKET_DATA"), AccountEvent, report)
    pending: tuple[AccountEvent, Record] | None = next(tape, None)
    for rec in read_records(path, "OPPORTUNITIES"):
        try:
            opp = OpportunityEvent.decode(rec.data)
        except DecodeError:
            report.malformed += 1
            continue
        while pending is not None and pending[0].received_ns <= opp.detected_ns:
            yield pending[0], None
            pending = next(tape, None)
        yield opp, rec
    while pending is not None:
        yield pending[0], None
        pending = next(tape, None)


def _decoded(
    records: Iterator[Record], kind: type[AccountEvent], report: ReplayReport
) -> Iterator[tuple[AccountEvent, Record]]:
    for rec in records:
        if rec.data[4:8] != kind.FILE_IDENTIFIER:
            continue  # pool states: summaries, derived from the tape
        try:
            yield kind.decode(rec.data), rec
        except DecodeError:
            report.malformed += 1


def replay_planner(parts: PlannerParts, tape: Path, out: Path | None = None) -> ReplayReport:
    """Play ``tape`` through the planner; plans to ``out`` (a new recording) when given."""
    report = ReplayReport(out=out)
    writer = RecordingWriter(out, streams=("EXECUTION",)) if out is not None else None
    planned: set[str] = set()
    market, engine = parts.market, parts.engine
    try:
        for event, rec in merged(tape, report):
            if rec is None:
                assert isinstance(event, AccountEvent)
                report.tape_events += 1
                market.apply(event)
                continue
            assert isinstance(event, OpportunityEvent)
            report.opportunities += 1
            decision = engine.decide(
                event, now_ns=rec.time_ns, traceparent=rec.headers.get("traceparent", "")
            )
            if not isinstance(decision, Planned):
                report.rejected[decision.reason] += 1
                continue
            plan = decision.plan
            if plan.id in planned:
                report.duplicates += 1
                continue
            planned.add(plan.id)
            report.plans += 1
            report.reevaluated += decision.reevaluated
            if writer is not None:
                writer.write(
                    Record(
                        report.plans,
                        plan.created_ns,
                        subject_of(plan),
                        plan.encode(),
                        {"Nats-Msg-Id": msg_id_of(plan)},
                    ),
                    "EXECUTION",
                )
    finally:
        if writer is not None:
            writer.close()
    return report


@click.command("replay-planner")
@click.option(
    "--tape",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="a recording of MARKET_DATA and OPPORTUNITIES",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="write the plans here (a new recording of EXECUTION)",
)
@click.option("--plugins", "plugins", help="comma-separated plugin names (default: all installed)")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option("--json", "as_json", is_flag=True, help="the summary as JSON on stdout")
def planner_replay(
    tape: Path, out: Path | None, plugins: str | None, config_path: Path | None, as_json: bool
) -> None:
    """Play a recording through the planner, offline: the same recording, the same plans."""
    from lstarb_runtime.app import prepare
    from lstarb_runtime.cli import UsageFailure, _host
    from lstarb_runtime.config import load_config
    from lstarb_runtime.planner.parts import assemble
    from lstarb_sdk.errors import ConfigError, LstarbError

    def say(line: str) -> None:
        click.echo(line, err=as_json)

    try:
        loaded = load_config(config_path, overrides={"run.plugins": plugins, "run.role": "planner"})
        host = _host()
        _, context = prepare(host, loaded, echo=say)
        parts = assemble(host, context, loaded.settings, recent_fees=False)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    except LstarbError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = replay_planner(parts, tape, out)
    except RecordingError as exc:
        raise UsageFailure(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    rejected = ", ".join(f"{r} {n}" for r, n in report.rejected.most_common()) or "none"
    say(f"tape events      {report.tape_events}")
    say(f"opportunities    {report.opportunities}")
    say(f"plans            {report.plans} ({report.reevaluated} re-evaluated or capped)")
    say(f"rejected         {sum(report.rejected.values())} ({rejected})")
    if report.duplicates or report.malformed:
        say(f"skipped          {report.duplicates} duplicates, {report.malformed} malformed")
    say(f"plans written to {out}" if out else "plans not written (--out DIR writes them)")
