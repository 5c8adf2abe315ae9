"""What a plan must say before the executor spends a microsecond of wallet time on it.

Why separate from building: these are the planner's promises (docs/executor.md, "The plan"),
checked without the market; a plan that breaks one is refused with the reason and nothing
else happens. Time checks (expiry) are :func:`expired`, since they change while a plan waits.
"""

from __future__ import annotations

from typing import Final

from lstarb_runtime.executor.instructions import MAX_COMPUTE_UNITS
from lstarb_sdk.events import ExecutionPlanEvent, key_of

MIN_SCHEMA_VERSION: Final = 3
"""Plans of older planners lack per-leg minimum outputs and the loss bound."""


def plan_problem(plan: ExecutionPlanEvent) -> str | None:
    """The first promise ``plan`` breaks, or None."""
    legs = plan.legs
    if not legs:
        return "the plan has no legs"
    if plan.schema_version and plan.schema_version < MIN_SCHEMA_VERSION:
        return (
            f"plan of schema version {plan.schema_version}: the executor needs version "
            f"{MIN_SCHEMA_VERSION} (per-leg min_out, max_loss_lamports)"
        )
    if legs[0].input_mint != plan.base_mint or legs[-1].output_mint != plan.base_mint:
        return "the route must start and end in base_mint"
    if legs[0].in_amount != plan.amount_in:
        return f"legs[0].in_amount {legs[0].in_amount} is not amount_in {plan.amount_in}"
    for i, leg in enumerate(legs):
        if leg.in_amount <= 0:
            return f"leg {i} swaps nothing"
        if leg.min_out <= 0:
            return f"leg {i} has no min_out: its output would be unprotected"
        if i and leg.input_mint != legs[i - 1].output_mint:
            return f"leg {i} takes {leg.input_mint}, leg {i - 1} gives {legs[i - 1].output_mint}"
        if i and leg.in_amount > legs[i - 1].min_out:
            return (
                f"leg {i} swaps {leg.in_amount} but leg {i - 1} guarantees only "
                f"{legs[i - 1].min_out}"
            )
    if legs[-1].min_out < plan.min_out:
        return f"the last leg's min_out {legs[-1].min_out} is below the plan's {plan.min_out}"
    if plan.max_loss_lamports <= 0:
        return "max_loss_lamports is not set"
    if plan.compute_unit_limit > MAX_COMPUTE_UNITS:
        return f"compute_unit_limit {plan.compute_unit_limit} is above {MAX_COMPUTE_UNITS}"
    loan_mint = key_of(plan.loan_mint)
    if plan.funding_provider:
        if loan_mint != plan.base_mint:
            return f"the loan mint {loan_mint} is not base_mint {plan.base_mint}"
        if not 0 < plan.loan_amount <= plan.amount_in:
            return f"loan_amount {plan.loan_amount} is not in 1..amount_in ({plan.amount_in})"
    elif plan.loan_amount or loan_mint is not None:
        return "a loan without a funding_provider"
    return None


def expired(plan: ExecutionPlanEvent, *, slot: int, now_ns: int) -> str | None:
    """Why ``plan`` may no longer be submitted at ``slot`` / ``now_ns``, or None."""
    if plan.expiry_slot and slot > plan.expiry_slot:
        return f"expired: slot {slot} is past expiry_slot {plan.expiry_slot}"
    if plan.expiry_ns and now_ns > plan.expiry_ns:
        late_ms = (now_ns - plan.expiry_ns) / 1e6
        return f"expired: {late_ms:.1f} ms past expiry_ns"
    return None
