"""The parts of a run's summary that look across services: the pipeline's counts, P&L by
strategy, what the ledger recorded, latency against the seed's budget, where to look next.

Why the seed's budget: it is the latency target this architecture was designed to (seed.md,
"Latency Budget Validation"); printing each measured stage beside its line of that table
shows at a glance which stage is within it and by how much.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from lstarb_runtime.config import Settings
from lstarb_runtime.services.base import Service, StageTimer
from lstarb_runtime.services.progress import Tally, sol

log = logging.getLogger("lstarb.run")


@dataclass(frozen=True)
class Budget:
    """One line of the seed's latency budget and the stages of ours that it covers."""

    name: str
    budget: str
    """The seed's target, as the seed states it."""
    limit_ms: float | None
    """Its upper bound in ms (None: no bound we can meet or miss here)."""
    role: str
    stages: tuple[str, ...]
    """Our stage names (summed per event when several, e.g. build + sign)."""
    what: str


BUDGET: Final = (
    Budget(
        "market event detection",
        "< 50 ms",
        50.0,
        "scanner",
        ("update received -> on the tape",),
        "account update received -> applied and on MARKET_DATA",
    ),
    Budget(
        "quote calculation",
        "< 10 ms",
        10.0,
        "scanner",
        ("strategies",),
        "every strategy watching the changed pools, quoting their routes",
    ),
    Budget(
        "opportunity validation",
        "< 20 ms",
        20.0,
        "planner",
        ("opportunity -> plan stored (acked)",),
        "re-quote, costs, risk, sizing; the plan stored on EXECUTION",
    ),
    Budget(
        "transaction building",
        "< 20 ms",
        20.0,
        "executor",
        ("build", "sign"),
        "plan taken -> v0 transaction built and signed",
    ),
    Budget(
        "jito submission",
        "< 100 ms",
        100.0,
        "executor",
        ("submit",),
        "sent to the submitter (live only: paper runs send nothing)",
    ),
    Budget(
        "confirmation",
        "400 ms - 2 s",
        2000.0,
        "executor",
        ("land",),
        "signed -> outcome (paper: the landing simulator at the landing slot)",
    ),
    Budget(
        "total (detect -> submit)",
        "< 200 ms",
        200.0,
        "executor",
        ("update received -> signed",),
        "account update received -> signed transaction ready to send",
    ),
)


def _stage_samples(service: Service, stages: Sequence[str]) -> list[int]:
    samples = service.stats.timer.samples
    series = [samples.get(stage, []) for stage in stages]
    if len(series) == 1:
        return list(series[0])
    n = min((len(s) for s in series), default=0)  # stages of one event, recorded in order
    return [sum(s[i] for s in series) for i in range(n)]


def latency_rows(services: Sequence[Service]) -> list[dict[str, Any]]:
    """One row per budget line this process measured: count, p50, p99 (ms), the budget."""
    roles = {s.role: s for s in services}
    rows = []
    for line in BUDGET:
        service = roles.get(line.role)
        if service is None:
            continue
        values = _stage_samples(service, line.stages)
        if not values:
            continue
        timer = StageTimer()
        timer.samples["x"] = values
        _, count, p50_us, p99_us = timer.table()[0]
        p99_ms = p99_us / 1000
        rows.append(
            {
                "stage": line.name,
                "count": count,
                "p50_ms": round(p50_us / 1000, 3),
                "p99_ms": round(p99_ms, 3),
                "budget": line.budget,
                "within": None if line.limit_ms is None else p99_ms <= line.limit_ms,
                "measures": line.what,
            }
        )
    return rows


