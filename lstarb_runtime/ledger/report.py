"""Realized P&L as the user reads it: SOL amounts exact to the lamport, a table or JSON.

Why exact decimals: a ledger that prints 0.1 + 0.2 as 0.30000000000000004 SOL, or rounds a
lamport away, cannot be reconciled with the chain. Amounts stay integers until they are
written out, and SOL is written as integer division by 10^9.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .record import SOL_MINT
from .store import PnlRow

LAMPORTS_PER_SOL: Final = 10**9


def sol(lamports: int) -> str:
    """``lamports`` as SOL with all nine decimals: ``-1500000001`` -> ``-1.500000001``."""
    sign = "-" if lamports < 0 else ""
    whole, frac = divmod(abs(lamports), LAMPORTS_PER_SOL)
    return f"{sign}{whole}.{frac:09d}"


def unit_of(base_mint: str) -> str:
    """``SOL`` for the wrapped-SOL mint; other base mints are reported in raw units."""
    return "SOL" if base_mint == SOL_MINT else "raw"


def parse_time(text: str, *, end: bool = False) -> int:
    """A ``--since``/``--until`` value in Unix nanoseconds.

    ``YYYY-MM-DD`` is that UTC day's start, or, with ``end=True``, the next day's start (so
    ``--until 2026-01-31`` includes the 31st). A date and time (ISO 8601) is taken as given,
    UTC when it names no zone. ValueError names the value.
    """
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            if end:
                day += timedelta(days=1)
            return int(day.timestamp()) * 10**9
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor a date and time (YYYY-MM-DDTHH:MM)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 10**6) * 1000


def row_json(row: PnlRow) -> dict[str, Any]:
    """One group as JSON: integer amounts plus exact SOL strings where the unit is SOL."""
    is_sol = row.base_mint == SOL_MINT
    return {
        **row.group,
        "mode": "paper" if row.paper else "live",
        "base_mint": row.base_mint,
        "unit": unit_of(row.base_mint),
        "trades": row.trades,
        "realized_profit": row.realized_profit,
        "realized_profit_sol": sol(row.realized_profit) if is_sol else None,
        "fee_lamports": row.fee_lamports,
        "fee_sol": sol(row.fee_lamports),
        "tip_lamports": row.tip_lamports,
        "tip_sol": sol(row.tip_lamports),
        "loan_fee": row.loan_fee,
        "loan_fee_sol": sol(row.loan_fee) if is_sol else None,
    }


def _short(text: str) -> str:
    """Pool addresses in a route, shortened for a terminal: ``abcd…wxyz``."""
    parts = []
    for hop in text.split(" > "):
        dex, _, pool = hop.rpartition(":")
        parts.append(f"{dex}:{pool[:4]}…{pool[-4:]}" if len(pool) > 12 else hop)
    return " > ".join(parts)


def _amount(value: int, base_mint: str) -> str:
    return sol(value) if base_mint == SOL_MINT else str(value)


def table(rows: Sequence[PnlRow], totals: Sequence[PnlRow], by: Sequence[str]) -> str:
    """The P&L table with one TOTAL line per mode and unit."""
    header = [
        *(d.upper() for d in by),
        "MODE",
        "UNIT",
        "TRADES",
        "PROFIT",
        "FEES (SOL)",
        "TIPS (SOL)",
        "LOAN FEES",
    ]

    def cells(row: PnlRow, group: Sequence[str]) -> list[str]:
        return [
            *group,
            "paper" if row.paper else "live",
            unit_of(row.base_mint) if row.base_mint == SOL_MINT else f"raw {row.base_mint[:4]}…",
            str(row.trades),
            _amount(row.realized_profit, row.base_mint),
            sol(row.fee_lamports),
            sol(row.tip_lamports),
            _amount(row.loan_fee, row.base_mint),
        ]

    body = [
        cells(r, [_short(r.group[d]) if d == "route" else r.group[d] or "-" for d in by])
        for r in rows
    ]
    # Without grouping the rows are the totals already.
    total_lines = [cells(r, ["TOTAL", *([""] * (len(by) - 1))]) for r in totals] if by else []
    widths = [
        max(len(line[i]) for line in [header, *body, *total_lines]) for i in range(len(header))
    ]
    numeric = set(range(len(by) + 2, len(header)))

    def fmt(line: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    out = [fmt(header), *(fmt(line) for line in body)]
    if total_lines:
        out.append("  ".join("-" * w for w in widths))
        out.extend(fmt(line) for line in total_lines)
    return "\n".join(out)
