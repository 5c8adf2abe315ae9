"""Writes the Grafana dashboards of lstarb (``dashboards/*.json``) from the panel lists below.

    python dashboards/build.py            # rewrite the JSON files
    python dashboards/build.py --check    # exit 1 if a JSON file differs from what this writes

Why generated: five dashboards share the datasource, the ``job`` variable, the layout and the
panel boilerplate; written out by hand they would be near-copies that drift. The JSON is
committed (Grafana provisioning reads files), and a test checks it is this script's output and
runs every panel's query against a real Prometheus scraping lstarb's metrics.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "lstarb-prometheus"}
J = '{job=~"$job"}'
"""The label selector every query carries (the dashboard's ``job`` variable)."""


def sel(**labels: str) -> str:
    """``{job=~"$job",k="v",...}``."""
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return '{job=~"$job"' + extra + "}"


def rate(metric: str, by: str = "", selector: str = J) -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{selector}[$__rate_interval]))"


def quantile(q: float, metric: str, by: str, selector: str = J) -> str:
    grouping = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, {rate(metric + '_bucket', grouping, selector)})"


def ratio(numerator: str, denominator: str, by: str = "") -> str:
    return f"{rate(numerator, by)} / {rate(denominator, by)}"


@dataclass
class Panel:
    title: str
    targets: list[tuple[str, str]]  # (expr, legend)
    kind: str = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8
    options: dict[str, Any] = field(default_factory=dict)


def stat(title: str, expr: str, unit: str = "short", description: str = "") -> Panel:
    return Panel(title, [(expr, "")], "stat", unit, description, width=6, height=4)


def dashboard(uid: str, title: str, description: str, panels: list[Panel]) -> dict[str, Any]:
    out = []
    x = y = row_height = 0
    for i, p in enumerate(panels, start=1):
        if x + p.width > 24:
            x, y, row_height = 0, y + row_height, 0
        out.append(
            {
                "id": i,
                "type": p.kind,
                "title": p.title,
                "description": p.description,
                "datasource": DATASOURCE,
                "gridPos": {"x": x, "y": y, "w": p.width, "h": p.height},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": p.options,
                "targets": [
                    {
                        "refId": chr(ord("A") + n),
                        "datasource": DATASOURCE,
                        "expr": expr,
                        "legendFormat": legend,
                    }
                    for n, (expr, legend) in enumerate(p.targets)
                ],
            }
        )
        x += p.width
        row_height = max(row_height, p.height)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["lstarb"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "job",
                    "label": "job",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": "label_values(lstarb_build_info, job)",
                    "definition": "label_values(lstarb_build_info, job)",
                    "refresh": 2,
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "current": {"text": "All", "value": "$__all"},
                }
            ]
        },
        "links": [
            {"type": "dashboards", "tags": ["lstarb"], "asDropdown": True, "title": "lstarb"}
        ],
        "panels": out,
    }