def by_strategy(services: Sequence[Service]) -> dict[str, dict[str, int]]:
    """Opportunities, plans and P&L (lamports) per strategy, from the roles in this process."""
    roles = {s.role: s for s in services}
    table: dict[str, dict[str, int]] = {}

    def add(column: str, counts: Counter[str] | dict[str, int]) -> None:
        for strategy, n in counts.items():
            table.setdefault(strategy, {})[column] = int(n)

    if "scanner" in roles:
        add("opportunities", getattr(roles["scanner"], "by_strategy", {}))
    if "planner" in roles:
        add("plans", getattr(roles["planner"], "planned", {}))
    if "executor" in roles:
        add("pnl_lamports", getattr(roles["executor"], "pnl_by_strategy", {}))
    return dict(sorted(table.items()))


def ledger_summary(settings: Settings, *, since_ns: int, paper: bool) -> dict[str, Any]:
    """What the ledger holds of this run: trades completed since it started, and their P&L."""
    from lstarb_runtime.ledger import Ledger, LedgerError, LedgerNotFound, TradeFilter, ledger_url

    secret = settings.auditor.database_url
    url = ledger_url(secret.get_secret_value() if secret else None, settings.auditor.ledger_path)
    try:
        ledger = Ledger.open(url, create=False)
    except LedgerNotFound:
        return {"where": url, "trades": 0, "pnl_lamports": 0, "by_strategy": {}}
    except (LedgerError, OSError) as exc:
        log.warning("the summary could not read the ledger: %s", exc)
        return {"where": url, "error": str(exc)}
    try:
        rows = ledger.pnl(("strategy",), TradeFilter(since_ns=since_ns, paper=paper))
        where = ledger.where
    finally:
        ledger.close()
    strategies: Counter[str] = Counter()
    trades = 0
    for row in rows:
        strategies[row.group["strategy"]] += row.realized_profit
        trades += row.trades
    return {
        "where": where,
        "trades": trades,
        "pnl_lamports": sum(strategies.values()),
        "by_strategy": dict(strategies),
    }


def pipeline_text(t: Tally) -> str:
    """The counts per stage, in the order events flow."""
    parts = []
    if t.pools is not None:
        parts.append(f"{t.pools} pools")
    if t.updates is not None:
        parts.append(f"{t.updates} updates")
    if t.opportunities is not None:
        distinct = t.distinct_opportunities
        new = f" ({distinct} new on OPPORTUNITIES)" if distinct is not None else ""
        parts.append(f"{t.opportunities} opportunities{new}")
    if t.plans is not None:
        parts.append(f"{t.plans} plans ({t.rejected or 0} rejected)")
    if t.executions is not None:
        outcomes = ", ".join(f"{n} {s}" for s, n in sorted(t.outcomes.items())) or "none"
        parts.append(f"{t.executions} executions ({outcomes})")
    if t.recorded is not None:
        parts.append(f"{t.recorded} recorded")
    return " -> ".join(parts)


def strategy_text(table: dict[str, dict[str, int]]) -> list[str]:
    lines = []
    for strategy, row in table.items():
        bits = []
        if "opportunities" in row:
            bits.append(f"{row['opportunities']} opportunities")
        if "plans" in row:
            bits.append(f"{row['plans']} plans")
        if "pnl_lamports" in row:
            bits.append(f"P&L {sol(row['pnl_lamports'])}")
        lines.append(f"{strategy}: {', '.join(bits)}")
    return lines


def next_steps(roles: Sequence[str], metrics_url: str | None) -> list[str]:
    """Where to look next, for what this run did."""
    steps = []
    if "auditor" in roles or "executor" in roles:
        steps.append("lstarb pnl                  P&L from the ledger (by day, strategy, route)")
    if "planner" in roles or "executor" in roles:
        steps.append("lstarb explain ID           one opportunity's path: plan, outcome, reasons")
    steps.append("lstarb status               every service, the kill switch, the streams")
    steps.append("lstarb streams / lstarb tail EXECUTED   what is on the six streams")
    if metrics_url:
        steps.append(f"{metrics_url}   Prometheus metrics (dashboards/: Grafana)")
    else:
        steps.append("--metrics-port 9464         Prometheus metrics; dashboards/ holds Grafana's")
    return steps


def now_ns() -> int:
    return time.time_ns()
