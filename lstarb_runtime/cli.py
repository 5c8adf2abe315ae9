"""The ``lstarb`` command line.

Exit codes: 0 success, 1 a run that failed or had nothing to do, 2 a usage or configuration
error (unknown plugin, invalid configuration, nothing the selected plugins can do), as click
uses for usage errors, 130 a run stopped by Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from lstarb_runtime.config import ROLES, LoadedConfig, load_config, masked
from lstarb_runtime.logs import configure_logging, register_settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk.errors import ConfigError, LstarbError, PluginError
from lstarb_sdk.version import SDK_API_VERSION, __version__

log = logging.getLogger("lstarb.cli")


_HOST: PluginHost | None = None


def _host() -> PluginHost:
    """The process's plugin host, discovered once (commands and run share it)."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost()
        _HOST.discover()
    return _HOST


class UsageFailure(click.ClickException):
    """A problem with what the user asked for: exit code 2."""

    exit_code = 2


def _load(config: Path | None, overrides: dict[str, Any]) -> LoadedConfig:
    try:
        return load_config(config, overrides=overrides)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", message=f"lstarb %(version)s (SDK API {SDK_API_VERSION})"
)
@click.option("-v", "--verbose", count=True, help="more log output than log_level (-vv: debug)")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """lstarb: arbitrage between Solana liquid staking tokens, extended by plugins."""
    ctx.obj = verbose
    logging.basicConfig(
        level=_level(verbose), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _level(verbose: int, configured: str = "WARNING") -> int:
    """The configured ``log_level``, or more verbose with -v (INFO) and -vv (DEBUG)."""
    level = logging.getLevelNamesMapping()[configured]
    return min(level, logging.WARNING - 10 * min(verbose, 2)) if verbose else level


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins_cmd(as_json: bool) -> None:
    """List installed plugins: name, version, distribution, SDK API, hooks implemented."""
    host = _host()
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "version": r.version,
            "distribution": r.distribution,
            "builtin": r.builtin,
            "sdk_api": r.sdk_api,
            "hooks": r.hooks,
            "error": r.error,
            "opt_in": r.opt_in,
        }
        for r in sorted(host.records.values(), key=lambda r: r.name)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
        return
    width = max(len(r["name"] or "") for r in rows)
    for row in rows:
        status = "" if row["error"] is None else "  [NOT LOADED]"
        if row["opt_in"] and row["error"] is None:
            status = "  (opt-in: used only when named in --plugins)"
        dist = f"{row['distribution'] or '?'} {row['version'] or '?'}"
        api = f"  SDK API {row['sdk_api'] or '?'}"
        click.echo(
            f"{row['name']:<{width}}  {dist}{' (built-in)' if row['builtin'] else ''}{api}{status}"
        )
        if row["error"]:
            click.echo(f"{'':<{width}}    error: {row['error']}")
        else:
            click.echo(f"{'':<{width}}    hooks: {', '.join(row['hooks']) or '(none)'}")


@cli.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML-like text")
def config_show(config_path: Path | None, as_json: bool) -> None:
    """Print the effective configuration (file < LSTARB_* env < flags), secrets masked."""
    loaded = _load(config_path, {})
    doc = masked(loaded.settings)
    if as_json:
        click.echo(json.dumps({"settings": doc, "sources": loaded.sources}, indent=2, default=str))
        return
    _print_sections(doc, loaded.sources)


def _print_sections(doc: dict[str, Any], sources: dict[str, str], prefix: str = "") -> None:
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    if scalars:
        if prefix:
            click.echo(f"[{prefix}]")
        for key, value in scalars.items():
            origin = sources.get(f"{prefix}.{key}" if prefix else key, "default")
            click.echo(f"{key} = {json.dumps(value, default=str)}  # {origin}")
        click.echo()
    for key, value in doc.items():
        if isinstance(value, dict):
            _print_sections(value, sources, f"{prefix}.{key}" if prefix else key)


