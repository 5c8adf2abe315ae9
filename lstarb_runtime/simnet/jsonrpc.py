"""JSON-RPC 2.0 framing shared by the HTTP port and the PubSub socket.

Parse errors, malformed requests, unknown methods and single requests or batches are
answered as jsonrpc-core (the library Agave serves with) answers them; a request
without an ``id`` is a notification and gets no answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from lstarb_runtime.simnet.errors import (
    INTERNAL_ERROR,
    RpcError,
    invalid_params,
    invalid_request,
    method_not_found,
    parse_error,
)

log = logging.getLogger("lstarb.simnet")

Call = Callable[[str, Sequence[Any]], Any]
"""Runs one method: raises KeyError for an unknown method, RpcError for a failure."""


class RawJson(str):
    """A result that is JSON text already (account data, rendered once and cached):
    spliced into the response instead of being encoded again."""


def _error(error: RpcError, request_id: Any) -> str:
    return _dumps({"jsonrpc": "2.0", "error": error.to_json(), "id": request_id})


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _one(request: Any, call: Call) -> str | None:
    if not isinstance(request, dict):
        return _error(invalid_request(), None)
    request_id = request.get("id")
    if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
        return _error(invalid_request(), request_id if _valid_id(request_id) else None)
    if not _valid_id(request_id):
        return _error(invalid_request(), None)
    params = request.get("params", [])
    notification = "id" not in request
    try:
        if params is None:
            params = []
        if not isinstance(params, list):
            raise invalid_params(
                "Invalid params: invalid type: map, expected a sequence of parameters."
            )
        result = call(request["method"], params)
    except KeyError:
        response = _error(method_not_found(), request_id)
    except RpcError as exc:
        response = _error(exc, request_id)
    except Exception as exc:  # a bug must answer, not hang the client
        log.exception("simnet: %s failed", request["method"])
        response = _error(RpcError(INTERNAL_ERROR, f"Internal error: {exc}"), request_id)
    else:
        text = result if isinstance(result, RawJson) else _dumps(result)
        response = f'{{"jsonrpc":"2.0","result":{text},"id":{_dumps(request_id)}}}'
    return None if notification else response


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, int | str) and not isinstance(value, bool))


def respond(payload: bytes | str, call: Call) -> str | None:
    """The response text for a request body, or None when nothing is to be answered."""
    try:
        request = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return _error(parse_error(), None)
    if isinstance(request, list):
        if not request:
            return _error(invalid_request(), None)
        answers = [a for a in (_one(r, call) for r in request) if a is not None]
        return "[" + ",".join(answers) + "]" if answers else None
    return _one(request, call)
