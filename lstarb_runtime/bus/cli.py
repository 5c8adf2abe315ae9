"""``lstarb streams``, ``tail``, ``record`` and ``nats``: the bus from a terminal.

``streams`` and ``tail`` neither start a server nor create streams: they inspect what a run (or
a cluster) has. ``tail`` and ``record`` use an ephemeral ordered consumer, so they never move a
service's durable position. ``nats`` runs a server in the foreground for as long as you want
one, so the streams outlive the run that filled them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from lstarb_runtime.bus.connection import connect_nats
from lstarb_runtime.bus.embedded import EmbeddedNats, is_loopback, parse_url, probe
from lstarb_runtime.bus.interface import BusError, wrong_stream
from lstarb_runtime.bus.jetstream import JetStreamBus
from lstarb_runtime.bus.recording import Record, RecordingError, RecordingWriter
from lstarb_runtime.bus.streams import STREAM_BY_NAME, subject_within
from lstarb_runtime.bus.tracing import TRACEPARENT
from lstarb_sdk.errors import ConfigError, DecodeError
from lstarb_sdk.events import decode_event
from lstarb_sdk.redact import mask_url

_URL_HELP = "NATS server URL (default: nats.url from the configuration, nats://127.0.0.1:4222)"
_WAIT_POLL = 0.5


def nats_settings(flag: str | None) -> Any:
    """``[nats]`` of the configuration (LSTARB_CONFIG, LSTARB_NATS__*) with ``--nats-url`` over
    it, validated: a bad URL is a usage error naming the key and what is wrong."""
    from lstarb_runtime.config import load_config

    try:
        return load_config(None, overrides={"nats.url": flag}).settings.nats
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def resolve_url(flag: str | None) -> str:
    """The flag, else ``nats.url`` from LSTARB_CONFIG / LSTARB_NATS__URL, else the default."""
    url: str = nats_settings(flag).url
    return url


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
        return json.dumps(doc, separators=(",", ":"))
    doc["type"] = type(event).__name__
    problem = wrong_stream(event, stream)
    if problem is not None:  # flagged, not shown as if it belonged (consumers refuse it too)
        doc["error"] = problem
    else:
        doc["event"] = event.model_dump(mode="json")
    return json.dumps(doc, separators=(",", ":"))


async def _connect(url: str, wait: bool, end: float | None) -> Client:
    """Connect; with ``wait``, keep trying (saying so once on stderr) until ``end``."""
    said = False
    while True:
        try:
            return await connect_nats(url, name="lstarb-tail")
        except BusError as exc:
            if not wait or (end is not None and time.monotonic() >= end):
                raise
            if not said:
                click.echo(f"waiting for NATS at {mask_url(url)} ({exc}); Ctrl-C to stop", err=True)
                said = True
            await asyncio.sleep(_WAIT_POLL)


async def _await_stream(nc: Client, stream: str, url: str, wait: bool, end: float | None) -> None:
    js = nc.jetstream()
    said = False
    while True:
        try:
            await js.stream_info(stream)
            return
        except nats.js.errors.NotFoundError:
            if not wait or (end is not None and time.monotonic() >= end):
                raise BusError(
                    f"stream {stream} does not exist at {mask_url(url)}: a run creates it "
                    "(lstarb run), "
                    "as does lstarb nats; or use tail --wait"
                ) from None
            if not said:
                click.echo(f"waiting for stream {stream} at {mask_url(url)}", err=True)
                said = True
            await asyncio.sleep(_WAIT_POLL)
        except nats.errors.Error as exc:
            raise BusError(f"cannot tail {stream} at {mask_url(url)}: {exc!r}") from None


@click.command("tail")
@click.argument("stream", type=click.Choice(list(STREAM_BY_NAME), case_sensitive=False))
@click.option("--nats-url", help=_URL_HELP)
@click.option("-n", "--count", type=click.IntRange(min=1), help="exit after N events")
@click.option("--all", "from_start", is_flag=True, help="start at the oldest stored event")
@click.option("--subject", help="only subjects matching this filter, e.g. md.raydium-cpmm.>")
@click.option("--timeout", type=float, help="exit after this many seconds")
@click.option("--wait", is_flag=True, help="wait for the server and the stream instead of failing")
def tail(
    stream: str,
    nats_url: str | None,
    count: int | None,
    from_start: bool,
    subject: str | None,
    timeout: float | None,
    wait: bool,
) -> None:
    """Print the events of STREAM live, one JSON object per line, decoded.

    An event that is not a valid event of STREAM (malformed, or of another stream's type) is
    printed with an ``error`` instead of its body: consumers skip it.
    """
    url = resolve_url(nats_url)
    stream = stream.upper()
    spec = STREAM_BY_NAME[stream]
    if subject is not None and not any(subject_within(subject, p) for p in spec.subjects):
        raise click.UsageError(
            f"--subject {subject!r} is not within {stream}'s subjects ({', '.join(spec.subjects)})"
        )

    async def main() -> None:
        end = None if timeout is None else time.monotonic() + timeout
        nc = await _connect(url, wait, end)
        try:
            await _await_stream(nc, stream, url, wait, end)
            try:
                sub = await nc.jetstream().subscribe(
                    subject or spec.subjects[0],
                    stream=stream,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW,
                )
            except nats.js.errors.APIError as exc:
                raise BusError(f"cannot tail {stream}: {exc.description or exc!r}") from None
            click.echo(f"tailing {stream} at {mask_url(url)} (Ctrl-C to stop)", err=True)
            seen = 0
            while count is None or seen < count:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    break
                try:
                    msg = await sub.next_msg(timeout=left if left is not None else 3600)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                click.echo(_line(msg, stream))
                sys.stdout.flush()
                seen += 1
        finally:
            await nc.close()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way out
        _run(main())


@click.command("record")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="directory to write (new or empty)",
)
@click.option(
    "--stream",
    "streams",
    multiple=True,
    type=click.Choice(list(STREAM_BY_NAME), case_sensitive=False),
    help="a stream to record (repeat for several; default MARKET_DATA). "
    "OPPORTUNITIES beside MARKET_DATA is what `lstarb replay --role planner --tape` plays",
)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="stop after S")
@click.option("-n", "--count", type=click.IntRange(min=1), help="stop after N events")
@click.option("--new", "only_new", is_flag=True, help="only events published from now on")
@click.option("--nats-url", help=_URL_HELP)
@click.option("--wait", is_flag=True, help="wait for the server and the stream instead of failing")
def record(
    out: Path,
    streams: tuple[str, ...],
    duration: float | None,
    count: int | None,
    only_new: bool,
    nats_url: str | None,
    wait: bool,
) -> None:
    """Save streams (MARKET_DATA, the market tape and pool states, by default) to a directory.

    Everything each stream holds, then what comes, until --duration, --count (events of all
    streams together), Ctrl-C or SIGTERM (--new: only what comes). The replay data source plays
    the MARKET_DATA of the directory back (``[plugins.replay] path = "DIR"``, ``speed``);
    ``lstarb replay --role planner --tape DIR`` plays MARKET_DATA and OPPORTUNITIES through
    the planner. The format: docs/streams.md, "Recording".
    """
    url = resolve_url(nats_url)
    chosen = list(dict.fromkeys(s.upper() for s in streams)) or ["MARKET_DATA"]
    chosen.sort(key=lambda s: s != "MARKET_DATA")  # the manifest's main stream, when recorded
    try:
        writer = RecordingWriter(out, nats_url=url, streams=chosen)
    except RecordingError as exc:
        raise click.UsageError(str(exc)) from None
    written = 0

    async def follow(nc: Client, stream: str, done: asyncio.Event) -> None:
        nonlocal written
        sub = await nc.jetstream().subscribe(
            STREAM_BY_NAME[stream].subjects[0],
            stream=stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW if only_new else DeliverPolicy.ALL,
        )
        while not done.is_set():
            try:
                msg = await sub.next_msg(timeout=0.25)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            meta = msg.metadata
            writer.write(
                Record(
                    meta.sequence.stream,
                    int(meta.timestamp.timestamp() * 1_000_000) * 1000,
                    msg.subject,
                    msg.data,
                    dict(msg.headers or {}),
                ),
                stream,
            )
            written += 1
            if count is not None and written >= count:
                done.set()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        end = None if duration is None else time.monotonic() + duration
        nc = await _connect(url, wait, end)
        try:
            for stream in chosen:
                await _await_stream(nc, stream, url, wait, end)
            click.echo(
                f"recording {', '.join(chosen)} at {mask_url(url)} to {out} (Ctrl-C to stop)",
                err=True,
            )
            tasks = [asyncio.create_task(follow(nc, s, stop)) for s in chosen]
            left = None if end is None else max(0.0, end - time.monotonic())
            try:
                await asyncio.wait_for(stop.wait(), left)
            except TimeoutError:
                stop.set()
            await asyncio.gather(*tasks)
        finally:
            await nc.close()

    try:
        _run(main())
    finally:
        m = writer.close()
        others = "".join(
            f", {e['messages']} {s} events" for s, e in m.streams.items() if s != "MARKET_DATA"
        )
        click.echo(
            f"recorded {m.streams.get('MARKET_DATA', {}).get('messages', 0)} MARKET_DATA events "
            f"({m.account_events} account updates, {m.pool_states} pool states){others} to {out}",
            err=True,
        )


@click.command("nats")
@click.option("--nats-url", help=_URL_HELP)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="store directory (default: nats.data_dir of the configuration, .lstarb/nats)",
)
def nats_cmd(nats_url: str | None, data_dir: Path | None) -> None:
    """Run a nats-server with JetStream in the foreground, as a run would embed it.

    Same URL and data directory as ``lstarb run`` (``nats.url``, ``nats.data_dir``), with the
    six streams created, so ``lstarb streams``, ``lstarb tail`` and later runs find the bus and
    what it holds after a run has ended. Ctrl-C or SIGTERM stops it (file streams are flushed).
    Only on this machine's loopback.
    """
    settings = nats_settings(nats_url)
    url: str = settings.url
    host, port = parse_url(url)
    try:
        if not is_loopback(host):
            raise click.UsageError(f"lstarb nats runs a server on this machine only; {host} is not")
    except BusError as exc:
        raise click.UsageError(str(exc)) from None
    if probe(host, port) == "nats":
        raise click.ClickException(f"a NATS server already answers at {mask_url(url)}; use it")
    server = EmbeddedNats(url, data_dir or settings.data_dir)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        try:
            server.start()
            _run(_create_streams(url))
        except BusError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"nats-server at {mask_url(url)} (data in {server.store_dir}, log {server.log_file}); "
            "the six streams are ready; Ctrl-C to stop"
        )
        sys.stdout.flush()
        while not stop.wait(_WAIT_POLL):
            if not server.running:
                raise click.ClickException(f"nats-server exited; see {server.log_file}")
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("nats-server stopped")


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _create_streams(url: str) -> None:
    bus = await JetStreamBus.connect(url)
    try:
        await bus.ensure_streams()
    finally:
        await bus.close()
