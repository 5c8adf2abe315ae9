"""Rate limits, failover, fan-out, hangs, malformed replies and the auth header."""

from __future__ import annotations

import logging
import time

import pytest
from block_engine import BlockEngine
from jito_testlib import Sleeps, signed, submitter
from pydantic import SecretStr

from lstarb_jito.config import Endpoint, JitoConfig
from lstarb_jito.replies import inflight_result
from lstarb_jito.submitter import JitoSubmitter
from lstarb_sdk.errors import SubmissionError


async def test_429_fails_over_to_the_next_endpoint_and_sticks(engines: list[BlockEngine]) -> None:
    a, b, _ = engines
    a.then("429")
    sub = submitter(a, b)
    try:
        await sub.refresh_tip_accounts()  # a: 429, b: answers
        assert (await sub.submit([signed()])).accepted
    finally:
        await sub.close()
    assert len(a.requests) == 1 and len(b.requests) == 2
    assert len(b.calls("sendBundle")) == 1  # the last endpoint that answered is tried first


@pytest.mark.parametrize("behaviour", ["429", "429-rpc"])
async def test_backoff_is_jittered_and_bounded(
    engine: BlockEngine, behaviour: str, sleeps: Sleeps
) -> None:
    engine.then(behaviour, behaviour, behaviour)
    sub = submitter(engine, sleep=sleeps, max_attempts=4, backoff_base_s=0.1, backoff_max_s=0.25)
    try:
        assert len(await sub.refresh_tip_accounts()) == 8
    finally:
        await sub.close()
    assert len(engine.calls("getTipAccounts")) == 4
    assert len(sleeps.delays) == 3
    for n, delay in enumerate(sleeps.delays):
        assert 0 <= delay <= min(0.25, 0.1 * 2**n)
    assert len(set(sleeps.delays)) == 3  # jittered, not a fixed schedule


async def test_retry_after_is_honoured(engine: BlockEngine, sleeps: Sleeps) -> None:
    engine.then("429-retry-after")
    sub = submitter(engine, sleep=sleeps, backoff_base_s=0.001, backoff_max_s=1.0)
    try:
        await sub.refresh_tip_accounts()
    finally:
        await sub.close()
    assert sleeps.delays and sleeps.delays[0] >= 0.05


async def test_every_endpoint_failing_names_each(
    engines: list[BlockEngine], sleeps: Sleeps
) -> None:
    a, b, _ = engines
    a.then("429", "429")
    b.then("500", "500")
    sub = submitter(a, b, sleep=sleeps, max_attempts=2)
    try:
        with pytest.raises(SubmissionError) as err:
            await sub.refresh_tip_accounts()
    finally:
        await sub.close()
    text = str(err.value)
    assert "getTipAccounts failed on every endpoint after 2 round(s)" in text
    assert "peer0: rate limited (HTTP 429)" in text and "peer1: HTTP 500" in text
    assert len(sleeps.delays) == 1


async def test_a_hanging_endpoint_times_out_and_the_next_answers(
    engines: list[BlockEngine],
) -> None:
    a, b, _ = engines
    a.hang_s = 1.0
    a.then("hang")
    sub = submitter(a, b, timeout_s=0.2)
    started = time.monotonic()
    try:
        assert (await sub.submit([signed()])).accepted
    finally:
        await sub.close()
    assert time.monotonic() - started < 0.9
    assert len(b.calls("sendBundle")) == 1


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("not-json", "reply is not JSON"),
        ("wrong-id", "reply's id is 999999"),
        ("no-result", "reply has neither result nor error"),
        ("html-400", "HTTP 400, reply is not JSON"),
        ("hang", "no reply within 0.2 s"),
    ],
)
async def test_malformed_replies_are_named(
    engine: BlockEngine, behaviour: str, message: str
) -> None:
    engine.hang_s = 0.6
    engine.then(behaviour)
    sub = submitter(engine, max_attempts=1, timeout_s=0.2)
    try:
        with pytest.raises(SubmissionError, match=message):
            await sub.refresh_tip_accounts()
    finally:
        await sub.close()


async def test_malformed_result_is_named(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        accepted = await sub.submit([signed()])
        engine.then("bad-result")
        with pytest.raises(
            SubmissionError,
            match=r"getInflightBundleStatuses reply from peer0: value is 7, not a list",
        ):
            await sub.confirm(accepted, timeout_s=1)
    finally:
        await sub.close()


async def test_reordered_status_lists_are_matched_by_id(engine: BlockEngine) -> None:
    engine.reorder = True
    sub = submitter(engine)
    try:
        ids = [(await sub.submit([signed()])).bundle_id for _ in range(3)]
        engine.land(ids[1], 123)
        engine.fail(ids[2])
        reply = await sub.client.call(
            "/api/v1/getInflightBundleStatuses", "getInflightBundleStatuses", [ids]
        )
    finally:
        await sub.close()
    assert [v["bundle_id"] for v in reply.result["value"]] == list(reversed(ids))
    statuses = inflight_result(reply.result, reply.endpoint)
    assert [(statuses[i].status, statuses[i].landed_slot) for i in ids] == [
        ("Pending", None),
        ("Landed", 123),
        ("Failed", None),
    ]


async def test_fanout_sends_everywhere_and_takes_the_first_answer(
    engines: list[BlockEngine],
) -> None:
    a, b, c = engines
    sub = submitter(a, b, c, mode="fanout", timeout_s=1.0)
    try:
        await sub.refresh_tip_accounts()  # status-like calls fail over: a answers
        a.then("500")
        b.hang_s = 0.4
        b.then("hang")
        started = time.monotonic()
        result = await sub.submit([signed()])
        elapsed = time.monotonic() - started
    finally:
        await sub.close()
    assert result.accepted and elapsed < 0.35
    for peer in (a, b, c):
        assert len(peer.calls("sendBundle")) == 1
    assert result.bundle_id in c.bundles and result.bundle_id not in a.bundles


async def test_auth_header_is_sent_and_never_logged(
    engines: list[BlockEngine], caplog: pytest.LogCaptureFixture
) -> None:
    uuid = "5f1c0a5e-1b2d-4c3e-8f9a-0b1c2d3e4f50"
    a, b, _ = engines
    a.then("429")
    config = JitoConfig(
        endpoints=[Endpoint(name="a", url=a.url), Endpoint(name="b", url=b.url)],
        auth_uuid=SecretStr(uuid),
        timeout_s=0.5,
        max_attempts=1,
    )
    sub = JitoSubmitter(config, paper=False)
    caplog.set_level(logging.DEBUG)
    try:
        assert (await sub.submit([signed()])).accepted
        b.then("429")
        a.then("500")
        with pytest.raises(SubmissionError) as err:
            await sub.submit([signed()])
    finally:
        await sub.close()
    for peer in (a, b):
        for request in peer.requests:
            assert request.headers.get("x-jito-auth") == uuid
            assert "uuid" not in request.query and uuid not in request.path
    assert uuid not in caplog.text and uuid not in str(err.value)
    assert uuid not in repr(config) and uuid not in config.model_dump_json()
    assert "rate limited" in caplog.text  # the failures themselves were logged
