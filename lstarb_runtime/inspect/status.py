"""``lstarb status``: one screen saying whether the deployment is working.

What it answers, and where from:

- each service's lag: every durable consumer on every stream (JetStream consumer info:
  ``num_pending`` not yet delivered, ``num_ack_pending`` delivered and not acknowledged).
  Consumers of a service group (``planner``, ``executor``, ``auditor``) are listed one by one;
  the per-process readers (``tape-*``, ``auditor-plans-*``: each process reads the whole stream
  through an ephemeral consumer of its own, which the server deletes soon after the process is
  gone) are summarised per kind, with the durable ones older versions left behind counted
  apart (the server never deletes those);
- the kill switch: the ``control`` bucket's ``halted`` key (any key naming a halt is shown),
  else the last KILL_SWITCH/RESUME command on SYSTEM, else "never thrown";
- how fresh each data source is: the last account updates on the MARKET_DATA tape, grouped by
  their ``source``: when each was received, its newest slot;
- today's realized P&L (UTC day) from the ledger, per paper/live and base mint.

Every part is gathered on its own: a part that cannot be read says why, the others still show.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from lstarb_runtime.ledger import SOL_MINT, Ledger, LedgerError, LedgerNotFound, TradeFilter
from lstarb_runtime.ledger.recorder import start_of_day_ns
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import AccountEvent, Command, SystemCommandEvent, decode_event

from .reading import ConsumerLag, consumer_lags, read, stream_infos

SOURCE_WINDOW: Final = 5_000
"""Account updates read from the end of the tape to date each data source."""
SYSTEM_WINDOW: Final = 1_000
"""SYSTEM commands read from its end for the last kill/resume (when the bucket has no key)."""
CONTROL_BUCKET: Final = "control"
CONTROL_READS: Final = 3
"""Tries at reading the control bucket before the kill switch is shown from SYSTEM."""
HALT_KEY: Final = "halted"
_PER_PROCESS: Final = re.compile(r"^(?P<kind>[a-z]+(?:-[a-z]+)*)-.+-\d+-[0-9a-f]{6}$")


def follower_kind(durable: str) -> str | None:
    """``tape`` for ``tape-host-123-abcdef``: a reader of one process; None for a group."""
    found = _PER_PROCESS.match(durable)
    return found.group("kind") if found else None


@dataclass
class FollowerGroup:
    """Per-process readers of one kind on one stream, summarised."""

    stream: str
    kind: str
    count: int = 0
    active: int = 0
    max_lag: int = 0
    """The largest lag among the active readers (an idle reader's lag only grows)."""
    leftover: int = 0
    """Idle durables of this shape, from versions whose readers were durable: they stay until
    deleted by hand (ephemeral readers idle now are gone within their threshold)."""


@dataclass
class KillSwitch:
    halted: bool | None
    """None: nothing says (no key in the bucket, no command on SYSTEM)."""
    reason: str = ""
    by: str = ""
    since_ns: int = 0
    source: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    """Every key of the control bucket naming a halt, with its raw value (for people)."""
    problem: str = ""
    """Why the control bucket, which decides, could not be read (then SYSTEM is shown)."""


@dataclass
class SourceAge:
    source: str
    updates: int
    last_received_ns: int
    last_slot: int
    age_s: float
    slots_behind: int
    """Behind the newest slot any source delivered in the window."""


@dataclass
class PnlToday:
    ledger: str
    day: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""


@dataclass
class Status:
    nats_url: str
    now_ns: int
    streams: dict[str, int] = field(default_factory=dict)
    """messages per stream (-1: not created)."""
    services: list[ConsumerLag] = field(default_factory=list)
    followers: list[FollowerGroup] = field(default_factory=list)
    kill_switch: KillSwitch = field(default_factory=lambda: KillSwitch(None))
    sources: list[SourceAge] = field(default_factory=list)
    sources_window: int = 0
    pnl: PnlToday | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for row, lag in zip(doc["services"], self.services, strict=True):
            row["lag"] = lag.lag
        return doc


async def gather(
    nc: Client,
    nats_url: str,
    ledger_url: str | None,
    *,
    window: int = SOURCE_WINDOW,
    now_ns: Callable[[], int] = time.time_ns,
) -> Status:
    """Everything ``lstarb status`` shows, read now (``ledger_url`` None: no P&L part)."""
    status = Status(nats_url, now_ns())
    infos = await stream_infos(nc)
    status.streams = {n: (i.messages if i.exists else -1) for n, i in infos.items()}
    if not any(i.exists for i in infos.values()):
        status.problems.append(
            f"no lstarb streams at {nats_url}: nothing has run on this server yet"
        )
    groups: dict[tuple[str, str], FollowerGroup] = {}
    for lag in await consumer_lags(nc):
        kind = follower_kind(lag.durable)
        if kind is None:
            status.services.append(lag)
            continue
        group = groups.setdefault((lag.stream, kind), FollowerGroup(lag.stream, kind))
        group.count += 1
        if lag.waiting > 0:
            group.active += 1
            group.max_lag = max(group.max_lag, lag.lag)
        elif not lag.ephemeral:
            group.leftover += 1
    status.followers = sorted(groups.values(), key=lambda g: (g.stream, g.kind))
    status.kill_switch = await kill_switch(nc, infos["SYSTEM"].last_seq)
    if status.kill_switch.problem:
        status.problems.append(status.kill_switch.problem)
    market = infos["MARKET_DATA"]
    if market.exists and market.last_seq:
        start = max(market.first_seq, market.last_seq - window + 1)
        status.sources = await source_ages(nc, start, market.last_seq, status.now_ns)
        status.sources_window = window
    if ledger_url is not None:
        status.pnl = pnl_today(ledger_url, status.now_ns)
    return status


async def kill_switch(nc: Client, system_last_seq: int) -> KillSwitch:
    """The halted state: the control bucket's key, else the last SYSTEM kill/resume."""
    keys, problem = await _halt_keys(nc)
    if keys:
        name = HALT_KEY if HALT_KEY in keys else sorted(keys)[0]
        found = _from_value(keys[name])
        if found is not None:
            found.source = f"{CONTROL_BUCKET} bucket, key {name}"
            found.keys = keys
            return found
    last = await _last_command(nc, system_last_seq)
    if last is not None:
        halted = last.command is Command.KILL_SWITCH
        return KillSwitch(
            halted,
            last.reason,
            last.triggered_by,
            last.time_ns,
            f"SYSTEM command {last.id}",
            keys,
            problem,
        )
    unknown = bool(keys or problem)  # a key that says nothing readable, or no bucket read
    return KillSwitch(None if unknown else False, source="never thrown", keys=keys, problem=problem)


async def _halt_keys(nc: Client) -> tuple[dict[str, str], str]:
    """The control bucket's keys naming a halt, with their raw values, and why they could
    not be read ("" when they could, or when there is no bucket or key).

    The halted key is read by its name: nats-py's key listing can answer "no keys" for a
    bucket that holds one (1 listing in 400 on a busy machine), and that must not pass for
    a bucket without it, which would show the SYSTEM stream's last command instead of the
    key that decides. The listing only adds other keys naming a halt. Asked again on a
    timeout or a server error (a loaded machine), then said.
    """
    failure: Exception | None = None
    for _ in range(CONTROL_READS):
        keys: dict[str, str] = {}
        try:
            kv = await nc.jetstream().key_value(CONTROL_BUCKET)
            try:
                names = [HALT_KEY, *(n for n in await kv.keys() if n != HALT_KEY)]
            except nats.js.errors.NoKeysError:
                names = [HALT_KEY]
            for name in names:
                if "halt" not in name:
                    continue
                try:
                    entry = await kv.get(name)
                except nats.js.errors.KeyNotFoundError:  # none, or deleted meanwhile
                    continue
                keys[name] = (entry.value or b"").decode(errors="replace")
        except nats.js.errors.BucketNotFoundError:
            return {}, ""
        except nats.errors.Error as exc:
            failure = exc
            continue
        return keys, ""
    what = type(failure).__name__
    detail = f": {failure}" if str(failure) and str(failure) != what else ""
    return {}, (
        f"the {CONTROL_BUCKET} bucket, whose halted key decides, could not be read "
        f"({what}{detail}, {CONTROL_READS} tries); the kill switch shown is from SYSTEM"
    )


def _from_value(text: str) -> KillSwitch | None:
    try:
        doc = json.loads(text)
    except ValueError:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "halted"):
            return KillSwitch(True)
        if lowered in ("false", "0", "no", ""):
            return KillSwitch(False)
        return None
    if isinstance(doc, bool):
        return KillSwitch(doc)
    if not isinstance(doc, dict) or not isinstance(doc.get("halted"), bool):
        return None
    return KillSwitch(
        doc["halted"],
        str(doc.get("reason", "")),
        str(doc.get("by", "")),
        int(doc.get("since_ns", 0) or 0),
    )


