"""Replies in: error objects raised, malformations (solders' panics included) reported."""

from __future__ import annotations

import pytest
from solders.rpc.responses import GetMultipleAccountsResp, GetSlotResp

from lstarb_rpc.wire import MalformedReply, RpcReplyError, parse, reply

# solders 0.26 panics (a BaseException) on these instead of raising
PANICS = [
    '{"jsonrpc":"2.0","id":1,"error":{"code":-32016,"message":"Minimum context slot"}}',
    '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"Node is behind","data":5}}',
    '{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"failed","data":null}}',
]


@pytest.mark.parametrize("text", PANICS)
def test_error_objects_solders_panics_on_are_raised_as_rpc_errors(text: str) -> None:
    with pytest.raises(RpcReplyError) as raised:
        reply(GetMultipleAccountsResp, text, "getMultipleAccounts")
    assert raised.value.code in (-32016, -32005, -32002)


@pytest.mark.parametrize("text", PANICS)
def test_a_panic_in_the_parser_is_a_malformed_reply(text: str) -> None:
    with pytest.raises(MalformedReply, match="getMultipleAccounts: the parser gave up"):
        parse(GetMultipleAccountsResp.from_json, text, "getMultipleAccounts")


def test_malformed_replies_say_what_was_wrong() -> None:
    with pytest.raises(MalformedReply, match=r"getSlot: .* in '\{\"jsonrpc\""):
        reply(GetSlotResp, '{"jsonrpc":"2.0","id":1,"result":"not a slot"}', "getSlot")
    with pytest.raises(MalformedReply, match="not JSON"):
        reply(GetSlotResp, '{"error": oops', "getSlot")
    with pytest.raises(RpcReplyError, match="error is not an object"):
        reply(GetSlotResp, '{"jsonrpc":"2.0","id":1,"error":"busy"}', "getSlot")
    assert reply(GetSlotResp, '{"jsonrpc":"2.0","id":1,"result":42}', "getSlot").value == 42
