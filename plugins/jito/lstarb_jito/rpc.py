"""JSON-RPC over HTTP to several block engines: failover or fan-out, backoff on 429.

One call goes to the endpoints in rounds. In a round, failover tries them one
after another starting from the last one that answered; fan-out asks all at
once and takes the first answer. A 429 (or a JSON-RPC rate-limit error), a
5xx, a timeout or a reply that is not JSON-RPC moves on to the next endpoint;
when a round ends without an answer the client sleeps a jittered exponential
backoff (full jitter, capped; at least the peer's "Retry after N ms" when it
gave one) and starts another, up to ``max_attempts`` rounds. A JSON-RPC error
that is not about rate limits is the peer's answer and comes back at once as
:class:`PeerError`.

The auth UUID travels in the ``x-jito-auth`` header only (never the URL), and
nothing here logs headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from lstarb_jito.config import Endpoint
from lstarb_sdk.errors import SubmissionError

log = logging.getLogger("lstarb.plugin.jito")

#: JSON-RPC error codes block engines use for rate limits (public client code and issues).
RATE_LIMIT_CODES = frozenset({-32097, -32429})
_RATE_LIMIT_WORDS = ("rate limit", "rate-limit", "max usage", "congested", "retry after")
_RETRY_AFTER = re.compile(r"retry after (\d+)\s*ms", re.IGNORECASE)


class PeerError(SubmissionError):
    """The block engine answered with a JSON-RPC error (it refused the request)."""

    def __init__(self, endpoint: str, method: str, code: object, message: str) -> None:
        super().__init__(f"jito {endpoint}: {method} refused: {message} (code {code})")
        self.endpoint, self.method, self.code, self.peer_message = endpoint, method, code, message


class _Retry(Exception):
    """This endpoint did not answer usefully; try another (``reason`` says why)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful JSON-RPC reply: the result, the endpoint that gave it, its headers."""

    result: Any
    endpoint: str
    headers: httpx.Headers


def _retry_after(text: str) -> float | None:
    m = _RETRY_AFTER.search(text)
    return int(m.group(1)) / 1000 if m else None


def _is_rate_limit(code: object, message: str) -> bool:
    low = message.lower()
    return code in RATE_LIMIT_CODES or any(w in low for w in _RATE_LIMIT_WORDS)


class BlockEngineClient:
    """Calls block-engine JSON-RPC methods on several endpoints."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        *,
        auth_uuid: str | None = None,
        timeout_s: float = 2.0,
        max_attempts: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 3.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.endpoints = list(endpoints)
        self._auth = auth_uuid
        self._timeout = timeout_s
        self._attempts = max_attempts
        self._base, self._cap = backoff_base_s, backoff_max_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._preferred = 0
        self._client: httpx.AsyncClient | None = None
        self._next_id = 0
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def opened(self) -> bool:
        """Whether a transport exists (paper runs never open one)."""
        return self._client is not None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self._auth:
                headers["x-jito-auth"] = self._auth
            self._client = httpx.AsyncClient(headers=headers, timeout=self._timeout)
        return self._client

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def backoff_s(self, round_no: int, retry_after_s: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**round)], at least the peer's ask."""
        ceiling = min(self._cap, self._base * (2**round_no))
        delay = self._rng.uniform(0, ceiling)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self._cap))
        return delay

    async def call(
        self,
        path: str,
        method: str,
        params: list[Any],
        *,
        fanout: bool = False,
        query: dict[str, str] | None = None,
    ) -> Reply:
        """Call ``method`` on ``path``; raises PeerError or SubmissionError (all failed)."""
        failures: list[str] = []
        for round_no in range(self._attempts):
            retry_after: float | None = None
            attempt = self._fanout if fanout else self._failover
            try:
                return await attempt(path, method, params, query, failures)
            except _Retry as exc:
                retry_after = exc.retry_after_s
            if round_no + 1 < self._attempts:
                delay = self.backoff_s(round_no, retry_after)
                log.info("jito %s: no endpoint answered, retrying in %.3f s", method, delay)
                await self._sleep(delay)
        raise SubmissionError(
            f"jito: {method} failed on every endpoint after {self._attempts} round(s): "
            + "; ".join(failures)
        )

    async def _failover(
        self,
        path: str,
        method: str,
        params: list[Any],
        query: dict[str, str] | None,
        failures: list[str],
    ) -> Reply:
        n = len(self.endpoints)
        retry_after: float | None = None
        for k in range(n):
            i = (self._preferred + k) % n
            try:
                reply = await self._one(self.endpoints[i], path, method, params, query)
            except _Retry as exc:
                failures.append(f"{self.endpoints[i].name}: {exc}")
                log.warning("jito %s on %s: %s", method, self.endpoints[i].name, exc)
                if exc.retry_after_s is not None:
                    retry_after = max(retry_after or 0.0, exc.retry_after_s)
                continue
            self._preferred = i
            return reply
        raise _Retry("all endpoints failed", retry_after)

    async def _fanout(
        self,
        path: str,
        method: str,
        params: list[Any],
        query: dict[str, str] | None,
        failures: list[str],
    ) -> Reply:
        tasks = {
            asyncio.ensure_future(self._one(e, path, method, params, query)): e
            for e in self.endpoints
        }
        retry_after: float | None = None
        peer_error: PeerError | None = None
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        return task.result()
                    name = tasks[task].name
                    if isinstance(exc, _Retry):
                        failures.append(f"{name}: {exc}")
                        log.warning("jito %s on %s: %s", method, name, exc)
                        if exc.retry_after_s is not None:
                            retry_after = max(retry_after or 0.0, exc.retry_after_s)
                    elif isinstance(exc, PeerError):
                        peer_error = peer_error or exc
                    else:
                        raise exc
        finally:
            for task in pending:  # the others still deliver; let them finish quietly
                self._background.add(task)
                task.add_done_callback(self._finished)
        if peer_error is not None:
            raise peer_error
        raise _Retry("all endpoints failed", retry_after)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a late failure of a fanned-out copy is not an error

    async def _one(
        self,
        endpoint: Endpoint,
        path: str,
        method: str,
        params: list[Any],
        query: dict[str, str] | None,
    ) -> Reply:
        self._next_id += 1
        request_id = self._next_id
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            resp = await self._http().post(endpoint.url + path, json=body, params=query)
        except httpx.TimeoutException:
            raise _Retry(f"no reply within {self._timeout} s") from None
        except httpx.HTTPError as exc:
            raise _Retry(f"transport error: {type(exc).__name__}: {exc}") from None
        text = resp.text
        if resp.status_code == 429:
            raise _Retry(f"rate limited (HTTP 429): {text[:200]}", _retry_after(text))
        if resp.status_code >= 500:
            raise _Retry(f"HTTP {resp.status_code}: {text[:200]}")
        try:
            doc = json.loads(text)
        except ValueError:
            raise _Retry(f"HTTP {resp.status_code}, reply is not JSON: {text[:120]!r}") from None
        if not isinstance(doc, dict):
            raise _Retry(f"reply is JSON {type(doc).__name__}, not a JSON-RPC object")
        if "error" in doc and doc["error"] is not None:
            err = doc["error"]
            if not isinstance(err, dict):
                raise _Retry(f"reply's error is {err!r}, not a JSON-RPC error object")
            code, message = err.get("code"), str(err.get("message", ""))
            if _is_rate_limit(code, message):
                raise _Retry(f"rate limited: {message} (code {code})", _retry_after(message))
            raise PeerError(endpoint.name, method, code, message)
        if resp.status_code != 200:
            raise _Retry(f"HTTP {resp.status_code} without a JSON-RPC error: {text[:120]!r}")
        if doc.get("jsonrpc") != "2.0":
            raise _Retry(f"reply's jsonrpc is {doc.get('jsonrpc')!r}, not '2.0'")
        if doc.get("id") != request_id:
            raise _Retry(f"reply's id is {doc.get('id')!r}, the request's was {request_id}")
        if "result" not in doc:
            raise _Retry("reply has neither result nor error")
        return Reply(doc["result"], endpoint.name, resp.headers)
