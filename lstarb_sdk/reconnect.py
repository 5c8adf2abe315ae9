"""What a data source that holds a connection needs: reconnect delays, and bad input
counted and named (SDK API 1.2).

Why in the SDK: plugins import nothing but ``lstarb_sdk``, and every streaming source
(a websocket RPC node, a gRPC proxy, a Geyser server) needs the same two pieces: delays that
grow and are jittered, so a fleet that lost one node does not come back in lock step; and a
rule for bad input that keeps logs readable under a flood (the first problem of each kind
logged as a warning naming what was wrong, the rest counted). The first-party ``rpc`` and
``shredstream`` sources use them.
"""

from __future__ import annotations

import logging
import random
from collections import Counter


class Backoff:
    """Exponential, capped, "equal jitter" delays: half the current step fixed, half random,
    so none retries immediately and sources that failed together spread out."""

    def __init__(
        self, initial_s: float, maximum_s: float, rng: random.Random | None = None
    ) -> None:
        self.initial_s = initial_s
        self.maximum_s = max(maximum_s, initial_s)
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt (each call doubles the step, up to the cap)."""
        step = min(self.maximum_s, self.initial_s * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return float(step / 2 + self._rng.uniform(0, step / 2))

    def reset(self) -> None:
        """A connection delivered: start again from the initial delay."""
        self.attempt = 0


class ProblemLog:
    """Counts problems by kind into ``counts``; logs the first of each kind as a warning
    (``"<name>: <detail> (counted as <kind>; further ones are counted, not logged)"``) and
    the rest at debug level, so a malformed stream cannot flood the log but is never silent.
    """

    def __init__(self, logger: logging.Logger, name: str, counts: Counter[str]) -> None:
        self.logger = logger
        self.name = name
        self.counts = counts
        self._logged: set[str] = set()

    def problem(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        if kind in self._logged:
            self.logger.debug("%s: %s: %s", self.name, kind, detail)
            return
        self._logged.add(kind)
        self.logger.warning(
            "%s: %s (counted as %s; further ones are counted, not logged)",
            self.name,
            detail,
            kind,
        )
