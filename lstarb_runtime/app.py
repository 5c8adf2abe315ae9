"""``lstarb run``: select plugins, validate settings, refuse what cannot run, start the plugins
and hand over to the runner (:mod:`lstarb_runtime.services.runner`).

Why these checks come first: a run that cannot do what was asked says so before it starts a
server or a service, naming what is missing (no DEX adapter selected, ``--live`` without a
live data source or a submitter that sends), instead of running and doing nothing.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pydantic import BaseModel

from lstarb_runtime.config import LoadedConfig
from lstarb_runtime.keypair import load_keypair
from lstarb_runtime.logs import register_keypair, register_settings
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
        if settings.run.keypair is None:
            raise ConfigError("config key 'run.keypair': --live needs a keypair file")
        register_keypair(load_keypair(settings.run.keypair))  # never printed, in any form
        _check_live(host)
    _check_work(host, settings.run.role, settings.run.plugins)
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
    plan = RunPlan(host, context, settings, selected, echo, summary_json)
    previous = signal.signal(signal.SIGTERM, _terminate)  # before the loop handles it
    try:
        host.call_strict("lstarb_startup", context=context)
        return asyncio.run(run_services(plan))
    except KeyboardInterrupt as exc:  # a signal before the runner took over its handling
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        echo(f"{name}: stopped before the services started")
        plan.call_shutdown()
        report = RunReport(plugins=selected, roles=[], not_built=[], ended_by=name)
        report.exit_code = 0 if isinstance(exc, Terminated) else EXIT_SIGINT
        return report
    finally:
        signal.signal(signal.SIGTERM, previous)


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


def _check_live(host: PluginHost) -> None:
    """``--live`` only when something can trade live; name every missing piece."""
    active = set(host.active())

    def provides(hook: str) -> list[str]:
        return sorted(
            n for n, r in host.records.items() if n in active and not r.builtin and hook in r.hooks
        )

    missing = []
    if not provides("lstarb_data_sources"):
        missing.append(
            "a live data source (only the built-in replay of a recording is selected; "
            "select a data-source plugin such as rpc)"
        )
    if not provides("lstarb_submitters"):
        missing.append(
            "a submitter that sends transactions (only the built-in paper submitter is "
            "selected; select one such as jito or rpc)"
        )
    if missing:
        raise ConfigError("--live cannot trade: missing " + "; ".join(missing))
