"""The size of a cycle: the most profitable rung of a ladder of sizes, found exactly.

Why a ladder and not "the best integer": near its peak a cycle's exact profit
is flat to within the rounding of its quotes (a few units) over a range of
about a million sizes for pools of a thousand SOL, so the best integer is
neither findable in a few quotes nor checkable by anyone else. The best rung
of a ladder fixed by the pool states is both: two scanners on the same
states choose the same size whatever each saw before, and a brute-force scan
of every rung finds the same size and profit to the unit.

The ladder (:class:`Ladder`): every size whose binary form is a 1 and ``B``
more digits, then zeros (all sizes below ``2**(B + 1)``, then ``2**B`` sizes
per doubling), up to the largest size allowed, which is a rung itself. ``B``
is as fine as the profit curve can be told apart from its rounding
(:func:`resolution`): the best rung of the coarse ladder (``COARSE_BITS``)
says how sharp the peak is. A big gain gets ``bits`` (the finest: 0.1-0.2 %
apart at 9); a gain of a few hundred units a coarse ladder whose rungs still
differ by more than the rounding. So the band of rungs rounding could
reorder stays about two rungs wide on every curve, and finding the best one
exactly stays cheap.

Two facts about exact quotes carry the search (the brute-force test checks
the result on real pools): the profit of a cycle is a concave curve where
its legs quote, and programs round against the trader, so the exact profit
sits at most ``noise`` units below that curve, never above. How the best rung
is found in a handful of quotes (every value compared is an exact integer;
floats only choose where to quote):

1. The output of a chain of constant-product legs (and fixed-rate legs such
   as stake pools) is a Moebius map ``a*x / (b + x)``, whose profit peaks at
   ``sqrt(a*b) - b``. Two exact points fix ``a`` and ``b``; for concentrated
   pools the fit is redone through the newest point until it settles.
2. A climb over rungs (neighbours, then doubling steps and a golden-section
   search) reaches a rung no neighbour beats.
3. A rung no neighbour beats may still not be the best: every rung on both
   sides is quoted while its profit is within ``noise`` of the best seen.
   Past the first rung that falls further the curve itself is lower than at
   the best, and no later rung can win.

The resolution needs the coarse ladder's best only when it is small: a
chord of the concave curve from the probe to any quoted size bounds the
profit at the coarse rungs between them from below, and once that bound is
high enough the finest resolution is proven without a coarse search.

A :class:`Hint` (where the same cycle's best rung was last time) only moves
where the search starts, never what it returns: step 3 holds from any rung
the climb ends on, so the answer is the same with any hint or none (the
property tests give random hints). Its size is scaled by how the gain at the
probe moved (near a peak of small margin ``m`` the best size is about
proportional to ``m``). When the previous search ended on the rung its own
hint named (a pool that moved little, or back and forth) the hint is trusted
and, while the gain at the probe moved by less than 1/64 of itself, the
climb starts at the rung nearest the guess: the guess and its two
neighbours, and the sweep, about four quotes with the probe. Otherwise the
search runs as above (a guess that is not trusted costs nothing) and the
hint it leaves is trusted if it ends on the guessed rung.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from lstarb_sdk import Quote

#: Quotes of each leg at a size (None: a leg refuses it).
Run = Callable[[int], Sequence[Quote] | None]

COARSE_BITS = 5  # 32 sizes per doubling: where the sharpness of a peak is measured
_GOLDEN = 0.3819660112501051  # 2 - phi: where golden-section probes go
_MAX_FITS = 8
_WIDE = 4  # first climbing step (rungs) when the fits did not settle
_SWEEP_LIMIT = 64  # rungs per side at most in step 3 (a safety valve: the band is ~2 rungs)
_REFUSED = object()
_STEADY = 64  # a trusted hint starts the climb while the gain at the probe moved < 1/64 of it


@dataclass(frozen=True, slots=True)
class Ladder:
    """Sizes of ``bits + 1`` significant binary digits at most, from 1 up to ``top`` (a rung)."""

    bits: int
    top: int
    last: int = field(init=False, compare=False)  # index of ``top``, the highest rung

    def __post_init__(self) -> None:
        if self.bits < 1 or self.top < 1:
            raise ValueError(f"a ladder needs bits >= 1 and top >= 1, not {self.bits}, {self.top}")
        below = self._floor(self.top)
        object.__setattr__(self, "last", below if self._value(below) == self.top else below + 1)

    def size(self, i: int) -> int:
        """The size at rung ``i`` (1 ... ``last``)."""
        if i >= self.last:
            return self.top
        bits = self.bits
        if i < 2 << bits:
            return i
        return ((1 << bits) | (i & ((1 << bits) - 1))) << ((i >> bits) - 1)  # as _value

    def index(self, size: int) -> int:
        """The highest rung at or below ``size`` (rung 1 for anything smaller)."""
        if size >= self.top:
            return self.last
        return self._floor(max(1, size))

    def nearest(self, size: float) -> int:
        """The rung closest to ``size``."""
        if size >= self.top:
            return self.last
        below = self.index(int(size))
        if below < self.last and self.size(below + 1) - size < size - self.size(below):
            return below + 1
        return below

    def sizes(self) -> list[int]:
        """Every rung, smallest first (for scans and tests; the search never lists them)."""
        return [self.size(i) for i in range(1, self.last + 1)]

    def _value(self, i: int) -> int:
        m = 1 << self.bits
        if i < 2 * m:
            return i
        return (m | (i & (m - 1))) << ((i >> self.bits) - 1)

    def _floor(self, size: int) -> int:
        if size < 2 << self.bits:
            return size
        shift = size.bit_length() - self.bits - 1
        return (shift << self.bits) + (size >> shift)


@functools.lru_cache(maxsize=256)
def ladder(bits: int, top: int) -> Ladder:
    """The ladder of ``bits`` up to ``top`` (shared: strategies ask for the same few)."""
    return Ladder(bits, top)


def noise(quotes: Sequence[Quote]) -> int:
    """A bound on how far rounding puts the cycle's exact output below its smooth curve.

    Each leg rounds its output down (less than a unit of the leg's output
    mint) and its input fee up (less than a unit of its input, worth the
    leg's rate in output); the legs after it carry that error at their own
    rates. Rates are read from quotes at the probe, a small size: for concave
    legs the rate only falls as the size grows, so the bound holds at every
    larger size too.
    """
    total, carry = 0.0, 1.0
    for q in reversed(quotes):
        rate = q.out_amount / q.in_amount if q.in_amount else 1.0
        total += (1.0 + rate) * carry
        carry *= rate
    return math.ceil(total)


def resolution(coarse_best: int, rounding: int, bits: int) -> int:
    """Significant bits of the sizes tried, from the best profit on the coarse ladder.

    Near a peak of height ``P`` the profit falls by about ``P * (d/x)**2`` at
    a relative distance ``d/x``; rungs ``2**-B`` apart stand out of the
    rounding once ``4**B`` is at most ``P / rounding``, so ``B`` is half the
    bit length of that ratio (rounded down), between the coarse ladder's bits
    and ``bits``.
    """
    ratio = coarse_best // rounding
    wanted = (ratio.bit_length() - 1) // 2 if ratio > 0 else 0
    return min(bits, max(min(COARSE_BITS, bits), wanted))


def sharp_enough(bits: int, rounding: int) -> int:
    """The least coarse-ladder profit for which :func:`resolution` gives all ``bits``."""
    return rounding * 4**bits


class Hint(NamedTuple):
    """Where a cycle's search ended: where the next one starts (it changes the cost only).

    A named tuple of integers: cheap to build once per sized cycle, and the collector stops
    tracking it (a strategy keeps one per cycle that gained).
    """

    size: int  # the best rung then
    gain: int  # the profit at the probe then
    bits: int  # the resolution then
    trusted: bool  # that search ended on the rung its own hint named: start there directly

    def guess(self, gain: int, top: int) -> float:
        """The best size now, from the gain at the probe now (see the module docstring)."""
        return min(float(top), max(1.0, self.size * gain / self.gain if self.gain > 0 else 1.0))


@dataclass(frozen=True, slots=True)
class Sized:
    """The best rung of a cycle: its size, exact profit, the quotes of every leg there."""

    size: int
    profit: int
    quotes: tuple[Quote, ...]
    probe: tuple[Quote, ...]  # the legs at the probe size: rates at the margin
    bits: int  # resolution of the ladder it was chosen from
    evaluations: int  # sizes quoted to find it
    hint: Hint  # where the next search of this cycle starts


class _Curve:
    """Exact profits of one cycle, each size quoted once."""

    __slots__ = ("profits", "quotes", "run")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.profits: dict[int, int | None] = {}
        self.quotes: dict[int, Sequence[Quote]] = {}

    def at(self, size: int) -> int | None:
        """Profit at ``size`` (None: a leg refuses)."""
        got = self.profits.get(size, _REFUSED)
        if got is not _REFUSED:
            return got  # type: ignore[return-value]
        quotes = self.run(size)
        if quotes is None:
            self.profits[size] = None
            return None
        self.quotes[size] = quotes
        profit = self.profits[size] = quotes[-1].out_amount - size
        return profit

    def beats(self, a: int, b: int) -> bool:
        """Size ``a`` beats size ``b``: more profit, or as much at a smaller size."""
        profits = self.profits
        pa = profits[a] if a in profits else self.at(a)
        pb = profits[b] if b in profits else self.at(b)
        if pa is None:
            return False
        if pb is None:
            return True
        return pa > pb or (pa == pb and a < b)


def best_rung(run: Run, top: int, bits: int, probe: int, hint: Hint | None = None) -> Sized | None:
    """The most profitable rung for a cycle, or None if it does not gain at ``probe``.

    ``run`` quotes the cycle's legs at a size; ``top`` is the largest size
    allowed, ``bits`` the finest resolution. ``probe`` is the margin check: a
    cycle whose output is concave in its input and does not gain there gains
    at no larger size, and one that refuses there is not sized. ``hint``
    (the previous answer's :attr:`Sized.hint`) only chooses where to start:
    the answer is a function of the pool states alone, whatever a scanner
    saw before.
    """
    curve = _Curve(run)
    probe = min(max(probe, 1), top)
    gain = curve.at(probe)
    if gain is None or gain <= 0:
        return None
    rounding = noise(curve.quotes[probe])
    coarse = ladder(min(COARSE_BITS, bits), top)
    sharp = sharp_enough(bits, rounding)
    start = 0  # the rung of the fine ladder the hint names (0: none)
    if hint is not None and hint.bits == bits:
        fine = ladder(bits, top)
        start = fine.nearest(hint.guess(gain, top))
        if (
            hint.trusted
            and abs(gain - hint.gain) * _STEADY <= hint.gain  # the margin barely moved
            and curve.at(fine.size(start)) is not None
            and _proves(curve, coarse, probe, sharp, rounding)
        ):
            return _sized(curve, fine, _argmax(curve, fine, start, 1, rounding), probe, gain, start)
    points = [probe, _second(curve, probe, top)]
    if _proves(curve, coarse, probe, sharp, rounding):
        fine = ladder(bits, top)
    else:
        k, step = _fit(curve, coarse, points)
        if _proves(curve, coarse, probe, sharp, rounding):
            fine = ladder(bits, top)
        else:  # a low peak: the coarse ladder's best rung chooses the resolution
            k = _argmax(curve, coarse, k, step, rounding)
            best = curve.at(coarse.size(k))
            assert best is not None
            fine = ladder(resolution(best, rounding, bits), top)
            points.append(coarse.size(k))
    k = _argmax(curve, fine, *_fit(curve, fine, points), rounding)
    return _sized(curve, fine, k, probe, gain, start if fine.bits == bits else 0)


def _sized(curve: _Curve, fine: Ladder, k: int, probe: int, gain: int, start: int) -> Sized:
    """The answer at rung ``k``, and the hint for next time (trusted if ``start`` was ``k``)."""
    size = fine.size(k)
    profit = curve.at(size)
    assert profit is not None
    return Sized(
        size,
        profit,
        tuple(curve.quotes[size]),
        tuple(curve.quotes[probe]),
        fine.bits,
        len(curve.profits),
        Hint(size, gain, fine.bits, start == k),
    )


def _second(curve: _Curve, probe: int, top: int) -> int:
    """A second point to fit through: 64 probes (less while a leg refuses)."""
    x = min(probe * 64, top)
    while curve.at(x) is None and x > probe:
        x = math.isqrt(probe * x)
    return x


def _proves(curve: _Curve, coarse: Ladder, probe: int, sharp: int, rounding: int) -> bool:
    """Whether a rung of the coarse ladder provably gains ``sharp`` or more.

    The curve is concave and the exact profit sits at most ``rounding``
    below it, so at a coarse rung between the probe and a quoted size the
    profit is at least the chord between them, less the rounding.
    """
    low = curve.profits[probe]
    assert low is not None
    for x, got in curve.profits.items():
        if got is None or got < sharp or x <= probe:
            continue
        rung = coarse.size(coarse.index(x))
        if rung > probe and low + (got - low) * (rung - probe) // (x - probe) - rounding >= sharp:
            return True
    return False


def _fit(curve: _Curve, ladder: Ladder, points: list[int]) -> tuple[int, int]:
    """A rung of ``ladder`` near the peak, from Moebius fits; and the first climbing step.

    Each fit goes through the newest point that quotes and the point farthest
    from it (points close together leave the fit to the rounding); the rung
    nearest its peak is quoted and becomes the newest point, until a fit names
    a rung already quoted (step 1: the fits settled) or the fits run out.
    """
    good = [x for x in points if curve.at(x) is not None]  # the probe always quotes
    for _ in range(_MAX_FITS):
        if len(good) < 2:
            break
        new = good[-1]
        far = max(good[:-1], key=lambda x: x / new if x > new else new / x)
        estimate = _peak(curve, far, new, ladder.top)
        if estimate is None:
            break
        k = ladder.nearest(estimate)
        x = ladder.size(k)
        if curve.at(x) is not None:
            if x in good:
                return k, 1
        else:  # a leg refuses: halfway (in ratio) back to a size that quotes
            below = [g for g in good if g < x]
            if not below:
                break
            x = ladder.size(ladder.nearest(math.sqrt(max(below) * x)))
            if x in good or curve.at(x) is None:
                break
        good.append(x)
        points.append(x)
    return _start(curve, ladder, good), _WIDE


def _start(curve: _Curve, ladder: Ladder, good: list[int]) -> int:
    """The rung to climb from when the fits did not settle: the one nearest the best point."""
    best = good[0]
    for x in good[1:]:
        if curve.beats(x, best):
            best = x
    return ladder.nearest(best)


def _peak(curve: _Curve, x1: int, x2: int, top: int) -> float | None:
    """Where ``a*x / (b + x) - x`` peaks for the Moebius map through two exact outputs."""
    p1, p2 = curve.at(x1), curve.at(x2)
    if p1 is None or p2 is None or x1 == x2:
        return None
    y1, y2 = p1 + x1, p2 + x2
    if y1 <= 0 or y2 <= 0:
        return None
    u1, u2 = x1 / y1, x2 / y2  # x / out = b/a + x/a: a line in x
    slope = (u2 - u1) / (x2 - x1)
    intercept = u1 - slope * x1
    if intercept <= 0:
        return None
    if slope <= 0:  # output grows at least linearly: as large as allowed
        return float(top)
    a, b = 1 / slope, intercept / slope
    if a <= b:  # no gain even at the margin
        return 1.0
    return min(float(top), math.sqrt(a * b) - b)


def _argmax(curve: _Curve, ladder: Ladder, k: int, step: int, rounding: int) -> int:
    """The best rung of ``ladder``: climb from ``k``, then sweep the rounding band."""
    return _sweep(curve, ladder, _climb(curve, ladder, k, step), rounding)


def _climb(curve: _Curve, ladder: Ladder, k: int, step: int) -> int:
    """From rung ``k`` uphill to a rung no neighbour beats.

    Neighbours ``step`` rungs away first (when the fits did not settle), then
    doubling steps and a golden-section search in the bracket found, ending
    with adjacent rungs.
    """
    size, last = ladder.size, ladder.last
    while True:
        left, right = max(k - step, 1), min(k + step, last)
        if left < k and curve.beats(size(left), size(k)):
            d = -1
        elif right > k and curve.beats(size(right), size(k)):
            d = 1
        elif step > 1:
            k, step = _golden(curve, ladder, left, right), 1
            continue
        else:
            return k
        behind, here = k, left if d < 0 else right
        while True:
            step *= 2
            ahead = min(max(here + d * step, 1), last)
            if ahead == here or not curve.beats(size(ahead), size(here)):
                break
            behind, here = here, ahead
        k, step = _golden(curve, ladder, min(behind, ahead), max(behind, ahead)), 1


def _golden(curve: _Curve, ladder: Ladder, lo: int, hi: int) -> int:
    """The best rung in ``lo..hi`` of a curve that rises then falls there."""
    size = ladder.size
    while hi - lo > 3:
        c = lo + int((hi - lo) * _GOLDEN)
        d = hi - int((hi - lo) * _GOLDEN)
        if c == d:
            d += 1
        if curve.beats(size(d), size(c)):
            lo = c
        else:
            hi = d
    best = lo
    for i in range(lo + 1, hi + 1):
        if curve.beats(size(i), size(best)):
            best = i
    return best


def _sweep(curve: _Curve, ladder: Ladder, k: int, rounding: int) -> int:
    """The best rung within the rounding band around ``k`` (see the module docstring, step 3)."""
    at, size, last = curve.at, ladder.size, ladder.last
    best = k
    value = at(size(k))
    assert value is not None
    for d in (-1, 1):
        i = k + d
        while 1 <= i <= last and abs(i - k) <= _SWEEP_LIMIT:
            v = at(size(i))
            if v is None or v < value - rounding:
                break
            if v > value or (v == value and i < best):
                best, value = i, v
            i += d
    return best
