"""Integer searches over exact quotes: the least input that delivers, and the best size.

Both work on the program's own integer math (a callable that quotes), never on
a float model of it, so what they return is what the program would do.
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


_INV_PHI = 0.6180339887498949  # only places probes; every value compared is an exact integer


def best_size(
    profit: Callable[[int], int | None],
    lo: int,
    hi: int,
    start: int,
    *,
    tolerance_ppm: int = 1,
    scan: int = 16,
) -> tuple[int, int] | None:
    """The size in ``lo..hi`` with the largest exact ``profit``, and that profit (None: never > 0).

    ``profit`` is the cycle's exact result at a size (None: a leg refuses).
    For constant-product and concentrated pools it is unimodal where the
    legs quote, so: check the margin at ``start`` (unprofitable there means
    unprofitable at every larger size), gallop by doubling while it grows,
    then a golden-section search on integers down to a window of ``scan``
    sizes (or ``tolerance_ppm`` of the size) and the best point seen, the
    smallest size on ties. Plateaus are safe: a tie keeps the left side.
    """
    memo: dict[int, int | None] = {}

    def f(x: int) -> int | None:
        if x not in memo:
            memo[x] = profit(x)
        return memo[x]

    x = min(max(start, lo), hi)
    v = f(x)
    steps = 0
    while v is None and steps < 8:  # below a minimum amount: go up
        if x >= hi:
            break
        x = min(hi, x * 4)
        v = f(x)
        steps += 1
    if v is None or v <= 0:
        return None
    left = lo  # the best size may lie below the probe: the bracket starts at the bottom
    while x < hi:
        nxt = min(hi, x * 2)
        nv = f(nxt)
        if nv is None or nv <= v:
            right = nxt
            break
        left, x, v = x, nxt, nv
    else:
        right = hi
    a, b = left, right
    tol = max(scan, b * tolerance_ppm // 1_000_000)
    c = b - int((b - a) * _INV_PHI)
    d = a + int((b - a) * _INV_PHI)
    while b - a > tol:
        fc, fd = f(c), f(d)
        if (fc if fc is not None else -(1 << 80)) >= (fd if fd is not None else -(1 << 80)):
            b = d
        else:
            a = c
        c = b - int((b - a) * _INV_PHI)
        d = a + int((b - a) * _INV_PHI)
    if b - a <= scan:
        for x in range(a, b + 1):
            f(x)
    best = max(
        ((x, p) for x, p in memo.items() if p is not None),
        key=lambda item: (item[1], -item[0]),
    )
    return best if best[1] > 0 else None
