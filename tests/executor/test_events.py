"""Plan and result events of schema version 3: what old writers sent still decodes, malformed
optional keys are refused, and a result alone is a complete ledger record."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from lstarb_runtime.ledger import trade_from_result
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import (
    ExecutionPlanEvent,
    ExecutionPlanView,
    ExecutionResultEvent,
    key_of,
)
from lstarb_sdk.events import _schema as S
from lstarb_sdk.events._codec import Field, TableSpec, encode_root
from lstarb_sdk.events.examples import SOL, example_plan, example_result


def _fields(spec: TableSpec, last: str, leg: TableSpec | None = None) -> list[Field]:
    """Fresh copies of ``spec``'s fields up to ``last``: the layout an older writer had."""
    out = []
    for f in spec.fields:
        sub = leg if (f.kind == "tables" and leg is not None) else f.sub
        out.append(
            Field(f.name, f.kind, sub, f.default, write_default=2, max_items=f.max_items)
            if f.name == "version"
            else Field(f.name, f.kind, sub, f.default, max_items=f.max_items)
        )
        if f.name == last:
            return out
    raise AssertionError(last)


V2_LEG = TableSpec("Leg", _fields(S.LEG, "fee_amount"))
V2_PLAN = TableSpec("ExecutionPlanEvent", _fields(S.EXECUTION_PLAN, "created_ns", V2_LEG), b"LSPL")
V2_RESULT = TableSpec("ExecutionResultEvent", _fields(S.EXECUTION_RESULT, "completed_ns"), b"LSRS")


def test_a_version_2_plan_decodes_with_the_new_fields_at_their_defaults() -> None:
    plan = example_plan()
    buf = encode_root(V2_PLAN, plan)
    assert len(buf) < len(plan.encode())
    old = ExecutionPlanEvent.decode(buf)
    assert old.schema_version == 2
    assert (old.id, old.amount_in, old.min_out, old.expiry_slot) == (
        plan.id,
        plan.amount_in,
        plan.min_out,
        plan.expiry_slot,
    )
    assert [leg.out_amount for leg in old.legs] == [leg.out_amount for leg in plan.legs]
    assert [leg.min_out for leg in old.legs] == [0, 0]
    assert (old.loan_mint, old.loan_amount, old.expiry_ns, old.traceparent) == (b"", 0, 0, "")
    assert key_of(old.loan_mint) is None
    view = ExecutionPlanView(buf).verify()
    assert view.slippage_bps == 0 and view.legs[0].min_out == 0


def test_a_version_2_result_decodes_and_the_ledger_takes_the_rest_from_the_plan() -> None:
    result, plan = example_result(), example_plan()
    old = ExecutionResultEvent.decode(encode_root(V2_RESULT, result))
    assert old.schema_version == 2
    assert (old.strategy, old.base_mint, old.legs, old.bundle_id) == ("", b"", (), None)
    bare = trade_from_result(old)
    assert (bare.strategy, bare.base_mint, bare.legs, bare.loan_fee) == ("", "", (), 0)
    with_plan = trade_from_result(old, plan=plan)
    assert with_plan.strategy == plan.strategy and with_plan.loan_fee == plan.loan_fee
    assert with_plan.submitter == "jito" and len(with_plan.legs) == 2


def test_a_version_3_result_alone_is_a_complete_trade() -> None:
    result = ExecutionResultEvent.decode(example_result().encode())
    trade = trade_from_result(result)
    assert trade.strategy == "lst-two-hop"
    assert trade.base_mint == str(SOL)
    assert trade.loan_fee == 10_000
    assert (trade.submitter, trade.funding_provider) == ("jito", "kamino")
    assert [leg.min_out for leg in result.legs] == [831_993_912, 1_000_100_000]
    assert trade.route.count(">") == 1


@pytest.mark.parametrize("name", ["loan_mint"])
def test_a_plan_with_a_short_optional_key_is_refused(name: str) -> None:
    plan = example_plan()
    forged = plan.model_copy(update={name: b"\x01" * 7})  # model_copy does not validate
    with pytest.raises(DecodeError, match=f"{name} has 7 bytes"):
        ExecutionPlanEvent.decode(forged.encode())


@pytest.mark.parametrize("name", ["base_mint", "wallet"])
def test_a_result_with_a_short_optional_key_is_refused(name: str) -> None:
    forged = example_result().model_copy(update={name: b"\x02" * 31})
    with pytest.raises(DecodeError, match=f"{name} has 31 bytes"):
        ExecutionResultEvent.decode(forged.encode())


def test_optional_keys_validate_and_read_back_as_json() -> None:
    plan = example_plan()
    assert key_of(plan.loan_mint) == SOL
    doc = plan.model_dump_json()
    assert str(SOL) in doc
    assert ExecutionPlanEvent.model_validate_json(doc) == plan
    none = plan.model_copy(update={"loan_mint": b""})
    assert ExecutionPlanEvent.model_validate_json(none.model_dump_json()).loan_mint == b""
    with pytest.raises(ValueError):
        ExecutionPlanEvent(**{**plan.model_dump(), "loan_mint": b"\x00" * 5})
    assert ExecutionPlanEvent(**{**plan.model_dump(), "loan_mint": str(SOL)}).loan_mint == bytes(
        SOL
    )
    assert key_of(bytes(Pubkey.default())) == Pubkey.default()
