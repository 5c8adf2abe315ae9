"""A recent blockhash, always at hand: the executor builds with it without a round trip.

A blockhash is valid for about 150 blocks (60 to 90 s). The cache fetches one every
``refresh_s`` (5 s by default), so the one it hands out is seconds old, and refuses to
hand out one older than ``max_age_s`` (45 s: far from expiry even on fast slots) when
refreshes keep failing. Each comes with its ``last_valid_block_height``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from lstarb_rpc.rpc_http import LatestBlockhash, RpcHttp
from lstarb_sdk.errors import DataSourceError, SubmissionError

log = logging.getLogger("lstarb.plugin.rpc")


class BlockhashCache:
    def __init__(self, http: RpcHttp, *, refresh_s: float = 5.0, max_age_s: float = 45.0) -> None:
        self.http = http
        self.refresh_s = refresh_s
        self.max_age_s = max_age_s
        self._latest: LatestBlockhash | None = None
        self._fetched_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        """Keep refreshing in the background (from the first call on)."""
        if self._task is None:
            self._task = asyncio.create_task(self._refresh_loop(), name="lstarb rpc blockhash")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def current(self) -> LatestBlockhash:
        """The cached blockhash, without I/O; SubmissionError when none is fresh enough."""
        latest = self._latest
        if latest is None:
            raise SubmissionError("no blockhash fetched yet (await BlockhashCache.get() once)")
        age = time.monotonic() - self._fetched_at
        if age > self.max_age_s:
            raise SubmissionError(
                f"the newest blockhash is {age:.0f} s old (limit {self.max_age_s:.0f} s): "
                "getLatestBlockhash keeps failing"
            )
        return latest

    async def get(self) -> LatestBlockhash:
        """The cached blockhash if fresh, else one fetched now (and the refresher started)."""
        self.start()
        with contextlib.suppress(SubmissionError):
            return self.current()
        async with self._lock:
            with contextlib.suppress(SubmissionError):
                return self.current()
            try:
                await self._refresh()
            except DataSourceError as exc:
                raise SubmissionError(f"getLatestBlockhash: {exc}") from None
            return self.current()

    async def _refresh(self) -> None:
        latest = await self.http.latest_blockhash()
        self._latest = latest
        self._fetched_at = time.monotonic()

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self._refresh()
            except DataSourceError as exc:  # counted and logged by the endpoint's health
                log.debug("blockhash refresh failed: %s", exc)
            await asyncio.sleep(self.refresh_s)
