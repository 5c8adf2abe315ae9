"""A paper run cannot reach the network: no connection is opened, nothing is sent."""

from __future__ import annotations

import socket

import pytest
from block_engine import BlockEngine
from jito_testlib import signed, submitter

from lstarb_sdk import PluginContext, SubmissionResult
from lstarb_sdk.errors import SubmissionError


async def test_paper_submitter_never_connects(
    engine: BlockEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a paper run tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    sub = submitter(engine, paper=True)
    tx = signed()
    with pytest.raises(SubmissionError, match="paper mode, a bundle is not sent"):
        await sub.submit([tx])
    with pytest.raises(SubmissionError, match="paper mode, a transaction is not sent"):
        await sub.send_transaction(tx)
    assert len(await sub.refresh_tip_accounts()) == 8  # the defaults, no request
    accepted = SubmissionResult(signature="s", accepted=True, status="accepted", bundle_id="b")
    assert await sub.confirm(accepted) is accepted
    assert sub.tip_instruction(tx.message.account_keys[0], 5_000) is not None
    await sub.close()
    assert not sub.client.opened
    assert engine.requests == []


def test_the_hook_builds_paper_submitters_unless_live(engine: BlockEngine) -> None:
    from lstarb_jito import plugin

    (paper,) = plugin.lstarb_submitters(PluginContext())
    (live,) = plugin.lstarb_submitters(PluginContext(paper=False))
    assert paper.paper and not live.paper  # type: ignore[attr-defined]
