"""The P&L ledger: every execution result once, and realized P&L summed from those rows.

Exactly once: a trade is keyed by (plan id, outcome). The EXECUTED stream may hand the auditor
the same result again (a redelivery after a restart, a duplicate published outside the
de-duplication window); :meth:`Ledger.record` writes it only the first time, keeping the
stream sequence it first came with, and says whether it wrote. Trade and legs go in one
transaction, so a crash never leaves half a trade.

The methods are synchronous and thread-safe (one lock per ledger): an async service calls
them through ``asyncio.to_thread``; a trade every few seconds does not justify an async driver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lstarb_runtime.closing import Closing

from .drivers import Driver, Row, open_driver
from .errors import LedgerError, LedgerNotFound
from .migrations import check_version, current_version, migrate
from .record import SOL_MINT, TradeLeg, TradeRecord

DIMENSIONS: Final = ("day", "strategy", "route", "outcome")
"""What P&L can be grouped by (column names of ``trades``)."""


def ledger_url(database_url: str | None, path: Path) -> str:
    """Where the ledger is: ``[auditor] database_url`` when set, else SQLite at ``path``."""
    return database_url or f"sqlite:{path}"


_TRADE_COLUMNS: Final = (
    "plan_id",
    "outcome",
    "opportunity_id",
    "strategy",
    "route",
    "base_mint",
    "paper",
    "in_amount",
    "out_amount",
    "fee_lamports",
    "tip_lamports",
    "loan_fee",
    "realized_profit",
    "signature",
    "slot",
    "error",
    "submitter",
    "funding_provider",
    "completed_ns",
    "day",
    "stream_seq",
    "recorded_ns",
)
_LEG_COLUMNS: Final = (
    "plan_id",
    "outcome",
    "leg",
    "pool",
    "dex",
    "input_mint",
    "output_mint",
    "in_amount",
    "out_amount",
    "fee_amount",
)


def _insert(table: str, columns: Sequence[str], conflict: str = "") -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){conflict}"


_INSERT_TRADE: Final = _insert(
    "trades", _TRADE_COLUMNS, " ON CONFLICT (plan_id, outcome) DO NOTHING"
)
_INSERT_LEG: Final = _insert("trade_legs", _LEG_COLUMNS)


@dataclass(frozen=True)
class TradeFilter:
    """Which trades: completed in [since_ns, until_ns), paper or live (None: both), of one
    base mint (None: any), of some plans (None: any; ``lstarb explain`` asks for one)."""

    since_ns: int | None = None
    until_ns: int | None = None
    paper: bool | None = None
    base_mint: str | None = None
    plan_ids: tuple[str, ...] | None = None

    def sql(self, alias: str = "") -> tuple[str, list[Any]]:
        """A ``WHERE`` clause (or "") and its parameters."""
        prefix = f"{alias}." if alias else ""
        terms: list[str] = []
        params: list[Any] = []
        if self.since_ns is not None:
            terms.append(f"{prefix}completed_ns >= ?")
            params.append(self.since_ns)
        if self.until_ns is not None:
            terms.append(f"{prefix}completed_ns < ?")
            params.append(self.until_ns)
        if self.paper is not None:
            terms.append(f"{prefix}paper = ?")
            params.append(self.paper)
        if self.base_mint is not None:
            terms.append(f"{prefix}base_mint = ?")
            params.append(self.base_mint)
        if self.plan_ids is not None:
            if not self.plan_ids:
                terms.append("1 = 0")
            else:
                terms.append(f"{prefix}plan_id IN ({', '.join('?' * len(self.plan_ids))})")
                params.extend(self.plan_ids)
        return (" WHERE " + " AND ".join(terms) if terms else ""), params


@dataclass(frozen=True)
class PnlRow:
    """Realized P&L of one group; amounts are sums of the group's rows.

    ``realized_profit`` and ``loan_fee`` are in the smallest unit of ``base_mint``;
    ``fee_lamports`` and ``tip_lamports`` in lamports.
    """

    group: dict[str, str]
    paper: bool
    base_mint: str
    trades: int
    realized_profit: int
    fee_lamports: int
    tip_lamports: int
    loan_fee: int


class Ledger(Closing):
    """A ledger database, migrated to the latest schema when opened for writing."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Ledger:
        """Open the ledger at ``url`` (``sqlite:PATH`` or ``postgresql://...``).

        ``create=True`` (the auditor) creates and migrates it; ``create=False`` (readers)
        raises :class:`LedgerNotFound` when nothing has been recorded there yet.
        """
        driver = open_driver(url, create=create)
        try:
            if create:
                migrate(driver)
            else:
                version = current_version(driver)
                if version == 0:
                    raise LedgerNotFound(f"no ledger tables in {driver.where}")
                check_version(version, driver.where)
        except BaseException:
            driver.close()
            raise
        return cls(driver)

    @property
    def where(self) -> str:
        return self._driver.where

    @property
    def dialect(self) -> str:
        return self._driver.dialect

    @contextmanager
    def _locked(self) -> Iterator[Driver]:
        with self._lock:
            yield self._driver

    def record(self, trade: TradeRecord) -> bool:
        """Store ``trade`` unless (plan id, outcome) is already there; True if stored now."""
        row = (
            trade.plan_id,
            trade.outcome,
            trade.opportunity_id,
            trade.strategy,
            trade.route,
            trade.base_mint,
            trade.paper,
            trade.in_amount,
            trade.out_amount,
            trade.fee_lamports,
            trade.tip_lamports,
            trade.loan_fee,
            trade.realized_profit,
            trade.signature,
            trade.slot,
            trade.error,
            trade.submitter,
            trade.funding_provider,
            trade.completed_ns,
            trade.day,
            trade.stream_seq,
            time.time_ns(),
        )
        with self._locked() as db, db.transaction():
            if db.execute(_INSERT_TRADE, row) == 0:
                return False
            for i, leg in enumerate(trade.legs):
                db.execute(
                    _INSERT_LEG,
                    (
                        trade.plan_id,
                        trade.outcome,
                        i,
                        leg.pool,
                        leg.dex,
                        leg.input_mint,
                        leg.output_mint,
                        leg.in_amount,
                        leg.out_amount,
                        leg.fee_amount,
                    ),
                )
        return True

    def trades(self, where: TradeFilter = TradeFilter()) -> list[TradeRecord]:
        """The trades matching ``where``, oldest first, with their legs."""
        clause, params = where.sql("t")
        columns = ", ".join(f"t.{c}" for c in _TRADE_COLUMNS)
        order = " ORDER BY t.completed_ns, t.plan_id, t.outcome"
        leg_columns = ", ".join(f"l.{c}" for c in _LEG_COLUMNS)
        with self._locked() as db:
            rows = db.query(f"SELECT {columns} FROM trades t{clause}{order}", params)
            leg_rows = db.query(
                f"SELECT {leg_columns} FROM trade_legs l JOIN trades t"
                f" ON t.plan_id = l.plan_id AND t.outcome = l.outcome{clause}"
                " ORDER BY l.plan_id, l.outcome, l.leg",
                params,
            )
        legs: dict[tuple[str, str], list[TradeLeg]] = {}
        for leg in leg_rows:
            legs.setdefault((leg[0], leg[1]), []).append(
                TradeLeg(leg[3], leg[4], leg[5], leg[6], int(leg[7]), int(leg[8]), int(leg[9]))
            )
        return [_trade(row, tuple(legs.get((row[0], row[1]), ()))) for row in rows]

    def pnl(
        self, by: Sequence[str] = DIMENSIONS, where: TradeFilter = TradeFilter()
    ) -> list[PnlRow]:
        """Realized P&L grouped by ``by`` (a subset of :data:`DIMENSIONS`), always also by
        paper/live and base mint (amounts of different mints or modes are never added)."""
        unknown = [d for d in by if d not in DIMENSIONS]
        if unknown:
            raise LedgerError(
                f"cannot group P&L by {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}"
            )
        keys = [*by, "paper", "base_mint"]
        clause, params = where.sql()
        sql = (
            f"SELECT {', '.join(keys)}, COUNT(*), SUM(realized_profit), SUM(fee_lamports),"
            f" SUM(tip_lamports), SUM(loan_fee) FROM trades{clause}"
            f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
        )
        with self._locked() as db:
            rows = db.query(sql, params)
        n = len(by)
        return [
            PnlRow(
                group=dict(zip(by, (str(v) for v in row[:n]), strict=True)),
                paper=bool(row[n]),
                base_mint=row[n + 1],
                trades=int(row[n + 2]),
                realized_profit=int(row[n + 3]),
                fee_lamports=int(row[n + 4]),
                tip_lamports=int(row[n + 5]),
                loan_fee=int(row[n + 6]),
            )
            for row in rows
        ]

    def realized_lamports(self, *, paper: bool, since_ns: int | None = None) -> int:
        """Realized profit in lamports of the trades whose base mint is SOL (gauges, breakers)."""
        clause, params = TradeFilter(since_ns=since_ns, paper=paper, base_mint=SOL_MINT).sql()
        with self._locked() as db:
            rows = db.query(f"SELECT SUM(realized_profit) FROM trades{clause}", params)
        return int(rows[0][0] or 0)

    def schema_version(self) -> int:
        with self._locked() as db:
            return current_version(db)

    def close(self) -> None:
        with self._lock:
            self._driver.close()


def _trade(row: Row, legs: tuple[TradeLeg, ...]) -> TradeRecord:
    d = dict(zip(_TRADE_COLUMNS, row, strict=True))
    return TradeRecord(
        plan_id=d["plan_id"],
        outcome=d["outcome"],
        opportunity_id=d["opportunity_id"],
        paper=bool(d["paper"]),
        completed_ns=int(d["completed_ns"]),
        strategy=d["strategy"],
        base_mint=d["base_mint"],
        legs=legs,
        in_amount=int(d["in_amount"]),
        out_amount=int(d["out_amount"]),
        fee_lamports=int(d["fee_lamports"]),
        tip_lamports=int(d["tip_lamports"]),
        loan_fee=int(d["loan_fee"]),
        realized_profit=int(d["realized_profit"]),
        signature=d["signature"],
        slot=None if d["slot"] is None else int(d["slot"]),
        error=d["error"],
        submitter=d["submitter"],
        funding_provider=d["funding_provider"],
        stream_seq=None if d["stream_seq"] is None else int(d["stream_seq"]),
    )
