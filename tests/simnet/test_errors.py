"""Bad requests get the error objects and HTTP statuses a validator answers with."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lstarb_runtime.simnet import Simnet

POOL = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"


async def _post(net: Simnet, body: Any, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        if isinstance(body, str | bytes):
            return await http.post(
                net.http_url, content=body, headers={"content-type": "application/json"}, **kwargs
            )
        return await http.post(net.http_url, json=body, **kwargs)


def _call(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return body


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("{not json", -32700, "Parse error"),
        ({"id": 1, "method": "getSlot"}, -32600, "Invalid request"),
        ({"jsonrpc": "2.0", "id": 1}, -32600, "Invalid request"),
        (_call("getNothing"), -32601, "Method not found"),
        (_call("getAccountInfo", ["notakey"]), -32602, "Invalid param: WrongSize"),
        (_call("getAccountInfo", ["0OIl" * 8]), -32602, "Invalid param: Invalid"),
        (_call("getAccountInfo", []), -32602, None),
        (_call("getAccountInfo", {"pubkey": POOL}), -32602, None),
        (_call("getAccountInfo", [POOL, {"encoding": "hex"}]), -32602, None),
        (_call("getAccountInfo", [POOL, {"commitment": "max"}]), -32602, None),
        (
            _call("getAccountInfo", [POOL, {"encoding": "base58"}]),
            -32600,
            "Encoded binary (base 58) data should be less than 128 bytes, "
            "please use Base64 encoding.",
        ),
        (_call("getAccountInfo", [POOL]), -32600, None),  # default encoding is binary (base58)
        (
            _call("getMultipleAccounts", [[POOL] * 101, {"encoding": "base64"}]),
            -32602,
            "Too many inputs provided; max 100",
        ),
        (
            _call(
                "getProgramAccounts",
                ["11111111111111111111111111111111", {"filters": [{"dataSize": 1}] * 5}],
            ),
            -32602,
            "Too many filters provided; max 4",
        ),
        (
            _call(
                "getProgramAccounts",
                [
                    "11111111111111111111111111111111",
                    {"filters": [{"memcmp": {"offset": 0, "bytes": "1" * 200}}]},
                ],
            ),
            -32602,
            "Invalid param: DataTooLarge",
        ),
        (_call("getSignatureStatuses", [["x"] * 257]), -32602, "Too many inputs provided; max 256"),
        (_call("sendTransaction", ["!!!"]), -32602, None),
        (_call("sendTransaction", ["AAAA", {"encoding": "base64"}]), -32602, None),
    ],
)
async def test_error_objects(net: Simnet, body: Any, code: int, message: str | None) -> None:
    reply = await _post(net, body)
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["jsonrpc"] == "2.0" and "result" not in payload
    assert payload["error"]["code"] == code
    if message is not None:
        assert payload["error"]["message"] == message
    assert payload["id"] == (body.get("id") if isinstance(body, dict) else None)


async def test_batch_and_notifications(net: Simnet) -> None:
    batch = [
        _call("getSlot", request_id=1),
        _call("getNothing", request_id=2),
        {"jsonrpc": "2.0", "method": "getSlot"},
    ]
    payload = (await _post(net, batch)).json()
    assert [p["id"] for p in payload] == [1, 2]
    assert payload[0]["result"] == net.chain.slot
    assert payload[1]["error"]["code"] == -32601
    empty = (await _post(net, [])).json()
    assert empty["error"]["code"] == -32600
    only_notification = await _post(net, {"jsonrpc": "2.0", "method": "getSlot"})
    assert only_notification.status_code == 200 and only_notification.content == b""


async def test_http_level_refusals(net: Simnet) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(net.http_url + "/health")).text == "ok"
        assert (await http.get(net.http_url)).status_code == 405
        text = await http.post(net.http_url, content=b"{}", headers={"content-type": "text/plain"})
        assert text.status_code == 415
        big = await http.post(
            net.http_url,
            content=b"[" + b" " * 60_000 + b"]",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        # the server is still there for the next client
        assert (await http.post(net.http_url, json=_call("getHealth"))).json()["result"] == "ok"


async def test_blockhash_validity_and_preflight_shapes(net: Simnet) -> None:
    blockhash = net.chain.latest_blockhash
    valid = (await _post(net, _call("isBlockhashValid", [blockhash]))).json()["result"]
    assert valid == {
        "context": {"slot": net.chain.slot, "apiVersion": valid["context"]["apiVersion"]},
        "value": True,
    }
    for _ in range(151):
        net.step()
    stale = (await _post(net, _call("isBlockhashValid", [blockhash]))).json()["result"]
    assert stale["value"] is False
