"""What a run has done so far: one status line while it runs, the pipeline rows of its summary.

Why one tally for both: the line a user watches and the summary they read at the end must
count the same things the same way. Each number comes from the service of this process that
owns it (pools and updates from the scanner, plans from the planner, outcomes and P&L from
the executor); a role another process runs is left out of the line, not shown as zero.

On a terminal the line is redrawn in place about once a second; otherwise (a log file, a
pipe, CI) a plain ``progress`` line is printed every ``plain_every_s`` seconds.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, TextIO

from lstarb_runtime.services.base import Service

TTY_EVERY_S: Final = 1.0
PLAIN_EVERY_S: Final = 10.0
CLEAR_LINE: Final = "\r\x1b[2K"


@dataclass
class Tally:
    """The pipeline's counts in this process; None: the role runs elsewhere (or not at all)."""

    pools: int | None = None
    updates: int | None = None
    opportunities: int | None = None
    distinct_opportunities: int | None = None
    """Opportunities stored on OPPORTUNITIES (a strategy reporting one again is de-duplicated)."""
    plans: int | None = None
    rejected: int | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    pnl_lamports: int | None = None
    recorded: int | None = None
    """EXECUTED results the auditor handled (ledger rows written or found already there)."""

    @property
    def executions(self) -> int | None:
        if not self.outcomes and self.pnl_lamports is None:
            return None  # no executor in this process
        return sum(self.outcomes.values())

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["executions"] = self.executions
        return doc


def _by_role(services: Sequence[Service]) -> dict[str, Service]:
    return {s.role: s for s in services}


def tally(services: Sequence[Service]) -> Tally:
    """Read the counts off the services (cheap: attributes and counters, no I/O)."""
    roles = _by_role(services)
    t = Tally()
    scanner = roles.get("scanner")
    if scanner is not None:
        book = getattr(scanner, "book", None)
        t.pools = len(book.pools) if book is not None else 0
        t.updates = int(getattr(scanner, "seq", 0))
        t.opportunities = scanner.stats.counters["opportunities"]
    planner = roles.get("planner")
    if planner is not None:
        c = planner.stats.counters
        t.plans = c["plans"]
        t.rejected = sum(getattr(planner, "rejected", {}).values())
        if t.opportunities is None:
            t.opportunities = t.plans + t.rejected
        market = getattr(planner, "market", None)
        if t.pools is None and market is not None:
            t.pools = len(market.book.pools)
    executor = roles.get("executor")
    if executor is not None:
        t.outcomes = dict(getattr(executor, "outcomes", {}))
        t.pnl_lamports = int(getattr(executor, "pnl", 0))
    auditor = roles.get("auditor")
    if auditor is not None:
        t.recorded = sum(c.stats.handled for c in auditor.consumers if c.stream == "EXECUTED")
    return t


def sol(lamports: int) -> str:
    """Lamports as signed SOL: ``+0.066049883 SOL``."""
    return f"{lamports / 1e9:+.9f} SOL"


def status_line(t: Tally, elapsed_s: float, updates_per_s: float | None) -> str:
    """One short line: what a user watching the run wants to see move."""
    parts = [f"{elapsed_s:4.0f}s"]
    if t.pools is not None:
        parts.append(f"{t.pools} pools")
    if t.updates is not None:
        parts.append(f"{updates_per_s or 0:.0f} updates/s")
    if t.opportunities is not None:
        parts.append(f"{t.opportunities} opportunities")
    if t.plans is not None:
        parts.append(f"{t.plans} plans")
    if t.executions is not None:
        o = t.outcomes
        parts.append(f"{o.get('landed', 0)} landed / {o.get('failed', 0)} failed")
    if t.pnl_lamports is not None:
        parts.append(f"P&L {t.pnl_lamports / 1e9:+.6f} SOL")
    if t.recorded is not None:
        parts.append(f"{t.recorded} in ledger")
    return " | ".join(parts)


class Progress:
    """The status line of a run; :meth:`echo` prints a message without tearing the line."""

    def __init__(
        self,
        echo: Callable[[str], None],
        *,
        tty: bool | None = None,
        stream: TextIO | None = None,
        plain_every_s: float = PLAIN_EVERY_S,
    ) -> None:
        self._echo = echo
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s = TTY_EVERY_S if self.tty else plain_every_s
        self.services: Sequence[Service] = ()
        self.started = time.monotonic()
        self._shown = False
        self._last: tuple[float, int] | None = None

    def echo(self, text: str) -> None:
        """A message line: the status line is cleared first and drawn again on the next tick."""
        self.clear()
        self._echo(text)

    def clear(self) -> None:
        if self._shown:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self._shown = False

    def line(self) -> str:
        t = tally(self.services)
        now = time.monotonic()
        rate = None
        if t.updates is not None:
            since, before = self._last or (self.started, 0)  # the first line: since the start
            if now > since:
                rate = (t.updates - before) / (now - since)
            self._last = (now, t.updates)
        return status_line(t, now - self.started, rate)

    def draw(self) -> None:
        text = self.line()
        if self.tty:
            width = _width()
            self.stream.write(CLEAR_LINE + text[: width - 1])
            self.stream.flush()
            self._shown = True
        else:
            self._echo(f"progress {text}")

    async def run(self, services: Sequence[Service]) -> None:
        """Draw every ``every_s`` seconds until cancelled (the run's end), then clear."""
        self.services = services
        self.started = time.monotonic()
        try:
            while True:
                await asyncio.sleep(self.every_s)
                self.draw()
        finally:
            self.clear()


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns
