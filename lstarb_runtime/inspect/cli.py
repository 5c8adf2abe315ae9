"""``lstarb status`` and ``lstarb explain ID``: read-only views of a deployment.

Both read ``[nats] url`` and ``[auditor]`` (the ledger) from the configuration, with flags
over them; neither starts a server, creates a stream or a ledger.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from lstarb_runtime.bus import BusError
from lstarb_runtime.ledger import ledger_url
from lstarb_sdk.errors import ConfigError

_URL_HELP = "NATS server URL (default: nats.url from the configuration)"
_DB_HELP = "ledger: sqlite:PATH or postgresql://... (default: [auditor] settings)"


def _loaded(config: Path | None, nats_url: str | None) -> Any:
    from lstarb_runtime.config import load_config

    try:
        return load_config(config, overrides={"nats.url": nats_url})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _settings(config: Path | None, nats_url: str | None) -> Any:
    return _loaded(config, nats_url).settings


def _plugins(loaded: Any) -> tuple[Any, Any]:
    """The plugin host and a paper context carrying the plugins' validated settings (the
    funding providers need theirs to rebuild a flash loan)."""
    from lstarb_runtime.cli import _host
    from lstarb_sdk import PluginContext

    host = _host()
    host.select(loaded.settings.run.plugins)
    models = {p: m for p, m in host.call_strict("lstarb_config_model") if m is not None}
    try:
        loaded.validate_plugins(models)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    context = PluginContext(paper=True, role="explain", plugin_configs=dict(loaded.plugin_models))
    return host, context


def _ledger(settings: Any, flag: str | None) -> str:
    if flag:
        return flag
    auditor = settings.auditor
    secret = auditor.database_url
    return ledger_url(secret.get_secret_value() if secret else None, auditor.ledger_path)


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except BusError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("status")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--database-url", help=_DB_HELP)
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="tape updates read from the end of MARKET_DATA to date the data sources",
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(
    config_path: Path | None,
    nats_url: str | None,
    database_url: str | None,
    window: int,
    as_json: bool,
) -> None:
    """One screen: each service's lag, the kill switch, each data source's last update,
    today's realized P&L."""
    from lstarb_runtime.bus.connection import connect_nats

    from .status import gather, render

    settings = _settings(config_path, nats_url)
    url = settings.nats.url
    ledger = _ledger(settings, database_url)

    async def main() -> Any:
        nc = await connect_nats(url, name="lstarb-status")
        try:
            return await gather(nc, url, ledger, window=window)
        finally:
            await nc.close()

    found = _run(main())
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2))
        return
    for line in render(found):
        click.echo(line)


@click.command("explain")
@click.argument("wanted", metavar="ID")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--database-url", help=_DB_HELP)
@click.option("--no-rebuild", is_flag=True, help="do not rebuild the transaction's instructions")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def explain(
    wanted: str,
    config_path: Path | None,
    nats_url: str | None,
    database_url: str | None,
    no_rebuild: bool,
    as_json: bool,
) -> None:
    """The whole story of an opportunity or plan ID: the pool states it was computed on, each
    check of the planner, costs, the transaction's instructions, the outcome and why."""
    from lstarb_runtime.bus.connection import connect_nats

    from .explain import NotFound, render_story, story

    loaded = _loaded(config_path, nats_url)
    settings = loaded.settings
    url = settings.nats.url
    ledger = _ledger(settings, database_url)
    host, context = _plugins(loaded) if not no_rebuild else (None, None)

    async def main() -> Any:
        nc = await connect_nats(url, name="lstarb-explain")
        try:
            return await story(
                nc,
                wanted,
                ledger_url=ledger,
                risk=settings.risk,
                planner=settings.planner,
                host=host,
                context=context,
            )
        finally:
            await nc.close()

    try:
        doc = _run(main())
    except NotFound as exc:
        raise click.ClickException(f"{exc} (at {url})") from None
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    for line in render_story(doc):
        click.echo(line)
