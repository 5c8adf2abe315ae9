"""Paper trading as a landing simulator: what the trade would have done where it would land.

A paper transaction is built and signed exactly as a live one and never sent. Its outcome is
decided by re-quoting every leg, at the plan's amounts, on the pool states of the *landing
slot* (the executor's newest slot when it would send, plus ``landing_delay_slots``), read
from the MARKET_DATA tape: a leg whose output falls below its ``min_out`` (or that cannot be
quoted) fails the transaction, as the program would, and so does a flash loan the last leg
cannot repay. Then the submitter's rules apply:

- a bundle (``jito``) is atomic: landed, or failed at no cost (no fee, no tip);
- a transaction (``rpc``) pays its fee even when it fails.

Paper P&L is therefore what the trade would have made, not what the plan hoped.

Why the simulation runs inside the tape's handler: the book must hold exactly the states of
the landing slot. The tape delivers account events in the scanner's order, with slots that
only grow; the moment an event of a later slot arrives, before it is applied, the book is the
market at the end of the landing slot, and every trade landing there is decided then. A
market that goes quiet never shows a later slot: after ``landing_timeout_s`` the newest
states decide (they are the landing slot's, since nothing changed).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from lstarb_runtime.bus import Bus, Delivery
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.tape import Tape
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import AccountEvent, ExecutionPlanEvent, LegEvent
from lstarb_sdk.solana import WSOL_MINT

log = logging.getLogger("lstarb.executor")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a trade ended, in the result's terms."""

    status: str
    """``landed``, ``failed``, ``dropped`` or ``rejected``."""
    slot: int = 0
    legs: tuple[LegEvent, ...] = ()
    in_amount: int = 0
    out_amount: int = 0
    fee_lamports: int = 0
    tip_lamports: int = 0
    loan_fee: int = 0
    realized_profit: int = 0
    error: str | None = None


def realized(plan: ExecutionPlanEvent, out_amount: int, fee: int, tip: int, loan_fee: int) -> int:
    """Base-mint profit after the loan fee and, when the base mint is SOL, fee and tip."""
    profit = out_amount - plan.amount_in - loan_fee
    if plan.base_mint == WSOL_MINT:
        profit -= fee + tip
    return profit


def simulate(
    book: PoolBook,
    plan: ExecutionPlanEvent,
    *,
    slot: int,
    bundled: bool,
    fee_lamports: int,
    tip_lamports: int,
    loan_fee: int,
) -> Outcome:
    """The outcome of ``plan``'s transaction if it ran on ``book`` now (see the module)."""
    executed: list[LegEvent] = []
    error: str | None = None
    for i, leg in enumerate(plan.legs):
        try:
            quote = book.quote(leg.pool, leg.in_amount, leg.input_mint)
        except LstarbError as exc:
            error = f"leg {i} ({leg.dex}): {exc}"
            break
        executed.append(
            leg.model_copy(update={"out_amount": quote.out_amount, "fee_amount": quote.fee_amount})
        )
        if quote.out_amount < leg.min_out:
            error = (
                f"leg {i} ({leg.dex} {leg.pool}): {quote.out_amount} out, below its min_out "
                f"{leg.min_out} (the price moved)"
            )
            break
    if error is None and plan.loan_amount:
        owed = plan.loan_amount + loan_fee
        if executed[-1].out_amount < owed:
            error = f"flash repay: the route returns {executed[-1].out_amount}, {owed} is owed"
    if error is None:
        out = executed[-1].out_amount
        return Outcome(
            "landed",
            slot,
            tuple(executed),
            plan.amount_in,
            out,
            fee_lamports,
            tip_lamports,
            loan_fee,
            realized(plan, out, fee_lamports, tip_lamports, loan_fee),
        )
    if bundled:  # the block engine drops a failing bundle: nothing is paid
        return Outcome("failed", slot, tuple(executed), error=error)
    cost = fee_lamports if plan.base_mint == WSOL_MINT else 0
    return Outcome(
        "failed",
        slot,
        tuple(executed),
        fee_lamports=fee_lamports,
        realized_profit=-cost,
        error=error,
    )


class LandingTape(Tape):
    """The executor's tape: keeps the book current, knows the newest slot, and runs what must
    happen at the end of a slot (a paper trade landing there) before the next slot's states
    are applied."""

    def __init__(self, bus: Bus, book: PoolBook) -> None:
        super().__init__(bus, book)
        self.slot = 0
        """The newest slot of an account state on the tape."""
        self._due: list[tuple[int, int, Callable[[], object], asyncio.Future[object]]] = []
        self._order = itertools.count()
        self.ended = False
        """The market stopped (:meth:`end`): nothing waits for a later slot any more."""

    def end(self) -> None:
        """No later slot will come (the scanner feeding this tape stopped): what waits for
        the end of a slot is decided now, on the newest states, and so is what asks later.
        Tape events that still arrive are applied as before."""
        self.ended = True
        due, self._due = sorted(self._due), []
        for _, _, work, future in due:
            _settle(future, work)

    async def _handle(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, AccountEvent) and event.slot > self.slot:
            self._run_due(event.slot)
            self.slot = event.slot
        await super()._handle(delivery)

    def _run_due(self, next_slot: int) -> None:
        """Everything due in a slot before ``next_slot``: the book holds its end state now."""
        while self._due and self._due[0][0] < next_slot:
            _, _, work, future = heapq.heappop(self._due)
            _settle(future, work)

    async def at_end_of(self, slot: int, work: Callable[[], T], *, timeout: float) -> T:
        """``work()`` run on the book as it is at the end of ``slot`` (see the module);
        at once when the tape is past it, on the newest states after ``timeout``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        if slot < self.slot or self.ended:
            _settle(future, work)
        else:
            heapq.heappush(self._due, (slot, next(self._order), work, future))
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                self._due = [d for d in self._due if d[3] is not future]
                heapq.heapify(self._due)
                _settle(future, work)
        result: T = future.result()  # type: ignore[assignment]
        return result


def _settle(future: asyncio.Future[object], work: Callable[[], object]) -> None:
    if future.done():
        return
    try:
        future.set_result(work())
    except Exception as exc:  # the awaiting trade decides what a failure means
        future.set_exception(exc)
