"""The brute-force reference for sizing: every rung of the ladder quoted, the best one kept.

It shares with :mod:`lstarb_lst.sizing` only the definition of what is tried:
the rounding bound of the quotes at the probe (``noise``) and the rule that
turns the coarse ladder's best profit into a resolution (``resolution``).
The ladders are listed here from their definition, and every rung is quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lstarb_lst.sizing import COARSE_BITS, noise, resolution
from lstarb_sdk import Quote

Run = Callable[[int], Sequence[Quote] | None]


def ladder_sizes(bits: int, top: int) -> list[int]:
    """Every size up to ``top`` written as a 1 and ``bits`` more binary digits, then zeros."""
    sizes = set(range(1, min(top, 2 << bits) + 1))
    shift = 1
    while (1 << bits) << shift <= top:
        sizes.update(m << shift for m in range(1 << bits, 2 << bits) if m << shift <= top)
        shift += 1
    sizes.add(top)
    return sorted(sizes)


def profit(run: Run, size: int) -> int | None:
    quotes = run(size)
    return None if quotes is None else quotes[-1].out_amount - size


def scan(run: Run, sizes: list[int]) -> tuple[int, int] | None:
    """(size, profit) of the most profitable size, the smallest one on ties."""
    best: tuple[int, int] | None = None
    for size in sizes:
        p = profit(run, size)
        if p is not None and (best is None or p > best[1]):
            best = (size, p)
    return best


def reference_best(run: Run, top: int, bits: int, probe: int) -> tuple[int, int] | None:
    """What the sizing must choose, by scanning: None unless the cycle gains at the probe."""
    probe = min(probe, top)
    at_probe = run(probe)
    if at_probe is None or at_probe[-1].out_amount <= probe:
        return None
    rounding = noise(at_probe)
    coarse = scan(run, ladder_sizes(min(COARSE_BITS, bits), top))
    assert coarse is not None, "a cycle that gains at the probe quotes on the coarse ladder"
    return scan(run, ladder_sizes(resolution(coarse[1], rounding, bits), top))
