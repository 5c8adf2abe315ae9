"""What the auditor does with each EXECUTED event: record it once, count it, update the P&L.

Why here and not in the auditor service: the service is the runtime's consumer base plus one
call, ``await recorder.record(delivery.event, stream_seq=delivery.sequence)``, acknowledging
the message when it returns. A crash between the write and the acknowledgement only means the
stream delivers the result again, and the ledger then finds it already there.

A result the ledger cannot take (a field out of range) is logged, counted as
``lstarb_handler_errors_total{kind="invalid"}`` and not retried: it stays on the EXECUTED
stream for inspection. A database that cannot be reached raises, so the message is not
acknowledged and comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Literal

from lstarb_runtime import metrics
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent

from .errors import InvalidTrade
from .record import SOL_MINT, trade_from_result
from .store import Ledger

log = logging.getLogger("lstarb.auditor")

Recorded = Literal["recorded", "duplicate", "invalid"]
"""What :meth:`TradeRecorder.record_one` did with a result."""


def start_of_day_ns(now_ns: int) -> int:
    """The start of the UTC day containing ``now_ns``."""
    day = datetime.fromtimestamp(now_ns / 1e9, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(day.timestamp()) * 10**9


class TradeRecorder:
    """Records execution results into a ledger and keeps the P&L metrics in step with it."""

    def __init__(self, ledger: Ledger, *, consumer: str = "auditor") -> None:
        self.ledger = ledger
        self._invalid = metrics.HANDLER_ERRORS.labels(
            stream="EXECUTED", consumer=consumer, kind="invalid"
        )
        self._sums: dict[bool, tuple[int, int, int]] = {}
        """paper -> (total, today, start of today) in lamports, as of the last refresh plus
        what this recorder wrote since: a write adds its profit instead of summing the whole
        ledger again (which grows with every trade)."""

    async def record(
        self,
        result: ExecutionResultEvent,
        *,
        stream_seq: int,
        plan: ExecutionPlanEvent | None = None,
    ) -> bool:
        """Record ``result`` unless the ledger has it; True if it was written now."""
        return await self.record_one(result, stream_seq=stream_seq, plan=plan) == "recorded"

    async def record_one(
        self,
        result: ExecutionResultEvent,
        *,
        stream_seq: int,
        plan: ExecutionPlanEvent | None = None,
    ) -> Recorded:
        """Like :meth:`record`, saying why nothing was written (the auditor counts both)."""
        try:
            trade = trade_from_result(result, stream_seq=stream_seq, plan=plan)
        except InvalidTrade as exc:
            self._invalid.inc()
            log.error(
                "EXECUTED message %d (plan %s) not recorded: %s",
                stream_seq,
                result.plan_id,
                exc,
                extra={"plan_id": result.plan_id, "stream_seq": stream_seq},
            )
            return "invalid"
        stored = await asyncio.to_thread(self.ledger.record, trade)
        if not stored:
            metrics.LEDGER_DUPLICATES.inc()
            return "duplicate"
        mode = metrics.mode_label(trade.paper)
        metrics.TRADES_RECORDED.labels(outcome=trade.outcome, mode=mode).inc()
        if not self._add(trade.paper, trade.base_mint, trade.realized_profit, trade.completed_ns):
            await asyncio.to_thread(self.refresh, trade.paper)
        return "recorded"

    def _add(self, paper: bool, base_mint: str, profit: int, completed_ns: int) -> bool:
        """Move the gauges by one trade just written; False when the sums must be read from
        the ledger instead (not known yet, or the day turned)."""
        day = start_of_day_ns(time.time_ns())
        known = self._sums.get(paper)
        if known is None or known[2] != day:
            return False
        if base_mint != SOL_MINT:
            return True
        total, today, _ = known
        total += profit
        if completed_ns >= day:
            today += profit
        self._set(paper, total, today, day)
        return True

    def refresh(self, paper: bool) -> None:
        """Set ``profit_realized_sol`` and today's P&L of one mode from the ledger's rows.

        The auditor calls it for both modes when it starts and every minute (other auditors
        may write the same ledger; today's P&L starts again from zero at midnight, UTC);
        :meth:`record` adds each trade it writes to the sums of the last refresh.
        """
        day = start_of_day_ns(time.time_ns())
        total = self.ledger.realized_lamports(paper=paper)
        today = self.ledger.realized_lamports(paper=paper, since_ns=day)
        self._set(paper, total, today, day)

    def _set(self, paper: bool, total: int, today: int, day: int) -> None:
        self._sums[paper] = (total, today, day)
        mode = metrics.mode_label(paper)
        metrics.PROFIT_REALIZED_SOL.labels(mode=mode).set(total / 1e9)
        metrics.PROFIT_TODAY_SOL.labels(mode=mode).set(today / 1e9)
