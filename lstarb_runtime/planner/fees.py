"""The compute-unit price: ``[planner] compute_unit_price``, or a percentile of recent fees.

``priority_fee_source = "recent"``: the first loaded plugin object that is a
:class:`~lstarb_sdk.fees.PriorityFeeSource` (the rpc plugin's submitter asks its node's
``getRecentPrioritizationFees``) is read every ``recent_fee_refresh_s`` in the background;
the price is the ``recent_fee_percentile`` of the slots' fees, at most
``compute_unit_price_max``. ``"config"``, or no source loaded: ``compute_unit_price``.

Why in the background: asking a node per plan would put a round trip on the hot path, and
fees move slowly next to that; :attr:`PriorityFees.price` is a plain attribute the engine
reads. A failed read (the node down, an error object, a reply of the wrong shape) is counted
and the last good price holds for ``recent_fee_max_age_s``; after that the configured price
applies until a read succeeds again, so a plan is never priced on fees of long ago. A replay
never asks anything: it prices with the configured price, so it plans the same bytes every
time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from solders.pubkey import Pubkey

from lstarb_runtime.planner.settings import PlannerSettings
from lstarb_sdk.errors import DataSourceError
from lstarb_sdk.fees import PriorityFeeSource, percentile

log = logging.getLogger("lstarb.planner")

__all__ = ["PriorityFeeSource", "PriorityFees", "find_fee_source", "percentile"]


def find_fee_source(objects: Sequence[Any]) -> PriorityFeeSource | None:
    """The first object offering ``recent_priority_fees`` (None if none does)."""
    for obj in objects:
        if isinstance(obj, PriorityFeeSource):
            return obj
    return None


def _fees(values: Any) -> list[int]:
    """The source's answer as a list of fees; DataSourceError naming what is wrong with it."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise DataSourceError(f"recent_priority_fees returned {type(values).__name__}, not a list")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DataSourceError(f"recent_priority_fees returned {value!r:.40}, not a fee")
        out.append(value)
    return out


class PriorityFees:
    """The price every plan uses now; :meth:`refresh` asks the source, if there is one."""

    def __init__(
        self,
        settings: PlannerSettings,
        source: PriorityFeeSource | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.source = source if settings.priority_fee_source == "recent" else None
        self.accounts = [Pubkey.from_string(a) for a in settings.priority_fee_accounts]
        self.price = settings.compute_unit_price
        self.recent: int | None = None
        """The last price read from the source (None: none yet, or too old)."""
        self.refreshed = 0
        self.failures = 0
        self.failed: Counter[str] = Counter()
        """Failed reads by kind (the exception's class name)."""
        self.last_error = ""
        self._clock = clock
        self._read_at = 0.0

    @property
    def origin(self) -> str:
        if self.source is None:
            return "config"
        if self.recent is None:
            return f"config (recent fees unavailable: {self.failures} failed reads)"
        return f"recent fees (p{self.settings.recent_fee_percentile}, {self.refreshed} reads)"

    async def refresh(self) -> int:
        """Ask the source once; on failure the last good price holds until it is
        ``recent_fee_max_age_s`` old, then the configured one. Returns the price."""
        if self.source is None:
            return self.price
        settings = self.settings
        try:
            values = _fees(await self.source.recent_priority_fees(self.accounts))
        except Exception as exc:  # plugin code: named, counted, a known price stays
            self._failed(exc)
            return self.price
        self.recent = min(
            percentile(values, settings.recent_fee_percentile), settings.compute_unit_price_max
        )
        self.price = self.recent
        self._read_at = self._clock()
        self.refreshed += 1
        if self.failures:
            log.info("recent priority fees read again: %d micro-lamports/CU", self.price)
            self.failures = 0
        return self.price

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.failed[type(exc).__name__] += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        stale = self.recent is None or (
            self._clock() - self._read_at > self.settings.recent_fee_max_age_s
        )
        if stale:
            self.recent = None
            self.price = self.settings.compute_unit_price
        if self.failures == 1:
            log.warning(
                "recent priority fees not read (%s); pricing at %d micro-lamports/CU (%s)",
                self.last_error,
                self.price,
                "configured" if stale else "last read",
            )

    async def run(self, stopping: asyncio.Event) -> None:
        """Refresh every ``recent_fee_refresh_s`` until ``stopping`` is set."""
        while not stopping.is_set():
            await self.refresh()
            try:
                await asyncio.wait_for(stopping.wait(), self.settings.recent_fee_refresh_s)
            except TimeoutError:
                continue
