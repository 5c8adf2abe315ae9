"""Results as an executor publishes them, and waiting on the ledger."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from lstarb_runtime.ledger import Ledger
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent
from lstarb_sdk.events.examples import example_plan, example_result


def results(n: int, *, seed: int = 7, prefix: str = "plan") -> list[ExecutionResultEvent]:
    """``n`` results of distinct plans, every outcome, profits of both signs, completed now."""
    rng = random.Random(seed)
    base = example_result()
    now = time.time_ns()
    out = []
    for i in range(n):
        status = rng.choice(("landed", "failed", "paper", "dropped", "rejected"))
        out.append(
            base.model_copy(
                update={
                    "plan_id": f"{prefix}-{i:04d}",
                    "opportunity_id": f"opp-{i:04d}",
                    "status": status,
                    "paper": status == "paper",
                    "realized_profit": rng.randrange(-30_000, 500_000),
                    "completed_ns": now + i,
                }
            )
        )
    return out


def plan_of(result: ExecutionResultEvent) -> ExecutionPlanEvent:
    return example_plan().model_copy(
        update={"id": result.plan_id, "opportunity_id": result.opportunity_id}
    )


def count(url: str) -> int:
    """Trades in the ledger at ``url`` now (0 before the auditor created it)."""
    try:
        with Ledger.open(url, create=False) as ledger:
            return len(ledger.trades())
    except Exception:
        return 0


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)
