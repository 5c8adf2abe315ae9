"""The P&L ledger the auditor keeps: every EXECUTED result once, in SQLite or PostgreSQL.

``Ledger.open(url)`` (``sqlite:PATH`` or ``postgresql://...``), ``ledger.record(trade)``,
``ledger.pnl(by, where)``; :func:`trade_from_result` maps an EXECUTED event to the
:class:`TradeRecord` the ledger stores; ``recorder.TradeRecorder`` is what the auditor calls per
EXECUTED event (it also updates the P&L metrics). ``lstarb pnl`` reads it (``ledger/cli.py``).
"""

from __future__ import annotations

from .errors import InvalidTrade, LedgerError, LedgerNotFound
from .record import SOL_MINT, TradeLeg, TradeRecord, trade_from_result
from .store import DIMENSIONS, Ledger, PnlRow, TradeFilter, ledger_url

__all__ = [
    "DIMENSIONS",
    "SOL_MINT",
    "InvalidTrade",
    "Ledger",
    "LedgerError",
    "LedgerNotFound",
    "PnlRow",
    "TradeFilter",
    "TradeLeg",
    "TradeRecord",
    "ledger_url",
    "trade_from_result",
]
