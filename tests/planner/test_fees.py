"""The compute-unit price: from config, or a percentile of recent fees from a plugin object
that is an SDK ``PriorityFeeSource`` (the rpc plugin's submitter, tested against the simnet
peer in plugins/rpc/tests/test_priority_fees.py). Here: the percentile, the choice of source,
and a source whose answers are not fees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.planner.fees import PriorityFees, find_fee_source, percentile
from lstarb_runtime.planner.settings import PlannerSettings
from lstarb_sdk import PriorityFeeSource


class Answers:
    """A fee source answering what it is told, recording the accounts it was asked about."""

    name = "answers"

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[list[Pubkey]] = []

    async def recent_priority_fees(self, accounts: Sequence[Pubkey] = ()) -> Any:
        self.asked.append(list(accounts))
        return self.answers.pop(0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 75) == 0
    assert percentile([5], 75) == 5
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 75) == 3
    assert percentile([4, 3, 2, 1], 100) == 4
    assert percentile([4, 3, 2, 1], 0) == 1
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1], 101)


def test_config_price_without_a_source() -> None:
    settings = PlannerSettings(compute_unit_price=4_321)
    assert find_fee_source([object()]) is None
    fees = PriorityFees(settings, None)
    assert fees.price == 4_321 and fees.origin == "config"


async def test_the_source_is_asked_about_the_configured_accounts() -> None:
    pool = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"
    source = Answers([10, 20, 30, 40])
    assert isinstance(source, PriorityFeeSource)
    assert find_fee_source([object(), source]) is source
    settings = PlannerSettings(recent_fee_percentile=50, priority_fee_accounts=[pool])
    fees = PriorityFees(settings, source)
    assert await fees.refresh() == 20
    assert source.asked == [[Pubkey.from_string(pool)]]


@pytest.mark.parametrize(
    "answer", [None, "12", [1, "2"], [1, -2], [True], {"slot": 1}, [1.5]], ids=repr
)
async def test_answers_that_are_not_fees_are_counted_and_priced_at_config(answer: Any) -> None:
    settings = PlannerSettings(compute_unit_price=99, recent_fee_max_age_s=0)
    source = Answers([500], answer)
    fees = PriorityFees(settings, source)
    assert await fees.refresh() == 500
    assert await fees.refresh() == 99
    assert fees.failed["DataSourceError"] == 1 and "recent_priority_fees" in fees.last_error


def test_settings_refuse_bad_accounts_and_too_many() -> None:
    with pytest.raises(ValueError, match="not a base58 address"):
        PlannerSettings(priority_fee_accounts=["nope"])
    with pytest.raises(ValueError, match="128"):
        PlannerSettings(priority_fee_accounts=[str(Pubkey.new_unique()) for _ in range(129)])
