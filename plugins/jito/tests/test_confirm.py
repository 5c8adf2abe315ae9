"""confirm() follows a bundle with getInflightBundleStatuses, then getBundleStatuses."""

from __future__ import annotations

import asyncio

from block_engine import BlockEngine
from jito_testlib import signed, submitter

from lstarb_sdk import SubmissionResult


async def _after_polls(engine: BlockEngine, n: int, action) -> None:  # type: ignore[no-untyped-def]
    while len(engine.calls("getInflightBundleStatuses")) < n:
        await asyncio.sleep(0.005)
    action()


async def test_landed_bundle_is_confirmed_with_its_slot(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        sent = await sub.submit([signed()])
        assert sent.bundle_id is not None
        mover = asyncio.create_task(
            _after_polls(engine, 3, lambda: engine.land(sent.bundle_id, 321))
        )
        result = await sub.confirm(sent, timeout_s=5)
        await mover
    finally:
        await sub.close()
    assert (result.status, result.slot, result.error, result.bundle_id) == (
        "landed",
        321,
        None,
        sent.bundle_id,
    )
    methods = [r.body["method"] for r in engine.requests]
    assert methods[-1] == "getBundleStatuses" and methods.count("getInflightBundleStatuses") >= 3
    assert engine.calls("getBundleStatuses")[0].path == "/api/v1/getBundleStatuses"


async def test_landed_with_an_error_is_failed(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        sent = await sub.submit([signed()])
        engine.land(sent.bundle_id or "", 99, err={"Err": {"InstructionError": [1, "Custom"]}})
        result = await sub.confirm(sent, timeout_s=5)
    finally:
        await sub.close()
    assert result.status == "failed" and result.slot == 99
    assert "InstructionError" in (result.error or "")


async def test_failed_bundle(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        sent = await sub.submit([signed()])
        engine.fail(sent.bundle_id or "")
        result = await sub.confirm(sent, timeout_s=5)
    finally:
        await sub.close()
    assert result.status == "failed" and "marked it failed" in (result.error or "")


async def test_unknown_bundle_becomes_invalid_only_after_the_grace(engine: BlockEngine) -> None:
    sub = submitter(engine, invalid_after_s=0.1, poll_interval_s=0.01)
    ghost = SubmissionResult(signature="x", accepted=True, status="accepted", bundle_id="ab" * 32)
    try:
        result = await sub.confirm(ghost, timeout_s=5)
    finally:
        await sub.close()
    assert result.status == "invalid"
    assert len(engine.calls("getInflightBundleStatuses")) >= 5  # it kept asking during the grace
    assert len(engine.calls("getBundleStatuses")) == 1  # and checked history before giving up


async def test_pending_until_timeout(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        sent = await sub.submit([signed()])
        result = await sub.confirm(sent, timeout_s=0.1)
    finally:
        await sub.close()
    assert result.status == "pending" and result.bundle_id == sent.bundle_id


async def test_final_results_are_returned_as_they_are(engine: BlockEngine) -> None:
    sub = submitter(engine)
    rejected = SubmissionResult(signature="s", accepted=False, status="rejected", bundle_id="b")
    try:
        assert await sub.confirm(rejected) is rejected
    finally:
        await sub.close()
    assert engine.requests == []
