"""The local peer and the client agree with the request/response examples of Jito's docs.

fixtures/jito_docs_examples.json holds the examples verbatim, with their source. The peer
must accept the documented requests and answer in the documented shapes; the client's
parsers must read the documented responses; the client's requests must have the shapes of
the documented ones.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from block_engine import BlockEngine, b58decode
from jito_testlib import signed, submitter
from solders.transaction import VersionedTransaction

from lstarb_jito.bundle import bundle_id
from lstarb_jito.replies import (
    bundle_id_result,
    bundle_statuses_result,
    inflight_result,
    tip_accounts_result,
)

DOC = json.loads((Path(__file__).parent / "fixtures" / "jito_docs_examples.json").read_text())
EX = DOC["examples"]


def _shape(value: Any) -> Any:
    """Keys and types, recursively: what a reply's structure is, without its values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def _post(engine: BlockEngine, documented_url: str, body: dict[str, Any]) -> httpx.Response:
    path = "/" + documented_url.split("/", 3)[3]
    return httpx.post(engine.url + path, json=body, timeout=5)


def _txs(example: str) -> list[VersionedTransaction]:
    params = EX[example]["request"]["body"]["params"]
    items = params[0] if isinstance(params[0], list) else [params[0]]
    raw = [base64.b64decode(t) if example.endswith("base64") else b58decode(t) for t in items]
    return [VersionedTransaction.from_bytes(r) for r in raw]


def test_source_is_recorded() -> None:
    assert DOC["source"]["url"].startswith("https://docs.jito.wtf/")
    assert len(DOC["source"]["commit"]) == 40


@pytest.mark.parametrize("example", ["sendBundle/base64", "sendBundle/base58"])
def test_peer_accepts_the_documented_bundle(engine: BlockEngine, example: str) -> None:
    req = EX[example]["request"]
    reply = _post(engine, req["url"], req["body"]).json()
    txs = _txs(example)
    assert len(txs) == 5 and all(all(tx.verify_with_results()) for tx in txs)
    expected_id = bundle_id([tx.signatures[0] for tx in txs])
    assert reply == {"jsonrpc": "2.0", "result": expected_id, "id": 1}
    assert _shape(reply) == _shape(EX[example]["response"])
    assert expected_id in engine.bundles


def test_peer_accepts_the_documented_transaction_and_refuses_it_bundle_only(
    engine: BlockEngine,
) -> None:
    req = EX["sendTransaction/base64"]["request"]
    reply = _post(engine, req["url"], req["body"]).json()
    (tx,) = _txs("sendTransaction/base64")
    assert reply["result"] == str(tx.signatures[0])
    assert _shape(reply) == _shape(EX["sendTransaction/base64"]["response"])
    # the documented transaction pays no tip: as a bundle it is refused
    path = "/api/v1/transactions?bundleOnly=true"
    refused = httpx.post(engine.url + path, json=req["body"], timeout=5).json()
    assert "tip at least 1000" in refused["error"]["message"]


@pytest.mark.parametrize(
    "method", ["getTipAccounts", "getBundleStatuses", "getInflightBundleStatuses"]
)
def test_peer_answers_in_the_documented_shape(engine: BlockEngine, method: str) -> None:
    req = EX[method]["request"]
    if method == "getBundleStatuses":  # make the documented id land so value[0] is an object
        bid = req["body"]["params"][0][0]
        from block_engine import BundleState

        engine.bundles[bid] = BundleState(
            [
                "3bC2M9fiACSjkTXZDgeNAuQ4ScTsdKGwR42ytFdhUvikqTmBheUxfsR1fDVsM5ADCMMspuwGkdm1uKbU246x5aE3"
            ]
        )
        engine.land(bid, 242_804_011)
    reply = _post(engine, req["url"], req["body"]).json()
    documented = EX[method]["response"]
    assert _shape(reply) == _shape(documented)
    if method == "getTipAccounts":
        assert reply["result"] == documented["result"]
    if method == "getInflightBundleStatuses":
        assert reply["result"]["value"] == documented["result"]["value"]


def test_parsers_read_the_documented_responses() -> None:
    assert len(tip_accounts_result(EX["getTipAccounts"]["response"]["result"], "docs")) == 8
    statuses = bundle_statuses_result(EX["getBundleStatuses"]["response"]["result"], "docs")
    ((bid, st),) = statuses.items()
    assert bid == "892b79ed49138bfb3aa5441f0df6e06ef34f9ee8f3976c15b323605bae0cf51d"
    assert (st.slot, st.confirmation_status, st.err, len(st.transactions)) == (
        242_804_011,
        "finalized",
        None,
        2,
    )
    inflight = inflight_result(EX["getInflightBundleStatuses"]["response"]["result"], "docs")
    assert len(inflight) == 5 and {s.status for s in inflight.values()} == {"Invalid"}
    # the docs' sendBundle example answers with a signature-like string; it is still a string id
    assert bundle_id_result(EX["sendBundle/base64"]["response"]["result"], "docs")


async def test_client_requests_have_the_documented_shapes(engine: BlockEngine) -> None:
    sub = submitter(engine)
    try:
        await sub.submit([signed(), signed()])
        await sub.send_transaction(signed(), bundle_only=True)
        await sub.confirm((await sub.submit([signed(tip=20_000)])), timeout_s=0.03)
    finally:
        await sub.close()
    for method, example in [
        ("sendBundle", "sendBundle/base64"),
        ("sendTransaction", "sendTransaction/base64"),
        ("getTipAccounts", "getTipAccounts"),
        ("getInflightBundleStatuses", "getInflightBundleStatuses"),
    ]:
        ours = engine.calls(method)[0]
        documented = EX[example]["request"]
        assert ours.path == "/" + documented["url"].split("/", 3)[3].split("?")[0], method
        body = dict(ours.body)
        assert isinstance(body.pop("id"), int)
        want = dict(documented["body"])
        want.pop("id")
        assert _shape(body) == _shape(want), method
        assert body["method"] == want["method"]
