"""Reconnect delays: exponential, capped, jittered.

"Equal jitter": half the current step is fixed, half random, so bots that lost the same
proxy do not come back in lock step, and none retries in a tight loop.
"""

from __future__ import annotations

import random


class Backoff:
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
        """The stream delivered: start again from the initial delay."""
        self.attempt = 0
