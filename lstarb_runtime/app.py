"""``lstarb run``: select plugins, validate settings, start them, run the services.

What runs today is the scanner stage: data sources feed the pool book, DEX
adapters decode and quote every pool they recognise, and every pool state goes
onto the MARKET_DATA stream (a nats-server of our own is started when none
answers and the run is paper). Planner and executor services are not built
yet; the summary says so instead of pretending, and paper trading is the only
mode the run allows without a keypair.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from solders.account import Account

from lstarb_runtime import market_data
from lstarb_runtime.bus import Bus, BusError, PublishAck, connect_bus
from lstarb_runtime.config import LoadedConfig, Settings
from lstarb_runtime.keypair import load_keypair
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import AccountUpdate, DataSource, PluginContext, PoolAdapter
from lstarb_sdk.errors import ConfigError, LstarbError

log = logging.getLogger("lstarb.run")

MARKET_FLUSH_EVERY = 1024  # MARKET_DATA publishes between waits for the server's acks


class RunFailed(LstarbError):
    """The run started but could not do its work."""


@dataclass
class StageTimer:
    """Per-stage latency samples, in nanoseconds."""

    samples: dict[str, list[int]] = field(default_factory=dict)

    def add(self, stage: str, ns: int) -> None:
        self.samples.setdefault(stage, []).append(ns)

    def table(self) -> list[tuple[str, int, float, float]]:
        rows = []
        for stage, values in self.samples.items():
            ordered = sorted(values)
            p50 = ordered[len(ordered) // 2] / 1000
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
            rows.append((stage, len(values), p50, p99))
        return rows


@dataclass
class RunSummary:
    plugins: list[str]
    pools_by_dex: Counter[str] = field(default_factory=Counter)
    quotes: int = 0
    quote_errors: int = 0
    opportunities: int = 0
    plans: int = 0
    paper_pnl_lamports: int = 0
    market_events: int = 0
    market_duplicates: int = 0
    bus_url: str = ""
    timer: StageTimer = field(default_factory=StageTimer)
    hook_errors: Counter[str] = field(default_factory=Counter)
    source_errors: Counter[str] = field(default_factory=Counter)
    adapter_faults: Counter[str] = field(default_factory=Counter)

    def count_market_ack(self, sent: asyncio.Future[PublishAck]) -> None:
        """Counts what the server said of a MARKET_DATA publish (refusals surface in flush)."""
        if not sent.cancelled() and sent.exception() is None and sent.result().duplicate:
            self.market_duplicates += 1


def _check_adapter(item: object) -> str | None:
    if not (isinstance(item, type) and issubclass(item, PoolAdapter)):
        return f"{item!r} is not a PoolAdapter subclass"
    if not hasattr(item, "program_id") or not hasattr(item, "dex"):
        return f"{item.__name__} does not set program_id and dex"
    return None


def _check_source(item: object) -> str | None:
    return None if isinstance(item, DataSource) else f"{item!r} is not a DataSource"


def run(host: PluginHost, loaded: LoadedConfig, *, echo: Callable[[str], None]) -> RunSummary:
    """Run until the data is played out, ``--duration`` passes, or Ctrl-C."""
    settings = loaded.settings
    selected = host.select(settings.run.plugins)
    for name, reason in host.failures().items():
        echo(f"note: plugin {name} is installed but not loaded: {reason}")
    models: dict[str, type[BaseModel]] = {}
    for plugin, model in host.call_strict("lstarb_config_model"):
        if model is not None:
            models[plugin] = model
    loaded.validate_plugins(models)
    paper = not settings.run.live
    if not paper:
        if settings.run.keypair is None:
            raise ConfigError("config key 'run.keypair': --live needs a keypair file")
        load_keypair(settings.run.keypair)
    context = PluginContext(
        paper=paper,
        role=settings.run.role,
        plugin_configs=dict(loaded.plugin_models),
        settings={"nats_url": settings.nats.url},
    )
    echo(
        f"lstarb: plugins {', '.join(selected)}; {'PAPER' if paper else 'LIVE'} trading; "
        f"role {settings.run.role}"
    )
    host.call_strict("lstarb_startup", context=context)
    summary = RunSummary(plugins=selected)
    try:
        asyncio.run(_run_services(host, context, settings, summary, echo))
    except KeyboardInterrupt:
        echo("interrupted")
    finally:
        host.call_each("lstarb_shutdown", context=context)
        summary.hook_errors = Counter(host.hook_errors)
    _print_summary(summary, echo)
    return summary


async def _run_services(
    host: PluginHost,
    context: PluginContext,
    settings: Settings,
    summary: RunSummary,
    echo: Callable[[str], None],
) -> None:
    role = settings.run.role
    if role not in ("all", "scanner"):
        echo(f"role {role}: this service is not built yet; nothing to run")
        return
    try:
        async with connect_bus(
            settings.nats.url,
            embedded=settings.nats.embedded,
            live=not context.paper,
            store_dir=settings.nats.data_dir,
        ) as bus:
            summary.bus_url = settings.nats.url
            echo(f"bus: {settings.nats.url} (six streams ready)")
            await _run_scanner(host, context, bus, summary, settings.run.duration, echo)
    except BusError as exc:
        raise RunFailed(f"event bus: {exc}") from None


async def _run_scanner(
    host: PluginHost,
    context: PluginContext,
    bus: Bus,
    summary: RunSummary,
    duration: float | None,
    echo: Callable[[str], None],
) -> None:
    adapters = [cls for _, cls in host.collect("lstarb_dex_adapters", _check_adapter)]
    if not adapters:
        echo("no DEX adapters among the selected plugins: nothing to scan")
        return
    sources = host.collect("lstarb_data_sources", _check_source, context=context)
    builtin = {name for name, record in host.records.items() if record.builtin}
    chosen = [(p, src) for p, src in sources if p not in builtin] or list(sources)
    if not chosen:
        failed = sorted(p for p in host.hook_errors if host.hook_errors[p])
        hint = f" (raised by plugin {', '.join(failed)}: see the log above)" if failed else ""
        raise RunFailed(
            f"no data source{hint}: select a data-source plugin (rpc, shredstream, ...)"
        )
    book = PoolBook(adapters)
    scans = [_guarded_scan(p, src, book, bus, summary, echo) for p, src in chosen]
    try:
        await asyncio.wait_for(asyncio.gather(*scans), duration)
    except TimeoutError:
        echo(f"--duration {duration:g}s reached")
    for address in list(book.pools):
        if book.refresh_all(address):
            _probe_quotes(book, book.pools[address], summary)
    summary.adapter_faults.update(book.adapter_faults)
    try:
        await bus.flush()
    except BusError as exc:
        echo(f"warning: MARKET_DATA: {exc}")
    echo(
        f"pools: {sum(summary.pools_by_dex.values())} "
        f"({', '.join(f'{d} {n}' for d, n in sorted(summary.pools_by_dex.items())) or 'none'})"
    )


async def _guarded_scan(
    plugin: str,
    source: DataSource,
    book: PoolBook,
    bus: Bus,
    summary: RunSummary,
    echo: Callable[[str], None],
) -> None:
    """One data source, isolated: if it fails, it is named and counted, and the others go on."""
    try:
        await _scan_source(source, book, bus, summary, echo)
    except BusError:
        raise  # the bus is shared: losing it ends the run (as RunFailed)
    except Exception as exc:
        summary.source_errors[plugin] += 1
        log.error("data source %s (plugin %s) failed", source.name, plugin, exc_info=exc)
        echo(f"data source {source.name} (plugin {plugin}) stopped: {exc!r}")
    finally:
        try:
            await source.close()
        except Exception as exc:
            log.warning("data source %s (plugin %s): close failed: %r", source.name, plugin, exc)


async def _scan_source(
    source: DataSource,
    book: PoolBook,
    bus: Bus,
    summary: RunSummary,
    echo: Callable[[str], None],
) -> None:
    known = list(source.known_accounts())
    snapshot = await source.fetch(known) if known else {}
    found = 0
    for key, account in snapshot.items():
        if account is None:
            continue
        t0 = time.perf_counter_ns()
        pool = book.try_add_pool(key, account)
        if pool is not None:
            summary.timer.add("decode pool", time.perf_counter_ns() - t0)
            summary.pools_by_dex[pool.dex] += 1
            found += 1
    echo(f"{source.name}: {len(snapshot)} accounts, {found} pools; streaming updates")
    await source.subscribe(book.readers)
    updates = 0
    async for update in source.stream():
        if not isinstance(update, AccountUpdate):
            continue
        updates += 1
        account = Account(update.lamports, update.data, update.owner, update.executable, 0)
        t0 = time.perf_counter_ns()
        changed = book.apply({update.pubkey: account})
        if changed:
            summary.timer.add("update", time.perf_counter_ns() - t0)
        for address in changed:
            await _publish_pool_state(bus, book, book.pools[address], update, summary)
        new = book.missing()
        if new:
            await source.subscribe(new)
    echo(f"{source.name}: stream ended after {updates} account updates")


async def _publish_pool_state(
    bus: Bus, book: PoolBook, pool: PoolAdapter, update: AccountUpdate, summary: RunSummary
) -> None:
    t0 = time.perf_counter_ns()
    price = market_data.probe_price(book, pool)
    event = market_data.pool_state_event(pool, update, price)
    sent = await bus.publish_nowait(event, msg_id=market_data.msg_id(pool, update))
    sent.add_done_callback(summary.count_market_ack)
    summary.timer.add("publish market data", time.perf_counter_ns() - t0)
    summary.market_events += 1
    if summary.market_events % MARKET_FLUSH_EVERY == 0:
        await bus.flush()  # a refused publish stops the scanner loudly, not at the end


def _probe_quotes(book: PoolBook, pool: PoolAdapter, summary: RunSummary) -> None:
    for mint in pool.mints:
        amount = book.whole_token(mint)
        t0 = time.perf_counter_ns()
        try:
            book.quote(pool.address, amount, mint)
        except LstarbError:  # QuoteError (or an adapter fault, already logged and counted)
            summary.quote_errors += 1
            continue
        summary.timer.add(f"quote {pool.dex}", time.perf_counter_ns() - t0)
        summary.quotes += 1


def _print_summary(summary: RunSummary, echo: Callable[[str], None]) -> None:
    echo("")
    echo("summary")
    echo(f"  pools decoded      {sum(summary.pools_by_dex.values())}")
    echo(f"  quotes             {summary.quotes} ok, {summary.quote_errors} refused (QuoteError)")
    echo(
        f"  opportunities      {summary.opportunities}  (planner/executor services: not built yet)"
    )
    if summary.source_errors:
        failed = ", ".join(f"{p} {n}" for p, n in sorted(summary.source_errors.items()))
        echo(f"  data source faults {failed}  (see the log)")
    if summary.adapter_faults:
        faults = ", ".join(f"{d} {n}" for d, n in sorted(summary.adapter_faults.items()))
        echo(f"  adapter faults     {faults}  (pools quarantined; see the log)")
    echo(f"  plans              {summary.plans}")
    echo(
        f"  market data        {summary.market_events} events on MARKET_DATA "
        f"({summary.market_duplicates} de-duplicated) via {summary.bus_url or 'no bus'}"
    )
    echo(f"  simulated P&L      {summary.paper_pnl_lamports} lamports")
    if summary.timer.samples:
        echo("  latency per stage  (count, p50 us, p99 us)")
        for stage, count, p50, p99 in summary.timer.table():
            echo(f"    {stage:<22} {count:>6} {p50:>9.1f} {p99:>9.1f}")
