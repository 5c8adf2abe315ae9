"""``lstarb streams`` and ``lstarb tail``: look at the bus from a terminal.

Neither starts a server nor creates streams: they inspect what a run (or a cluster) has.
``tail`` uses an ephemeral ordered consumer, so it never moves a service's durable position.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import click
import nats.errors
from nats.js.api import DeliverPolicy

from lstarb_runtime.bus.connection import connect_nats
from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.bus.jetstream import JetStreamBus
from lstarb_runtime.bus.streams import STREAM_BY_NAME
from lstarb_runtime.bus.tracing import TRACEPARENT
from lstarb_sdk.errors import ConfigError, DecodeError
from lstarb_sdk.events import decode_event

_URL_HELP = "NATS server URL (default: nats.url from the configuration, nats://127.0.0.1:4222)"


def resolve_url(flag: str | None) -> str:
    """The flag, else ``nats.url`` from LSTARB_CONFIG / LSTARB_NATS__URL, else the default."""
    if flag:
        return flag
    from lstarb_runtime.config import load_config

    try:
        return load_config(None).settings.nats.url
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except BusError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("streams")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def streams(nats_url: str | None, as_json: bool) -> None:
    """Show the six streams: messages, bytes, consumers and what each consumer has pending."""
    url = resolve_url(nats_url)

    async def main() -> list[Any]:
        bus = JetStreamBus(await connect_nats(url))
        try:
            return await bus.stream_states()
        finally:
            await bus.close()

    states = _run(main())
    if as_json:
        click.echo(json.dumps([s.__dict__ for s in states], indent=2))
        return
    click.echo(f"{'STREAM':<14} {'STORAGE':<7} {'MESSAGES':>9} {'BYTES':>12}  CONSUMERS (pending)")
    for s in states:
        if not s.exists:
            click.echo(f"{s.name:<14} {s.storage:<7} {'-':>9} {'-':>12}  (stream not created)")
            continue
        cons = ", ".join(f"{name} ({n})" for name, n in s.consumers.items()) or "-"
        click.echo(f"{s.name:<14} {s.storage:<7} {s.messages:>9} {s.bytes:>12}  {cons}")


def _line(msg: Any, stream: str) -> str:
    headers = msg.headers or {}
    doc: dict[str, Any] = {
        "stream": stream,
        "subject": msg.subject,
        "seq": msg.metadata.sequence.stream,
        "msg_id": headers.get("Nats-Msg-Id"),
        "traceparent": headers.get(TRACEPARENT),
    }
    try:
        event = decode_event(msg.data)
    except DecodeError as exc:
        doc["error"] = str(exc)
        doc["size"] = len(msg.data)
    else:
        doc["type"] = type(event).__name__
        doc["event"] = event.model_dump(mode="json")
    return json.dumps(doc, separators=(",", ":"))


@click.command("tail")
@click.argument("stream", type=click.Choice(list(STREAM_BY_NAME), case_sensitive=False))
@click.option("--nats-url", help=_URL_HELP)
@click.option("-n", "--count", type=click.IntRange(min=1), help="exit after N events")
@click.option("--all", "from_start", is_flag=True, help="start at the oldest stored event")
@click.option("--subject", help="only subjects matching this filter, e.g. md.raydium-cpmm.>")
@click.option("--timeout", type=float, help="exit after this many seconds")
def tail(
    stream: str,
    nats_url: str | None,
    count: int | None,
    from_start: bool,
    subject: str | None,
    timeout: float | None,
) -> None:
    """Print the events of STREAM live, one JSON object per line, decoded."""
    url = resolve_url(nats_url)
    stream = stream.upper()
    spec = STREAM_BY_NAME[stream]

    async def main() -> None:
        nc = await connect_nats(url, name="lstarb-tail")
        js = nc.jetstream()
        try:
            sub = await js.subscribe(
                subject or spec.subjects[0],
                stream=stream,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW,
            )
        except nats.errors.Error as exc:
            await nc.close()
            raise BusError(f"cannot tail {stream}: {exc!r} (is the stream created?)") from None
        click.echo(f"tailing {stream} at {url} (Ctrl-C to stop)", err=True)
        seen = 0
        end = None if timeout is None else time.monotonic() + timeout
        try:
            while count is None or seen < count:
                wait = None if end is None else end - time.monotonic()
                if wait is not None and wait <= 0:
                    break
                try:
                    msg = await sub.next_msg(timeout=wait if wait is not None else 3600)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                click.echo(_line(msg, stream))
                sys.stdout.flush()
                seen += 1
        finally:
            await nc.close()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way out
        _run(main())
