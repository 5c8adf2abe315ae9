"""lstarb_sdk.reconnect: the delays a streaming source waits, and how it reports bad input."""

from __future__ import annotations

import logging
import random
from collections import Counter

import pytest

from lstarb_sdk.reconnect import Backoff, ProblemLog


def test_delays_double_up_to_the_cap_with_half_of_each_step_random() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(3))
    delays = [backoff.next() for _ in range(8)]
    steps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for delay, step in zip(delays, steps, strict=True):
        assert step / 2 <= delay <= step
    assert len(set(delays)) == len(delays), "jittered: no two equal"
    backoff.reset()
    assert 0.25 <= backoff.next() <= 0.5


def test_a_cap_below_the_first_step_is_the_first_step() -> None:
    backoff = Backoff(2.0, 1.0, random.Random(1))
    assert all(1.0 <= backoff.next() <= 2.0 for _ in range(5))


def test_problems_are_counted_and_the_first_of_each_kind_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counts: Counter[str] = Counter()
    problems = ProblemLog(logging.getLogger("lstarb.test.reconnect"), "source x", counts)
    with caplog.at_level(logging.DEBUG, logger="lstarb.test.reconnect"):
        for i in range(3):
            problems.problem("malformed", f"frame {i} cut")
        problems.problem("timeouts", "no reply in 5 s")
    assert counts == {"malformed": 3, "timeouts": 1}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "source x: frame 0 cut (counted as malformed; further ones are counted, not logged)",
        "source x: no reply in 5 s (counted as timeouts; further ones are counted, not logged)",
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["source x: malformed: frame 1 cut", "source x: malformed: frame 2 cut"]
