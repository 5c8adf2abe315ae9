"""What the ledger records of one execution: a plain dataclass, and its mapping from EXECUTED.

Why a dataclass of its own instead of the event: the ledger outlives any one event schema
version. :func:`trade_from_result` maps a result alone: from schema version 3 it carries
strategy, base mint, the legs as executed, the flash-loan fee, submitter and funding provider.
For results of older executors those come from the plan when the caller still has it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent, LegEvent, key_of
from lstarb_sdk.solana import WSOL_MINT

from .errors import InvalidTrade

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
SOL_MINT: Final = str(WSOL_MINT)
"""Base mint whose amounts are lamports: P&L in SOL."""


def _check_int(owner: str, name: str, value: object, *, signed: bool = False) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidTrade(f"{owner}.{name} must be an integer, got {value!r}")
    low = I64_MIN if signed else 0
    if not low <= value <= I64_MAX:
        raise InvalidTrade(
            f"{owner}.{name} = {value} is outside the ledger's range [{low}, {I64_MAX}]"
        )


@dataclass(frozen=True, slots=True)
class TradeLeg:
    """One swap of a trade, amounts in the smallest units of their mints."""

    pool: str
    dex: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    fee_amount: int = 0

    def __post_init__(self) -> None:
        for name in ("pool", "dex", "input_mint", "output_mint"):
            if not getattr(self, name):
                raise InvalidTrade(f"leg.{name} is empty")
        for name in ("in_amount", "out_amount", "fee_amount"):
            _check_int("leg", name, getattr(self, name))

    @classmethod
    def from_event(cls, leg: LegEvent) -> TradeLeg:
        return cls(
            str(leg.pool),
            leg.dex,
            str(leg.input_mint),
            str(leg.output_mint),
            leg.in_amount,
            leg.out_amount,
            leg.fee_amount,
        )


_AMOUNTS: Final = (
    "completed_ns",
    "in_amount",
    "out_amount",
    "fee_lamports",
    "tip_lamports",
    "loan_fee",
)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One execution result as the ledger keeps it; (plan_id, outcome) is its identity.

    ``realized_profit`` and ``loan_fee`` are in the smallest unit of ``base_mint`` (lamports
    when it is SOL); ``fee_lamports`` and ``tip_lamports`` are always lamports. Profit is
    after fees, tip and loan fee, as the executor reports it. ``stream_seq`` is the EXECUTED
    stream sequence of the message the trade was first recorded from.
    """

    plan_id: str
    outcome: str
    opportunity_id: str
    paper: bool
    completed_ns: int
    strategy: str = ""
    base_mint: str = ""
    legs: tuple[TradeLeg, ...] = ()
    in_amount: int = 0
    out_amount: int = 0
    fee_lamports: int = 0
    tip_lamports: int = 0
    loan_fee: int = 0
    realized_profit: int = 0
    signature: str | None = None
    slot: int | None = None
    error: str | None = None
    submitter: str = ""
    funding_provider: str = ""
    stream_seq: int | None = None

    def __post_init__(self) -> None:
        for name in ("plan_id", "outcome"):
            if not getattr(self, name):
                raise InvalidTrade(f"trade.{name} is empty")
        if not isinstance(self.paper, bool):
            raise InvalidTrade(f"trade.paper must be a bool, got {self.paper!r}")
        for name in _AMOUNTS:
            _check_int("trade", name, getattr(self, name))
        _check_int("trade", "realized_profit", self.realized_profit, signed=True)
        for name in ("slot", "stream_seq"):
            if getattr(self, name) is not None:
                _check_int("trade", name, getattr(self, name))
        if self.completed_ns <= 0:
            raise InvalidTrade(f"trade.completed_ns must be a time, got {self.completed_ns}")

    @property
    def route(self) -> str:
        """The legs as ``dex:pool > dex:pool``: what P&L is grouped by as the route."""
        return route_of(self.legs)

    @property
    def day(self) -> str:
        """The UTC day the execution completed, ``YYYY-MM-DD``."""
        return day_of(self.completed_ns)


def route_of(legs: tuple[TradeLeg, ...]) -> str:
    return " > ".join(f"{leg.dex}:{leg.pool}" for leg in legs)


def day_of(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, UTC).strftime("%Y-%m-%d")


def trade_from_result(
    result: ExecutionResultEvent,
    *,
    stream_seq: int | None = None,
    plan: ExecutionPlanEvent | None = None,
) -> TradeRecord:
    """The ledger's record of one EXECUTED event.

    Each trade fact comes from the result; a result of an older executor leaves strategy, base
    mint, legs, loan fee, submitter and funding provider empty, and ``plan`` (the EXECUTION
    event of ``result.plan_id``, when the caller still has it) fills those in. A result
    without a completion time is stamped now.
    """
    if plan is not None and plan.id != result.plan_id:
        raise InvalidTrade(f"plan {plan.id!r} is not the plan of result {result.plan_id!r}")
    base_mint = key_of(result.base_mint) or (plan.base_mint if plan else None)
    legs = result.legs or (plan.legs if plan else ())
    return TradeRecord(
        plan_id=result.plan_id,
        outcome=result.status,
        opportunity_id=result.opportunity_id,
        paper=result.paper,
        completed_ns=result.completed_ns or time.time_ns(),
        strategy=result.strategy or (plan.strategy if plan else ""),
        base_mint=str(base_mint) if base_mint else "",
        legs=tuple(TradeLeg.from_event(leg) for leg in legs),
        in_amount=result.in_amount,
        out_amount=result.out_amount,
        fee_lamports=result.fee_lamports,
        tip_lamports=result.tip_lamports,
        loan_fee=result.loan_fee or (plan.loan_fee if plan else 0),
        realized_profit=result.realized_profit,
        signature=result.signature,
        slot=result.slot or None,
        error=result.error,
        submitter=result.submitter or (plan.submitter if plan else ""),
        funding_provider=result.funding_provider or (plan.funding_provider if plan else ""),
        stream_seq=stream_seq,
    )
