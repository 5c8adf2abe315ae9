"""``lstarb kill`` and ``lstarb resume``: the kill switch from a terminal.

They write the ``control`` bucket's ``halted`` key on the NATS server the services use
(``--nats-url`` or ``nats.url``), which every service watches, and audit the command on SYSTEM
with who and why. They never start a server: with nothing running there is nothing to halt,
and a kill that silently went to a throw-away server would be worse than an error.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
from dataclasses import asdict
from typing import Any

import click

from lstarb_runtime.bus.cli import resolve_url
from lstarb_runtime.bus.connection import connect_nats
from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.bus.jetstream import JetStreamBus
from lstarb_runtime.control import state as control

_URL_HELP = "NATS server URL (default: nats.url from the configuration, nats://127.0.0.1:4222)"


def default_operator() -> str:
    """``cli:USER@HOST``: who a command came from when ``--by`` does not say."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


async def _command(url: str, halted: bool, reason: str, by: str) -> Any:
    bus = JetStreamBus(await connect_nats(url, name="lstarb-control"))
    try:
        await bus.ensure_streams()  # the bucket and SYSTEM exist even before any run
        return await control.command(bus, halted=halted, reason=reason, by=by)
    finally:
        await bus.close()


def _do(nats_url: str | None, halted: bool, reason: str, by: str | None, as_json: bool) -> None:
    url = resolve_url(nats_url)
    try:
        before, after = asyncio.run(_command(url, halted, reason, by or default_operator()))
    except BusError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        doc = {"nats_url": url, "before": asdict(before), "after": asdict(after)}
        click.echo(json.dumps(doc, indent=2))
        return
    if halted:
        click.echo("kill switch thrown: every service stops new work; in-flight trades finish")
    else:
        click.echo("kill switch released: services take new work again")
    click.echo(f"  state:   {after.describe()}")
    click.echo(f"  before:  {before.describe()}")
    click.echo(f"  audited: SYSTEM command {after.command_id} at {url}")


@click.command("kill")
@click.option("--reason", required=True, help="why (kept with the state and on SYSTEM)")
@click.option("--by", help="who is asking (default: cli:USER@HOST)")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="print before/after as JSON")
def kill(reason: str, by: str | None, nats_url: str | None, as_json: bool) -> None:
    """Halt every service on the cluster: planners plan nothing, executors send nothing new."""
    if not reason.strip():
        raise click.UsageError("--reason must say why (it is audited on SYSTEM)")
    _do(nats_url, True, reason.strip(), by, as_json)


@click.command("resume")
@click.option("--reason", default="", help="why (kept with the state and on SYSTEM)")
@click.option("--by", help="who is asking (default: cli:USER@HOST)")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="print before/after as JSON")
def resume(reason: str, by: str | None, nats_url: str | None, as_json: bool) -> None:
    """Release the kill switch: every service takes new work again."""
    _do(nats_url, False, reason.strip(), by, as_json)