@cli.command("run")
@click.option("--plugins", "plugins", help="comma-separated plugin names (default: all installed)")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option("--role", type=click.Choice(ROLES), help="run one service (default: all)")
@click.option("--nats-url", help="NATS server URL (default nats://127.0.0.1:4222)")
@click.option("--duration", type=float, help="stop by itself after SECONDS")
@click.option("--live", is_flag=True, default=None, help="send real transactions (needs --keypair)")
@click.option("--keypair", type=click.Path(path_type=Path), help="signing keypair file (live only)")
@click.option(
    "--confirm-network",
    metavar="CLUSTER|GENESIS_HASH",
    help="live only: mainnet-beta, devnet, testnet or a private chain's genesis hash; "
    "must be what the RPC endpoint serves",
)
@click.option("--metrics-port", type=int, help="serve Prometheus metrics on PORT (127.0.0.1)")
@click.option("--seed", type=int, help="seed of the embedded local peer's market ([simnet] seed)")
@click.option("--control-port", type=int, help="serve the control API on PORT (127.0.0.1, token)")
@click.option(
    "--summary-json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="also write the summary to FILE as JSON",
)
@click.pass_context
def run_cmd(
    ctx: click.Context,
    plugins: str | None,
    config_path: Path | None,
    role: str | None,
    nats_url: str | None,
    duration: float | None,
    live: bool | None,
    keypair: Path | None,
    confirm_network: str | None,
    metrics_port: int | None,
    seed: int | None,
    control_port: int | None,
    summary_json: Path | None,
) -> None:
    """Run the services (paper trading unless --live)."""
    from lstarb_runtime.app import run
    from lstarb_runtime.services.base import NothingToDo

    loaded = _load(
        config_path,
        {
            "run.plugins": plugins,
            "run.role": role,
            "nats.url": nats_url,
            "run.duration": duration,
            "run.live": live,
            "run.keypair": str(keypair) if keypair else None,
            "run.confirm_network": confirm_network,
            "run.metrics_port": metrics_port,
            "simnet.seed": seed,
            "control.port": control_port,
        },
    )
    settings = loaded.settings
    level = _level(ctx.obj or 0, settings.log_level)
    configure_logging(level, settings.log_format, service=settings.run.role)
    register_settings(settings)
    host = _host()
    try:
        report = run(host, loaded, echo=click.echo, summary_json=summary_json)
    except NothingToDo as exc:
        raise UsageFailure(f"nothing to do: {exc}") from None
    except (ConfigError, PluginError) as exc:
        if isinstance(exc, ConfigError) or _is_usage(exc):
            raise UsageFailure(str(exc)) from None
        raise click.ClickException(str(exc)) from None
    except LstarbError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.exit(report.exit_code)


def _is_usage(exc: PluginError) -> bool:
    from lstarb_runtime.plugin_host import UnknownPluginError

    return isinstance(exc, UnknownPluginError)


def _register_extensions(group: click.Group) -> None:
    """Commands from the bus and from plugins (``lstarb_register_commands``)."""
    from lstarb_runtime.simnet.cli import simnet

    group.add_command(simnet)
    try:
        from lstarb_runtime.bus.cli import nats_cmd, record, streams, tail
    except ImportError:  # pragma: no cover - bus not installed in a partial checkout
        pass
    else:
        group.add_command(streams)
        group.add_command(tail)
        group.add_command(nats_cmd)
        group.add_command(record)
    from lstarb_runtime.control.cli import kill, resume
    from lstarb_runtime.ledger.cli import pnl

    group.add_command(kill)
    group.add_command(resume)
    group.add_command(pnl)
    from lstarb_runtime.inspect.cli import explain, status

    group.add_command(status)
    group.add_command(explain)
    if any(arg in ("-V", "--version") for arg in sys.argv[1:2]):
        return
    host = _host()
    host.call_each("lstarb_register_commands", cli=group)


def main() -> None:
    _register_extensions(cli)
    cli(prog_name="lstarb")


if __name__ == "__main__":
    main()
