"""Every Prometheus metric lstarb reports, in one registry, and the exporter that serves it.

Why one module: the dashboards in ``dashboards/`` and the services must agree on names, types
and labels, and a test checks every panel against the metrics defined here. Names follow the
seed's list where it has one (``events_published_total``, ``opportunities_validated_total``,
``executions_succeeded_total``, ``execution_duration_ms``, ``profit_realized_sol``); every other
metric is ``lstarb_*``.

Hot paths bind their label values once and keep the child (``STAGE_LATENCY.labels("detect")``
or :func:`stage`): ``labels()`` on every call costs a dictionary lookup under a lock, about as
much again as the recording itself (see ``docs/performance.md``).

A process serves the registry once, on 127.0.0.1 unless told otherwise: :func:`serve`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from lstarb_runtime.logs import REDACTOR
from lstarb_sdk.datasource import DataSource
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.version import SDK_API_VERSION, __version__

log = logging.getLogger("lstarb.metrics")

# ``*_created`` series (one per counter and histogram child) double what a scrape carries and no
# dashboard reads them; counter resets are visible without them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
"""The registry every lstarb metric lives in (not prometheus_client's global one)."""

for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

STAGES: Final = ("update", "detect", "plan", "build", "sign", "submit", "land")
"""Pipeline stages with a latency histogram: account update applied, opportunity detected,
plan validated and sized, transaction built, signed, submitted, landed (confirmed)."""

LATENCY_BUCKETS_S: Final = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""10 µs (an account update) to 10 s (a slow confirmation): every stage on one scale."""

EXECUTION_BUCKETS_MS: Final = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)

SERVICE_STATES: Final = (
    "initialized",
    "ready",
    "running",
    "stopping",
    "stopped",
    "degraded",
    "faulted",
)

# ----------------------------------------------------------------------------- the seed's names

EVENTS_PUBLISHED: Final = Counter(
    "events_published",
    "Events published, by stream and event type (events out).",
    ["stream", "type"],
    registry=REGISTRY,
)
OPPORTUNITIES_VALIDATED: Final = Counter(
    "opportunities_validated",
    "Opportunities that passed every planner check and became a plan.",
    ["strategy"],
    registry=REGISTRY,
)
EXECUTIONS_SUCCEEDED: Final = Counter(
    "executions_succeeded",
    "Executions that landed (live) or would have landed (paper).",
    ["submitter", "mode"],
    registry=REGISTRY,
)
EXECUTION_DURATION_MS: Final = Histogram(
    "execution_duration_ms",
    "Plan received by the executor -> outcome known, in milliseconds.",
    ["submitter", "mode"],
    buckets=EXECUTION_BUCKETS_MS,
    registry=REGISTRY,
)
PROFIT_REALIZED_SOL: Final = Gauge(
    "profit_realized_sol",
    "Realized profit in SOL over the whole ledger (trades whose base mint is SOL).",
    ["mode"],
    registry=REGISTRY,
)

# ----------------------------------------------------------------------------- the bus

EVENTS_CONSUMED: Final = Counter(
    "lstarb_events_consumed",
    "Events handed to a consumer's handler, by stream and durable consumer (events in).",
    ["stream", "consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG: Final = Gauge(
    "lstarb_consumer_lag_messages",
    "Messages a durable consumer has not yet handled (pending plus unacknowledged).",
    ["stream", "consumer"],
    registry=REGISTRY,
)
HANDLER_ERRORS: Final = Counter(
    "lstarb_handler_errors",
    "Events whose handler raised (redelivered up to the bus's limit) or that were malformed.",
    ["stream", "consumer", "kind"],
    registry=REGISTRY,
)

# ----------------------------------------------------------------------------- latency

STAGE_LATENCY: Final = Histogram(
    "lstarb_stage_latency_seconds",
    "Time spent in one pipeline stage (see STAGES), in seconds.",
    ["stage"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)

# ----------------------------------------------------------------------------- the funnel

OPPORTUNITIES_DETECTED: Final = Counter(
    "lstarb_opportunities_detected",
    "Opportunities a strategy detected and the scanner published.",
    ["strategy"],
    registry=REGISTRY,
)
OPPORTUNITIES_REJECTED: Final = Counter(
    "lstarb_opportunities_rejected",
    "Opportunities the planner refused, by reason (below_min_profit, stale_state, ...).",
    ["strategy", "reason"],
    registry=REGISTRY,
)
EXECUTIONS: Final = Counter(
    "lstarb_executions",
    "Execution results by outcome (landed, failed, dropped, rejected, paper).",
    ["outcome", "submitter", "mode"],
    registry=REGISTRY,
)
BUNDLES_SUBMITTED: Final = Counter(
    "lstarb_bundles_submitted",
    "Transactions or bundles handed to a submitter (landing rate denominator).",
    ["submitter"],
    registry=REGISTRY,
)
BUNDLES_LANDED: Final = Counter(
    "lstarb_bundles_landed",
    "Submitted transactions or bundles seen landed (landing rate numerator).",
    ["submitter"],
    registry=REGISTRY,
)

# ----------------------------------------------------------------------------- books and money

TRADES_RECORDED: Final = Counter(
    "lstarb_trades_recorded",
    "Execution results the auditor wrote to the ledger (each at most once).",
    ["outcome", "mode"],
    registry=REGISTRY,
)
LEDGER_DUPLICATES: Final = Counter(
    "lstarb_ledger_duplicates",
    "Execution results the ledger already held (re-delivered or duplicated), not written again.",
    registry=REGISTRY,
)
PROFIT_TODAY_SOL: Final = Gauge(
    "lstarb_profit_realized_today_sol",
    "Realized profit in SOL of the current UTC day (what the daily-loss breaker watches).",
    ["mode"],
    registry=REGISTRY,
)
WALLET_BALANCE_SOL: Final = Gauge(
    "lstarb_wallet_balance_sol",
    "SOL balance of a wallet the executor signs with.",
    ["wallet"],
    registry=REGISTRY,
)
WALLET_TOKEN_BALANCE: Final = Gauge(
    "lstarb_wallet_token_balance",
    "Token balance of a wallet, decimals applied.",
    ["wallet", "mint"],
    registry=REGISTRY,
)

# ----------------------------------------------------------------------------- safety

KILL_SWITCH_ENGAGED: Final = Gauge(
    "lstarb_kill_switch_engaged",
    "1 while the kill switch holds this service halted, else 0.",
    registry=REGISTRY,
)
KILL_SWITCH_CHANGED: Final = Gauge(
    "lstarb_kill_switch_changed_timestamp_seconds",
    "Unix time of the last kill-switch change this service saw.",
    registry=REGISTRY,
)
BREAKER_TRIPS: Final = Counter(
    "lstarb_breaker_trips",
    "Circuit-breaker trips (each engages the kill switch), by breaker.",
    ["breaker"],
    registry=REGISTRY,
)
SERVICE_STATE: Final = Enum(
    "lstarb_service_state",
    "Life-cycle state of a service.",
    ["service"],
    states=list(SERVICE_STATES),
    registry=REGISTRY,
)
PLUGIN_ERRORS: Final = Counter(
    "lstarb_plugin_errors",
    "Plugin hook calls that raised (the runtime carried on).",
    ["plugin", "hook"],
    registry=REGISTRY,
)
BUILD_INFO: Final = Info("lstarb_build", "lstarb version and SDK API version.", registry=REGISTRY)
BUILD_INFO.info({"version": __version__, "sdk_api": SDK_API_VERSION})

# ----------------------------------------------------------------------------- data sources

SOURCE_UPDATES: Final = Counter(
    "lstarb_data_source_updates",
    "Account updates received from a data source.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_ERRORS: Final = Counter(
    "lstarb_data_source_errors",
    "Errors of a data source (disconnects, bad replies); it reconnects by itself.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_SLOT: Final = Gauge(
    "lstarb_data_source_slot",
    "Highest slot a data source has reported.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_LAST_UPDATE: Final = Gauge(
    "lstarb_data_source_last_update_timestamp_seconds",
    "Unix time of a data source's last account update.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_AGE: Final = Gauge(
    "lstarb_data_source_last_update_age_seconds",
    "Seconds since a data source's last account update, computed when scraped.",
    ["source"],
    registry=REGISTRY,
)
MAX_ENDPOINTS: Final = 16
"""Endpoints of one data source given series (a source listing more is cut, and says so)."""
MAX_ENDPOINT_KINDS: Final = 32
"""Kinds of count per endpoint given series (the rpc source has 17)."""

_KIND: Final = re.compile(r"[^a-z0-9_]+")


def endpoint_label(name: str) -> str:
    """An endpoint's name as a label: never a URL's user, password, path or query.

    Sources name endpoints safely already (the rpc plugin: ``host:port``); this holds when one
    does not. A URL keeps only ``host:port``; other text loses anything after ``/`` or ``?``
    and before ``@``; then every secret the process registered (``logs.register_secret``,
    the settings' ``SecretStr`` values) is masked.
    """
    text = name.strip()
    if "://" in text:
        try:
            parts = urlsplit(text)
            host, port = parts.hostname or "?", parts.port
        except ValueError:
            host, port = "?", None
        text = f"{host}:{port}" if port is not None else host
    else:
        text = text.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return REDACTOR.redact(text) or "?"


class EndpointCollector:
    """The endpoints of every data source the scanner runs, read when Prometheus scrapes.

    Why a collector and not gauges set by the source: plugins import only the SDK, so a source
    reports its endpoints through ``DataSource.endpoint_health()`` and the runtime turns that
    into series at scrape time; a source that is gone (a run ended) drops out by itself.
    """

    def __init__(self) -> None:
        self._sources: dict[str, weakref.ref[DataSource]] = {}
        self._lock = threading.Lock()
        self.faults = 0

    def watch(self, name: str, source: DataSource) -> None:
        """Serve the endpoints of ``source`` under ``source=name`` from now on."""
        with self._lock:
            self._sources[name] = weakref.ref(source)

    def collect(self) -> Iterator[Metric]:
        labels = ["source", "endpoint"]
        connected = GaugeMetricFamily(
            "lstarb_data_source_endpoint_connected",
            "1 while a data source's endpoint is connected (its stream is up), else 0.",
            labels=labels,
        )
        slot = GaugeMetricFamily(
            "lstarb_data_source_endpoint_slot",
            "Newest slot an endpoint of a data source reported.",
            labels=labels,
        )
        lagging = GaugeMetricFamily(
            "lstarb_data_source_endpoint_lagging",
            "1 while an endpoint lags the freshest endpoint of its source (it only repeats).",
            labels=labels,
        )
        events = CounterMetricFamily(
            "lstarb_data_source_endpoint_events",
            "What an endpoint of a data source did or suffered, by kind (updates, timeouts, "
            "connection_errors, malformed, ...).",
            labels=[*labels, "kind"],
        )
        with self._lock:
            sources = [(name, ref()) for name, ref in self._sources.items()]
        for name, source in sources:
            if source is None:
                continue
            try:
                healths = list(source.endpoint_health())
            except Exception:
                self.faults += 1
                log.debug("data source %s: endpoint_health() raised", name, exc_info=True)
                continue
            for health in healths[:MAX_ENDPOINTS]:
                endpoint = endpoint_label(health.name)
                connected.add_metric([name, endpoint], 1.0 if health.connected else 0.0)
                slot.add_metric([name, endpoint], float(health.slot))
                lagging.add_metric([name, endpoint], 1.0 if health.lagging else 0.0)
                for kind, count in list(health.counts.items())[:MAX_ENDPOINT_KINDS]:
                    events.add_metric([name, endpoint, _KIND.sub("_", kind.lower())], count)
        yield from (connected, slot, lagging, events)


ENDPOINTS: Final = EndpointCollector()
REGISTRY.register(ENDPOINTS)

# ----------------------------------------------------------------------------- the market

POOL_PREMIUM_BPS: Final = Gauge(
    "lstarb_pool_premium_bps",
    "An LST/SOL pool's price against the LST's fair value (SOL per LST its program pays), in "
    "basis points: positive a premium, negative a discount. At most 256 pools.",
    ["pool", "lst"],
    registry=REGISTRY,
)


# ----------------------------------------------------------------------------- bound helpers


def stage(name: str) -> Histogram:
    """The latency histogram child of one stage, to keep and ``observe(seconds)`` on."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    return STAGE_LATENCY.labels(stage=name)


def mode_label(paper: bool) -> str:
    """The ``mode`` label value: ``paper`` or ``live``."""
    return "paper" if paper else "live"


class SourceMeters:
    """The metrics of one data source, bound once; :meth:`updated` on every account update.

    The last update time and highest slot are kept here as plain numbers, so the age gauge
    is computed from them when Prometheus scrapes instead of by a timer.
    """

    __slots__ = ("_last", "_slot", "errors", "last_update", "slot", "updates")

    def __init__(self, name: str) -> None:
        self.updates = SOURCE_UPDATES.labels(source=name)
        self.errors = SOURCE_ERRORS.labels(source=name)
        self.slot = SOURCE_SLOT.labels(source=name)
        self.last_update = SOURCE_LAST_UPDATE.labels(source=name)
        self._last = 0.0
        self._slot = 0
        SOURCE_AGE.labels(source=name).set_function(self.age)

    def updated(self, slot: int) -> None:
        """One account update at ``slot`` arrived now."""
        self._last = now = time.time()
        self.updates.inc()
        self.last_update.set(now)
        if slot > self._slot:
            self._slot = slot
            self.slot.set(slot)

    def age(self) -> float:
        """Seconds since the last update; NaN before the first."""
        return time.time() - self._last if self._last else float("nan")


def data_source(name: str, source: DataSource | None = None) -> SourceMeters:
    """Bind the metrics of data source ``name``; with ``source``, its endpoints' too."""
    if source is not None:
        ENDPOINTS.watch(name, source)
    return SourceMeters(name)


def set_kill_switch(engaged: bool) -> None:
    """Record the kill switch's state as this service sees it."""
    KILL_SWITCH_ENGAGED.set(1 if engaged else 0)
    KILL_SWITCH_CHANGED.set(time.time())


def metric_names() -> frozenset[str]:
    """Every sample name the registry can export (``_total``, ``_bucket``, ... included).

    For checks that a query or dashboard names only metrics lstarb defines.
    """
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return frozenset(names)


# ----------------------------------------------------------------------------- the exporter


class MetricsServerError(LstarbError):
    """The metrics endpoint cannot be started (port taken, or another port already served)."""


@dataclass(frozen=True)
class MetricsServer:
    """The running ``/metrics`` endpoint of this process."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving (tests; a service's endpoint lives as long as its process)."""
        global _SERVING
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        with _LOCK:
            if _SERVING is self:
                _SERVING = None


_LOCK: Final = threading.Lock()
_SERVING: MetricsServer | None = None


def serve(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the registry at ``http://host:port/metrics`` from a daemon thread, once a process.

    Services of one process share the endpoint: a second call for the same address returns the
    running server (``port=0``, "any free port", matches it too); one for another address is
    an error. ``port=0`` takes a free port (see ``.port``).
    """
    global _SERVING
    with _LOCK:
        if _SERVING is not None:
            if host == _SERVING.host and port in (0, _SERVING.port):
                return _SERVING
            raise MetricsServerError(
                f"metrics are already served at {_SERVING.url}; a process serves them once"
            )
        try:
            server, thread = start_http_server(port, addr=host, registry=REGISTRY)
        except OSError as exc:
            raise MetricsServerError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
                " (choose another --metrics-port)"
            ) from None
        _SERVING = MetricsServer(host, server.server_port, server, thread)
        return _SERVING
