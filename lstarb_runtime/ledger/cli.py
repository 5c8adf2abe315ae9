"""``lstarb pnl``: realized P&L from the ledger, by day, strategy, route and outcome.

It only reads: it never creates a ledger, and says where it looked when there is none yet.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import LedgerError, LedgerNotFound
from .report import parse_time, row_json, table
from .store import DIMENSIONS, Ledger, TradeFilter, ledger_url


def _where(config: Path | None, database_url: str | None) -> str:
    if database_url:
        return database_url
    from lstarb_runtime.config import load_config
    from lstarb_sdk.errors import ConfigError

    try:
        auditor = load_config(config).settings.auditor
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    secret = auditor.database_url
    return ledger_url(secret.get_secret_value() if secret else None, auditor.ledger_path)


def _dimensions(text: str) -> tuple[str, ...]:
    by = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: choose from {', '.join(DIMENSIONS)}", param_hint="--by"
        )
    return by


def _time(text: str | None, flag: str, *, end: bool = False) -> int | None:
    if text is None:
        return None
    try:
        return parse_time(text, end=end)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=flag) from None


@click.command("pnl")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.option(
    "--database-url",
    help="ledger to read: sqlite:PATH or postgresql://... (default: [auditor] settings)",
)
@click.option("--since", help="from this UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)")
@click.option("--until", help="up to and including this UTC day, or before this time")
@click.option("--paper/--live", "paper", default=None, help="only paper or only live trades")
@click.option(
    "--by",
    "by_text",
    default=",".join(DIMENSIONS),
    show_default=True,
    help="group by any of day, strategy, route, outcome ('' for totals only)",
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def pnl(
    config_path: Path | None,
    database_url: str | None,
    since: str | None,
    until: str | None,
    paper: bool | None,
    by_text: str,
    as_json: bool,
) -> None:
    """Realized P&L from the ledger (SOL exact to the lamport), grouped, with totals.

    Paper and live trades, and trades of different base mints, are never added together.
    """
    by = _dimensions(by_text)
    where = TradeFilter(
        since_ns=_time(since, "--since"), until_ns=_time(until, "--until", end=True), paper=paper
    )
    url = _where(config_path, database_url)
    try:
        with Ledger.open(url, create=False) as ledger:
            rows = ledger.pnl(by, where)
            totals = ledger.pnl((), where)
            place = ledger.where
    except LedgerNotFound as exc:
        raise click.ClickException(
            f"{exc}: the auditor creates the ledger when it records its first execution"
            " (lstarb run, roles all or auditor). Set [auditor] database_url or ledger_path"
            " (or --database-url) to read a ledger elsewhere."
        ) from None
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    mode = "all" if paper is None else ("paper" if paper else "live")
    if as_json:
        doc = {
            "ledger": place,
            "since": since,
            "until": until,
            "mode": mode,
            "group_by": list(by),
            "rows": [row_json(r) for r in rows],
            "totals": [row_json(r) for r in totals],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    span = f"{since or 'the start'} .. {until or 'now'}"
    click.echo(f"realized P&L, {span}, {mode} trades ({place})")
    if not rows:
        click.echo("no trades recorded in that range")
        return
    click.echo(table(rows, totals, by))