async def _last_command(nc: Client, last_seq: int) -> SystemCommandEvent | None:
    if last_seq <= 0:
        return None
    found: SystemCommandEvent | None = None
    start = max(1, last_seq - SYSTEM_WINDOW + 1)
    async for msg in read(nc, "SYSTEM", "system.>", start_seq=start, last_seq=last_seq):
        try:
            event = decode_event(msg.data)
        except DecodeError:
            continue
        if isinstance(event, SystemCommandEvent) and event.command in (
            Command.KILL_SWITCH,
            Command.RESUME,
        ):
            found = event
    return found


async def source_ages(nc: Client, start: int, last: int, now_ns: int) -> list[SourceAge]:
    """Per data source: updates in the window, when the newest was received, its slot."""
    seen: dict[str, list[int]] = {}
    async for msg in read(nc, "MARKET_DATA", "md.account.>", start_seq=start, last_seq=last):
        try:
            event = decode_event(msg.data)
        except DecodeError:
            continue
        if not isinstance(event, AccountEvent):
            continue
        received = event.received_ns or msg.time_ns
        row = seen.setdefault(event.source or "(unnamed)", [0, 0, 0])
        row[0] += 1
        row[1] = max(row[1], received)
        row[2] = max(row[2], event.slot)
    top = max((r[2] for r in seen.values()), default=0)
    return [
        SourceAge(name, n, received, slot, max(0.0, (now_ns - received) / 1e9), top - slot)
        for name, (n, received, slot) in sorted(seen.items())
    ]


