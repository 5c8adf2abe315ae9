"""``lstarb run``: select plugins, validate settings, refuse what cannot run, start the plugins
and hand over to the runner (:mod:`lstarb_runtime.services.runner`).

Why these checks come first: a run that cannot do what was asked says so before it starts a
server or a service, naming what is missing (no DEX adapter selected, ``--live`` without a
live data source or a submitter that sends), instead of running and doing nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel

from lstarb_runtime.config import LoadedConfig
from lstarb_runtime.embedded.peer import (
    RPC_PLUGIN,
    SHREDSTREAM_PLUGIN,
    EmbeddedPeer,
    peer_wanted,
    start_slot_after,
)
from lstarb_runtime.embedded.tape_slot import last_tape_slot
from lstarb_runtime.live_guard import check_live
from lstarb_runtime.logs import register_settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.base import NothingToDo
from lstarb_runtime.services.runner import (
    EXIT_SIGINT,
    ROLE_SERVICES,
    RunPlan,
    RunReport,
    roles_of,
    run_services,
)
from lstarb_sdk import PluginContext
from lstarb_sdk.errors import ConfigError


def run(
    host: PluginHost,
    loaded: LoadedConfig,
    *,
    echo: Callable[[str], None],
    summary_json: Path | None = None,
) -> RunReport:
    """Run until the data is played out, ``--duration`` passes, or a signal stops it.

    Raises ConfigError / PluginError / NothingToDo (usage) before anything starts.
    """
    settings = loaded.settings
    selected, context = prepare(host, loaded, echo=echo)
    paper = context.paper
    peer: EmbeddedPeer | None = None
    if peer_wanted(settings, selected):
        peer, context = start_peer(loaded, context, echo, selected)
    elif RPC_PLUGIN in selected and not _rpc_configured(loaded):
        echo(
            f"rpc: no [plugins.rpc] url set: reading {_url(context)} "
            "(start a local peer there with: lstarb simnet --drive)"
        )
    try:
        echo(
            f"lstarb: plugins {', '.join(selected)}; {'PAPER' if paper else 'LIVE'} trading; "
            f"role {settings.run.role}"
        )
        plan = RunPlan(host, context, settings, selected, echo, summary_json, peer=peer)
        return _run_plan(host, plan)
    finally:
        if peer is not None:
            peer.stop()


def _run_plan(host: PluginHost, plan: RunPlan) -> RunReport:
    previous = signal.signal(signal.SIGTERM, _terminate)  # before the loop handles it
    try:
        host.call_strict("lstarb_startup", context=plan.context)
        return asyncio.run(run_services(plan))
    except KeyboardInterrupt as exc:  # a signal before the runner took over its handling
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        plan.echo(f"{name}: stopped before the services started")
        plan.call_shutdown()
        report = RunReport(plugins=plan.plugins, roles=[], not_built=[], ended_by=name)
        report.exit_code = 0 if isinstance(exc, Terminated) else EXIT_SIGINT
        return report
    finally:
        signal.signal(signal.SIGTERM, previous)


def _rpc_configured(loaded: LoadedConfig) -> bool:
    raw = loaded.settings.plugins.get(RPC_PLUGIN, {})
    return bool(raw.get("url") or raw.get("endpoints"))


def _url(context: PluginContext) -> str:
    return str(getattr(context.config(RPC_PLUGIN), "url", "?"))


def start_peer(
    loaded: LoadedConfig,
    context: PluginContext,
    echo: Callable[[str], None],
    selected: Sequence[str] = (),
) -> tuple[EmbeddedPeer, PluginContext]:
    """Start the local peer and point the rpc plugin at it (the embedded default), and the
    shredstream plugin too when it is selected without a ``[plugins.shredstream] url``.

    The executor's landing simulator waits by the peer's slot length unless
    ``[executor] slot_ms`` is set, and compiles with the peer's lookup table over its market
    unless ``[executor] lookup_tables`` is set. A NATS server that already answers keeps the
    market tape of earlier runs: the chain starts after its last slot, so this run's accounts
    are newer.
    """
    settings = loaded.settings
    tape_slot = asyncio.run(last_tape_slot(settings.nats.url))
    shredstream = SHREDSTREAM_PLUGIN in selected and not settings.plugins.get(
        SHREDSTREAM_PLUGIN, {}
    ).get("url")
    peer = EmbeddedPeer(
        settings.simnet.seed,
        settings.simnet.slot_ms,
        settings.simnet.port,
        start_slot=start_slot_after(tape_slot),
        shredstream=shredstream,
    )
    try:
        info = peer.start()
    except OSError as exc:
        peer.stop()
        raise ConfigError(f"the embedded simnet cannot listen: {exc}") from None
    except BaseException:
        peer.stop()
        raise
    raw = {**settings.plugins.get(RPC_PLUGIN, {}), "url": info.http_url, "ws_url": info.ws_url}
    _point(loaded, RPC_PLUGIN, raw)
    if info.shredstream_url is not None:
        raw = {**settings.plugins.get(SHREDSTREAM_PLUGIN, {}), "url": info.shredstream_url}
        _point(loaded, SHREDSTREAM_PLUGIN, raw)
    if "executor.slot_ms" not in loaded.sources:
        settings.executor.slot_ms = float(info.slot_ms)
    if info.lookup_table is not None and "executor.lookup_tables" not in loaded.sources:
        settings.executor.lookup_tables = [info.lookup_table]  # as a trader on it would
    echo(
        f"market: the embedded local RPC peer (lstarb simnet --drive) at {info.http_url}: "
        f"{info.accounts} bundled mainnet accounts, seed {info.seed}, {info.slot_ms} ms slots; "
        f"{info.trading_pools} pools trade, {info.stake_pools} stake pools crank"
    )
    echo(seed_line(info.seed, info.seed_drawn))
    if info.shredstream_url is not None:
        echo(f"shredstream: the peer's swaps as a ShredStream proxy at {info.shredstream_url}")
    if tape_slot is not None:
        echo(
            f"chain: from slot {info.start_slot}, after the last slot on the market tape "
            f"({tape_slot}): this run's accounts are newer than earlier runs'"
        )
    return peer, dataclasses.replace(context, plugin_configs=dict(loaded.plugin_models))


def _point(loaded: LoadedConfig, plugin: str, raw: dict[str, Any]) -> None:
    """A plugin's settings with the peer's address in them (validated by its own model)."""
    model = loaded.plugin_models.get(plugin)
    if model is not None:
        loaded.plugin_models[plugin] = type(model).model_validate(raw)


def seed_line(seed: int, drawn: bool) -> str:
    """The start banner's and the summary's word on the seed: how to get this market again."""
    if drawn:
        return f"seed: {seed}, drawn for this run (repeat this market: lstarb run --seed {seed})"
    return f"seed: {seed}, as given (the same seed, the same market)"


def prepare(
    host: PluginHost, loaded: LoadedConfig, *, echo: Callable[[str], None]
) -> tuple[list[str], PluginContext]:
    """Select the plugins, validate their settings, refuse what cannot run; the context.

    Shared by ``lstarb run`` and ``lstarb replay --role planner --tape`` (the replay of a
    recording through one role), so both load plugins and settings the same way.
    """
    settings = loaded.settings
    selected = host.select(settings.run.plugins)
    for name, reason in host.failures().items():
        echo(f"note: plugin {name} is installed but not loaded: {reason}")
    models: dict[str, type[BaseModel]] = {}
    for plugin, model in host.call_strict("lstarb_config_model"):
        if model is not None:
            models[plugin] = model
    loaded.validate_plugins(models)
    for plugin_settings in loaded.plugin_models.values():
        register_settings(plugin_settings)  # their secrets never reach a log line
    paper = not settings.run.live
    if paper and settings.run.keypair is not None:
        origin = loaded.sources.get("run.keypair", "config")
        echo(
            f"warning: run.keypair (from {origin}) is not used: this run trades on PAPER "
            "(add --live to trade with it)"
        )
    if not paper:
        check_live(host, loaded, selected)
    _check_work(host, settings.run.role, settings.run.plugins)
    context = PluginContext(
        paper=paper,
        role=settings.run.role,
        plugin_configs=dict(loaded.plugin_models),
        settings={"nats_url": settings.nats.url},
    )
    return selected, context


class Terminated(KeyboardInterrupt):
    """SIGTERM while plugins start, before the runner handles signals itself."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _check_work(host: PluginHost, role: str, asked: list[str] | None) -> None:
    """A scanner needs a DEX adapter among the selected plugins: say which plugins have one."""
    if "scanner" not in roles_of(role) or "scanner" not in ROLE_SERVICES:
        return
    active = set(host.active())
    if any("lstarb_dex_adapters" in r.hooks for n, r in host.records.items() if n in active):
        return
    offering = sorted(
        n for n, r in host.records.items() if r.loaded and "lstarb_dex_adapters" in r.hooks
    )
    chosen = "--plugins " + repr(",".join(asked)) if asked is not None else "the plugins"
    hint = (
        f"; installed DEX plugins: {', '.join(offering)}"
        if offering
        else ("; no installed plugin provides one (pip install lstarb-plugin-orca, ...)")
    )
    raise NothingToDo(
        f"{chosen} provide no DEX adapter, so the scanner has nothing to scan{hint}", usage=True
    )
