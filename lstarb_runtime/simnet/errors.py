"""JSON-RPC errors with the codes and messages a Solana validator (Agave) answers with.

Why a module of its own: HTTP methods, the PubSub socket and the transaction path all
fail the same way on the wire, and a client library decides what to do by the code
(solders parses ``-32002`` into a preflight failure carrying the simulation result).
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
TRANSACTION_SIGNATURE_LEN_MISMATCH = -32013
MIN_CONTEXT_SLOT_NOT_REACHED = -32016


class RpcError(Exception):
    """An error object for a JSON-RPC response: ``{"code", "message", "data"?}``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body


def invalid_params(message: str) -> RpcError:
    """-32602, the message as Agave words it (``Invalid param: ...``, ``Invalid params: ...``)."""
    return RpcError(INVALID_PARAMS, message)


def invalid_request(message: str = "Invalid request") -> RpcError:
    return RpcError(INVALID_REQUEST, message)


def method_not_found() -> RpcError:
    return RpcError(METHOD_NOT_FOUND, "Method not found")


def parse_error() -> RpcError:
    return RpcError(PARSE_ERROR, "Parse error")


def min_context_slot_not_reached(context_slot: int) -> RpcError:
    return RpcError(
        MIN_CONTEXT_SLOT_NOT_REACHED,
        "Minimum context slot has not been reached",
        {"contextSlot": context_slot},
    )