def pnl_today(url: str, now_ns: int) -> PnlToday:
    day_start = start_of_day_ns(now_ns)
    day = time.strftime("%Y-%m-%d", time.gmtime(day_start / 1e9))
    try:
        with Ledger.open(url, create=False) as ledger:
            where = ledger.where
            rows = ledger.pnl(("outcome",), TradeFilter(since_ns=day_start))
    except LedgerNotFound as exc:
        return PnlToday(url, day, problem=f"{exc} (the auditor creates it)")
    except LedgerError as exc:
        return PnlToday(url, day, problem=str(exc))
    totals: dict[tuple[bool, str], dict[str, Any]] = {}
    for row in rows:
        key = (row.paper, row.base_mint)
        total = totals.setdefault(
            key,
            {
                "mode": "paper" if row.paper else "live",
                "base_mint": row.base_mint,
                "trades": 0,
                "realized_profit": 0,
                "outcomes": {},
            },
        )
        total["trades"] += row.trades
        total["realized_profit"] += row.realized_profit
        total["outcomes"][row.group["outcome"]] = row.trades
    return PnlToday(where, day, [totals[k] for k in sorted(totals)])


# ---------------------------------------------------------------------- the screen
def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.0f}d"


def _amount(row: dict[str, Any]) -> str:
    value = row["realized_profit"]
    if row["base_mint"] == SOL_MINT:
        return f"{value / 1e9:+.9f} SOL"
    return f"{value:+d} units of {row['base_mint'][:8]}…"


def render(status: Status) -> list[str]:
    """The screen, as lines."""
    now = status.now_ns
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now / 1e9))
    out = [f"lstarb status at {when} ({status.nats_url})"]
    out.extend(f"! {p}" for p in status.problems)
    ks = status.kill_switch
    if ks.halted is None:
        state = "unknown: " + ", ".join(f"{k}={v!r}" for k, v in ks.keys.items())
    elif ks.halted:
        since = time.strftime("%H:%M:%S", time.gmtime(ks.since_ns / 1e9)) if ks.since_ns else "?"
        by = f" by {ks.by}" if ks.by else ""
        state = f"HALTED since {since}{by}: {ks.reason or '(no reason given)'}"
    else:
        state = "running" + (f" (resumed: {ks.reason})" if ks.reason else "")
    out += ["", f"kill switch   {state}  [{ks.source}]"]

    out += ["", "services      STREAM         CONSUMER        LAG  PENDING  UNACKED  ACTIVE"]
    if not status.services:
        out.append("              (no service consumers yet)")
    for c in sorted(status.services, key=lambda c: (c.stream, c.durable)):
        if c.waiting:
            active = "fetching"
        elif c.last_active_ns:
            active = f"{_age((now - c.last_active_ns) / 1e9)} ago"
        else:
            active = "never"
        out.append(
            f"              {c.stream:<14} {c.durable:<12} {c.lag:>6} {c.pending:>8} "
            f"{c.ack_pending:>8}  {active}"
        )
    for g in status.followers:
        idle = g.count - g.active - g.leftover
        left = (
            f"; {g.leftover} durable left by an older version (nats consumer rm {g.stream})"
            if g.leftover
            else ""
        )
        out.append(
            f"              {g.stream:<14} {g.kind + '-*':<12} {g.max_lag:>6}  "
            f"({g.active} per-process readers fetching, the largest lag;"
            f" {idle} idle, deleted by the server soon after their process is gone{left})"
        )

    out += ["", f"data sources  (the last {status.sources_window} tape updates)"]
    if not status.sources:
        out.append("              no account updates on MARKET_DATA")
    for s in status.sources:
        out.append(
            f"              {s.source:<22} last update {_age(s.age_s)} ago, slot {s.last_slot}"
            f" ({s.slots_behind} behind), {s.updates} updates"
        )

    out.append("")
    pnl = status.pnl
    if pnl is None:
        out.append("P&L today     (no ledger configured)")
    elif pnl.problem:
        out.append(f"P&L today     {pnl.problem}")
    elif not pnl.rows:
        out.append(f"P&L today     no trades recorded on {pnl.day} ({pnl.ledger})")
    else:
        out.append(f"P&L today     {pnl.day} UTC ({pnl.ledger})")
        for row in pnl.rows:
            outcomes = ", ".join(f"{n} {o}" for o, n in sorted(row["outcomes"].items()))
            trades = f"{row['trades']} trades ({outcomes})"
            out.append(f"              {row['mode']:<6} {_amount(row)}  {trades}")
    streams = ", ".join(f"{n} {m if m >= 0 else '-'}" for n, m in status.streams.items())
    out += ["", f"streams       {streams}"]
    return out