OVERVIEW = dashboard(
    "lstarb-overview",
    "lstarb: overview",
    "Is it running, is it halted, is it making money: the services, the bus and the books.",
    [
        stat(
            "Kill switch engaged",
            f"max(lstarb_kill_switch_engaged{J})",
            description="1: every service is halted (lstarb kill / a breaker).",
        ),
        stat(
            "Services running",
            f"count(lstarb_service_state{sel(lstarb_service_state='running')} == 1)",
        ),
        stat(
            "Realized P&L today, live (SOL)",
            f"sum(lstarb_profit_realized_today_sol{sel(mode='live')})",
            "none",
        ),
        stat(
            "Realized P&L today, paper (SOL)",
            f"sum(lstarb_profit_realized_today_sol{sel(mode='paper')})",
            "none",
        ),
        Panel(
            "Events published per second",
            [(rate("events_published_total", "stream"), "{{stream}}")],
            unit="ops",
        ),
        Panel(
            "Events consumed per second",
            [
                (
                    rate("lstarb_events_consumed_total", "stream, consumer"),
                    "{{stream}} / {{consumer}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Consumer lag (messages)",
            [
                (
                    f"max by (stream, consumer) (lstarb_consumer_lag_messages{J})",
                    "{{stream}} / {{consumer}}",
                )
            ],
        ),
        Panel(
            "Handler errors per second",
            [
                (
                    rate("lstarb_handler_errors_total", "stream, consumer, kind"),
                    "{{stream}} / {{consumer}}: {{kind}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Breaker trips (last hour)",
            [(f"sum by (breaker) (increase(lstarb_breaker_trips_total{J}[1h]))", "{{breaker}}")],
        ),
        Panel(
            "Plugin errors per second",
            [(rate("lstarb_plugin_errors_total", "plugin, hook"), "{{plugin}}.{{hook}}")],
            unit="ops",
        ),
        Panel(
            "CPU per process",
            [(f"rate(process_cpu_seconds_total{J}[$__rate_interval])", "{{job}} {{instance}}")],
            unit="percentunit",
        ),
        Panel(
            "Resident memory per process",
            [(f"process_resident_memory_bytes{J}", "{{job}} {{instance}}")],
            unit="bytes",
        ),
    ],
)

BUDGET = "The seed's budget: detection < 100 ms, submission < 100 ms, confirmation 0.4-2 s."

LATENCY = dashboard(
    "lstarb-latency",
    "lstarb: latency",
    "Time per pipeline stage: update, detect, plan, build, sign, submit, land. " + BUDGET,
    [
        Panel(
            "p99 per stage",
            [(quantile(0.99, "lstarb_stage_latency_seconds", "stage"), "{{stage}}")],
            unit="s",
            description=BUDGET,
        ),
        Panel(
            "p50 per stage",
            [(quantile(0.5, "lstarb_stage_latency_seconds", "stage"), "{{stage}}")],
            unit="s",
        ),
        Panel(
            "Mean per stage",
            [
                (
                    ratio(
                        "lstarb_stage_latency_seconds_sum",
                        "lstarb_stage_latency_seconds_count",
                        "stage",
                    ),
                    "{{stage}}",
                )
            ],
            unit="s",
        ),
        Panel(
            "Stage throughput",
            [(rate("lstarb_stage_latency_seconds_count", "stage"), "{{stage}}")],
            unit="ops",
        ),
        Panel(
            "Execution duration p50 / p99 (plan received -> outcome)",
            [
                (quantile(0.5, "execution_duration_ms", "submitter"), "p50 {{submitter}}"),
                (quantile(0.99, "execution_duration_ms", "submitter"), "p99 {{submitter}}"),
            ],
            unit="ms",
        ),
        Panel(
            "p99 per stage over the last 5 minutes",
            [
                (
                    "histogram_quantile(0.99, sum by (le, stage) "
                    f"(rate(lstarb_stage_latency_seconds_bucket{J}[5m])))",
                    "{{stage}}",
                )
            ],
            kind="bargauge",
            unit="s",
            options={"displayMode": "gradient", "orientation": "horizontal"},
        ),
    ],
)

FUNNEL = dashboard(
    "lstarb-funnel",
    "lstarb: opportunities funnel",
    "From detected to validated to executed to landed, and why opportunities were refused.",
    [
        Panel(
            "Funnel over the time range",
            [
                (f"sum(increase(lstarb_opportunities_detected_total{J}[$__range]))", "detected"),
                (f"sum(increase(opportunities_validated_total{J}[$__range]))", "validated"),
                (f"sum(increase(lstarb_executions_total{J}[$__range]))", "executed"),
                (f"sum(increase(executions_succeeded_total{J}[$__range]))", "succeeded"),
            ],
            kind="bargauge",
            options={"displayMode": "gradient", "orientation": "horizontal"},
        ),
        Panel(
            "Rejections by reason over the time range",
            [
                (
                    f"sum by (reason) (increase(lstarb_opportunities_rejected_total{J}[$__range]))",
                    "{{reason}}",
                ),
            ],
            kind="piechart",
        ),
        Panel(
            "Detected per second by strategy",
            [(rate("lstarb_opportunities_detected_total", "strategy"), "{{strategy}}")],
            unit="ops",
        ),
        Panel(
            "Validated per second by strategy",
            [(rate("opportunities_validated_total", "strategy"), "{{strategy}}")],
            unit="ops",
        ),
        Panel(
            "Rejected per second by reason",
            [
                (
                    rate("lstarb_opportunities_rejected_total", "strategy, reason"),
                    "{{strategy}}: {{reason}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Share validated",
            [
                (
                    ratio("opportunities_validated_total", "lstarb_opportunities_detected_total"),
                    "validated / detected",
                )
            ],
            unit="percentunit",
        ),
    ],
)

EXECUTION = dashboard(
    "lstarb-execution",
    "lstarb: execution and P&L",
    "Outcomes, landing rate per submitter, realized P&L (paper and live never added), wallets.",
    [
        stat("Realized P&L, live (SOL)", f"sum(profit_realized_sol{sel(mode='live')})", "none"),
        stat("Realized P&L, paper (SOL)", f"sum(profit_realized_sol{sel(mode='paper')})", "none"),
        stat(
            "Landing rate",
            ratio("lstarb_bundles_landed_total", "lstarb_bundles_submitted_total"),
            "percentunit",
        ),
        stat(
            "Ledger duplicates skipped",
            f"sum(increase(lstarb_ledger_duplicates_total{J}[$__range]))",
            description="Results delivered again and recorded once (exactly-once at work).",
        ),
        Panel(
            "Executions per second by outcome",
            [(rate("lstarb_executions_total", "outcome, mode"), "{{outcome}} ({{mode}})")],
            unit="ops",
        ),
        Panel(
            "Landing rate by submitter",
            [
                (
                    ratio(
                        "lstarb_bundles_landed_total", "lstarb_bundles_submitted_total", "submitter"
                    ),
                    "{{submitter}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Succeeded per second",
            [(rate("executions_succeeded_total", "submitter, mode"), "{{submitter}} ({{mode}})")],
            unit="ops",
        ),
        Panel(
            "Realized P&L (SOL)",
            [(f"sum by (mode) (profit_realized_sol{J})", "{{mode}}")],
            unit="none",
        ),
        Panel(
            "Realized P&L today (SOL)",
            [(f"sum by (mode) (lstarb_profit_realized_today_sol{J})", "{{mode}}")],
            unit="none",
        ),
        Panel(
            "Trades recorded per second",
            [(rate("lstarb_trades_recorded_total", "outcome, mode"), "{{outcome}} ({{mode}})")],
            unit="ops",
        ),
        Panel(
            "Wallet SOL balance",
            [(f"max by (wallet) (lstarb_wallet_balance_sol{J})", "{{wallet}}")],
            unit="none",
        ),
        Panel(
            "Wallet token balances",
            [(f"max by (wallet, mint) (lstarb_wallet_token_balance{J})", "{{wallet}} {{mint}}")],
            unit="none",
        ),
        Panel(
            "Kill switch",
            [
                (f"max(lstarb_kill_switch_engaged{J})", "engaged"),
                (
                    f"time() - max(lstarb_kill_switch_changed_timestamp_seconds{J})",
                    "seconds since last change",
                ),
            ],
        ),
    ],
)

PROBLEM_KINDS = (
    "disconnects|lag_events|malformed|rpc_errors|unknown_subscriptions|out_of_order_slots"
    "|timeouts|http_errors|connection_errors"
)
"""Endpoint event kinds that are trouble (the rpc plugin's PROBLEMS, disconnects, lag events)."""

SOURCES = dashboard(
    "lstarb-data-sources",
    "lstarb: data sources",
    "Freshness and agreement of the data sources (what the staleness and slot-drift breakers"
    " watch).",
    [
        Panel(
            "Seconds since the last account update",
            [(f"max by (source) (lstarb_data_source_last_update_age_seconds{J})", "{{source}}")],
            unit="s",
        ),
        Panel(
            "Slot per source",
            [(f"max by (source) (lstarb_data_source_slot{J})", "{{source}}")],
            unit="none",
        ),
        Panel(
            "Slots behind the most advanced source",
            [
                (
                    f"scalar(max(lstarb_data_source_slot{J}))"
                    f" - max by (source) (lstarb_data_source_slot{J})",
                    "{{source}}",
                )
            ],
            unit="none",
        ),
        Panel(
            "Account updates per second",
            [(rate("lstarb_data_source_updates_total", "source"), "{{source}}")],
            unit="ops",
        ),
        Panel(
            "Errors per second",
            [(rate("lstarb_data_source_errors_total", "source"), "{{source}}")],
            unit="ops",
        ),
        Panel(
            "Update stage p99",
            [(quantile(0.99, "lstarb_stage_latency_seconds", "", sel(stage="update")), "update")],
            unit="s",
        ),
        Panel(
            "Last update (time since, from the timestamp)",
            [
                (
                    "time() - max by (source)"
                    f" (lstarb_data_source_last_update_timestamp_seconds{J})",
                    "{{source}}",
                )
            ],
            unit="s",
        ),
        Panel(
            "Endpoints: slots behind the freshest endpoint of their source",
            [
                (
                    f"max by (source) (lstarb_data_source_endpoint_slot{J}) - on (source)"
                    f" group_right max by (source, endpoint) (lstarb_data_source_endpoint_slot{J})",
                    "{{source}} {{endpoint}}",
                )
            ],
            unit="none",
            description="Per endpoint of a source with several (DataSource.endpoint_health).",
        ),
        Panel(
            "Endpoints lagging (1) or disconnected (1)",
            [
                (
                    f"max by (source, endpoint) (lstarb_data_source_endpoint_lagging{J})",
                    "lagging {{source}} {{endpoint}}",
                ),
                (
                    f"1 - min by (source, endpoint) (lstarb_data_source_endpoint_connected{J})",
                    "disconnected {{source}} {{endpoint}}",
                ),
            ],
            unit="none",
        ),
        Panel(
            "Endpoint updates per second",
            [
                (
                    rate(
                        "lstarb_data_source_endpoint_events_total",
                        "source, endpoint",
                        sel(kind="updates"),
                    ),
                    "{{source}} {{endpoint}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Endpoint problems per second, by kind",
            [
                (
                    rate(
                        "lstarb_data_source_endpoint_events_total",
                        "source, endpoint, kind",
                        '{job=~"$job",kind=~"' + PROBLEM_KINDS + '"}',
                    ),
                    "{{source}} {{endpoint}}: {{kind}}",
                )
            ],
            unit="ops",
            description="Bad replies, timeouts, dropped connections, lag events, per endpoint.",
        ),
        Panel(
            "LST/SOL pools: premium (+) or discount (-) to fair value",
            [(f"max by (lst, pool) (lstarb_pool_premium_bps{J})", "{{lst}} {{pool}}")],
            unit="none",
            description="Each pool's SOL per LST against what the LST's program pays for it,"
            " in basis points (published with MARKET_DATA pool states; at most 256 pools).",
            width=24,
        ),
    ],
)

DASHBOARDS = {
    "overview.json": OVERVIEW,
    "latency.json": LATENCY,
    "funnel.json": FUNNEL,
    "execution.json": EXECUTION,
    "data-sources.json": SOURCES,
}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, doc in DASHBOARDS.items():
        path = HERE / name
        text = render(doc)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python dashboards/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
