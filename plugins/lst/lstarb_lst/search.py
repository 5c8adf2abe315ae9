"""The least input that delivers: exact-out quotes as a search over exact-in ones.

It works on the program's own integer math (a callable that quotes), never on
a float model of it, so what it returns is what the program would do. (The
best size of a cycle is :mod:`lstarb_lst.sizing`'s.)
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum


class Probe(Enum):
    """Where an input sits for a monotone "does it deliver?" question."""

    LOW = 0  # refused as too small, or delivers too little
    OK = 1  # delivers
    HIGH = 2  # refused as too large (overflow, liquidity, caps)


def least_input(probe: Callable[[int], Probe], guess: int, lo: int, hi: int) -> int | None:
    """The least ``x`` in ``lo..hi`` with ``probe(x) is OK``, or None.

    ``probe`` must be LOW on a prefix, then OK on an interval, then HIGH (any
    part may be empty). Gallops from ``guess`` (a good estimate costs a few
    probes), then bisects.
    """
    guess = min(max(guess, lo), hi)
    state = probe(guess)
    if state is Probe.OK:
        ok, step = guess, 1
        low = None
        while low is None:
            x = ok - step
            if x < lo:
                if probe(lo) is Probe.OK:
                    return lo
                low = lo
                break
            s = probe(x)
            if s is Probe.OK:
                ok = x
                step *= 2
            else:
                low = x
        return _bisect(probe, low, ok)
    if state is Probe.HIGH:
        high = guess
        low_: int | None = None
        step = 1
        while low_ is None:
            x = high - step
            if x < lo:
                x = lo
            s = probe(x)
            if s is Probe.OK:
                return least_input(probe, x, lo, x)
            if s is Probe.LOW:
                low_ = x
            else:
                if x == lo:
                    return None
                high = x
                step *= 2
        return _between(probe, low_, high)
    low, step = guess, 1
    while True:
        x = low + step
        if x > hi:
            x = hi
        s = probe(x)
        if s is Probe.OK:
            return _bisect(probe, low, x)
        if s is Probe.HIGH:
            return _between(probe, low, x)
        if x == hi:
            return None
        low = x
        step *= 2


def _bisect(probe: Callable[[int], Probe], low: int, ok: int) -> int:
    """Least OK in ``(low, ok]`` given probe(low) is LOW and probe(ok) is OK."""
    while ok - low > 1:
        mid = (low + ok) // 2
        if probe(mid) is Probe.OK:
            ok = mid
        else:
            low = mid
    return ok


def _between(probe: Callable[[int], Probe], low: int, high: int) -> int | None:
    """An OK point strictly between a LOW ``low`` and a HIGH ``high``, then the least one."""
    while high - low > 1:
        mid = (low + high) // 2
        s = probe(mid)
        if s is Probe.OK:
            return _bisect(probe, low, mid)
        if s is Probe.LOW:
            low = mid
        else:
            high = mid
    return None
