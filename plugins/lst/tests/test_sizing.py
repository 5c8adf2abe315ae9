"""The sizing search against brute force: every rung of the ladder scanned, on synthetic chains.

The chains are constant-product legs written out here with the programs'
rounding (fee rounded up, output down), some with a liquidity limit or a
minimum input, so the reference can scan every rung in milliseconds. The
reference shares with the search only the definition of the sizes to try
(the rounding bound and the resolution rule); it scans, it does not search.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sizing_reference import ladder_sizes, reference_best

from lstarb_lst.sizing import (
    COARSE_BITS,
    Hint,
    Ladder,
    best_rung,
    resolution,
    sharp_enough,
)
from lstarb_sdk import Quote


def test_ladder_is_the_sizes_of_few_significant_digits() -> None:
    for bits, top in ((3, 1000), (5, 10**12), (9, 10**12), (9, 12_345_678_901), (4, 7)):
        ladder = Ladder(bits, top)
        rungs = [ladder.size(i) for i in range(1, ladder.last + 1)]
        assert rungs == ladder_sizes(bits, top)
        for i, size in enumerate(rungs, start=1):
            assert ladder.size(i) == size and ladder.index(size) == i
            assert ladder.nearest(size + 0.4) == i
        assert ladder.size(ladder.last) == top
    with pytest.raises(ValueError, match="bits >= 1"):
        Ladder(0, 10)


def test_resolution_grows_with_the_peak_and_stops_at_bits() -> None:
    for rounding in (1, 7, 29):
        sharp = sharp_enough(9, rounding)
        assert resolution(sharp, rounding, 9) == 9
        assert resolution(sharp - 1, rounding, 9) == 8
        assert resolution(0, rounding, 9) == COARSE_BITS
        assert resolution(10**30, rounding, 9) == 9


class Leg:
    """A constant-product pool in one direction, rounding as the programs do."""

    def __init__(self, reserve_in: int, reserve_out: int, fee_ppm: int, limit: int, least: int):
        self.reserve_in, self.reserve_out, self.fee_ppm = reserve_in, reserve_out, fee_ppm
        self.limit, self.least = limit, least  # most output it pays, least input it takes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({vars(self)})"

    def rate(self) -> float:
        return self.reserve_out / self.reserve_in

    def reprice(self, rate: float) -> None:
        self.reserve_out = max(1000, int(self.reserve_in * rate))

    def quote(self, amount: int) -> Quote | None:
        if amount < self.least:
            return None
        fee = -(-amount * self.fee_ppm // 1_000_000)
        net = amount - fee
        out = self.reserve_out * net // (self.reserve_in + net)
        if out > self.limit or out <= 0:
            return None
        return Quote(amount, out, fee)


class Bins(Leg):
    """Liquidity in price bins (a DLMM, roughly): each bin pays ``depth`` at its own price,
    each a step worse than the last; output rounded down, input per bin rounded up."""

    def __init__(self, price: float, step_ppm: int, depth: int, fee_ppm: int, bins: int):
        self.num, self.den = int(price * 10**9), 10**9
        self.step, self.depth, self.fee_ppm, self.bins = step_ppm, depth, fee_ppm, bins
        super().__init__(10**9, self.num, fee_ppm, 2**64, 0)

    def rate(self) -> float:
        return self.num / self.den

    def reprice(self, rate: float) -> None:
        self.num = max(1, int(rate * self.den))

    def quote(self, amount: int) -> Quote | None:
        fee = -(-amount * self.fee_ppm // 1_000_000)
        left, out, num = amount - fee, 0, self.num
        for _ in range(self.bins):
            take = min(self.depth, left * num // self.den)
            out += take
            if take < self.depth:  # this bin takes the rest (dust below a unit stays in it)
                break
            left -= -(-take * self.den // num)
            num = num * (1_000_000 - self.step) // 1_000_000
        else:
            if left > 0:
                return None  # beyond the last bin
        return Quote(amount, out, fee) if out > 0 else None


class Fixed(Leg):
    """A fixed rate with a fee and a cap (a stake pool, roughly): linear up to the cap."""

    def __init__(self, rate: float, fee_ppm: int, cap: int):
        self.num, self.den, self.cap = int(rate * 10**9), 10**9, cap
        super().__init__(10**9, self.num, fee_ppm, cap, 0)

    def rate(self) -> float:
        return self.num / self.den

    def reprice(self, rate: float) -> None:
        self.num = max(1, int(rate * self.den))

    def quote(self, amount: int) -> Quote | None:
        fee = -(-amount * self.fee_ppm // 1_000_000)
        out = (amount - fee) * self.num // self.den
        return Quote(amount, out, fee) if 0 < out <= self.cap else None


def bins(num: int, step: int, depth: int, fee_ppm: int) -> Bins:
    leg = Bins(1.0, step, depth, fee_ppm, 200)
    leg.num = num
    return leg


#: SOL -> a mint worth ~830 lamports a unit -> SOL: a unit of rounding in the middle is worth
#: hundreds of lamports, and it hides the best rung behind a rung no neighbour beats.
HIDDEN_BY_ROUNDING = [
    bins(1_198_112, 1391, 5990, 374),
    bins(868_374_462_526, 101, 18_281_447, 5441),
]


def chain(legs: Sequence[Leg]):  # type: ignore[no-untyped-def]
    def run(x: int) -> list[Quote] | None:
        quotes = []
        for leg in legs:
            q = leg.quote(x)
            if q is None:
                return None
            quotes.append(q)
            x = q.out_amount
        return quotes

    return run


@st.composite
def cycles(draw: st.DrawFn) -> list[Leg]:
    """Two or three legs (pools, bins, fixed rates) whose prices disagree by up to 5 %.

    Rates between mints span six orders of magnitude, so a unit of rounding in
    a middle mint can be worth a thousand units of the base: the curves then
    wobble by much more than a unit, which is what the band of step 3 is for.
    """
    n = draw(st.integers(2, 3))
    legs: list[Leg] = []
    for _ in range(n):
        kind = draw(st.sampled_from(["pool", "pool", "bins", "fixed"]))
        depth = draw(st.integers(10**8, 10**13))
        rate = 10 ** draw(st.floats(-3.0, 3.0))  # units of the next mint per unit: SOL/USDC is 0.15
        fee = draw(st.integers(0, 10_000))
        if kind == "bins":
            step = draw(st.integers(100, 5000))
            legs.append(Bins(rate, step, max(1, int(depth * rate) // 20), fee, 200))
        elif kind == "fixed":
            legs.append(Fixed(rate, fee, draw(st.sampled_from([2**64, int(depth * rate)]))))
        else:
            limit = draw(st.sampled_from([2**64, int(depth * rate) // 3]))
            least = draw(st.sampled_from([0, 0, 5000]))
            legs.append(Leg(depth, max(1000, int(depth * rate)), fee, limit, least))
    # close the loop near par: the last leg prices the way back at a shifted fair rate
    fair = 1.0
    for leg in legs[:-1]:
        fair *= leg.rate()
    legs[-1].reprice(draw(st.floats(0.95, 1.05)) / fair)
    return legs


@example(legs=HIDDEN_BY_ROUNDING, top=10**9, bits=6)
@settings(
    max_examples=int(os.environ.get("SIZING_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    legs=cycles(),
    top=st.sampled_from([10**9, 10**11, 10**12, 3 * 10**12 + 7]),
    bits=st.sampled_from([6, 9]),
)
def test_best_rung_equals_a_scan_of_every_rung(legs: list[Leg], top: int, bits: int) -> None:
    run = chain(legs)
    probe = 10**7
    got = best_rung(run, top, bits, probe)
    want = reference_best(run, top, bits, probe)
    assert (None if got is None else (got.size, got.profit)) == want
    if got is not None:  # the legs it hands back are the quotes at that size
        assert [(q.in_amount, q.out_amount) for q in got.quotes] == [
            (q.in_amount, q.out_amount) for q in run(got.size) or ()
        ]


def test_a_cycle_that_loses_or_refuses_at_the_probe_is_not_sized() -> None:
    losing = chain([Leg(10**12, 10**12, 3000, 2**64, 0), Leg(10**12, 10**12, 3000, 2**64, 0)])
    assert best_rung(losing, 10**12, 9, 10**7) is None
    gaining = [Leg(10**12, 11 * 10**11, 3000, 2**64, 0), Leg(10**12, 10**12, 3000, 2**64, 0)]
    assert best_rung(chain(gaining), 10**12, 9, 10**7) is not None
    picky = [Leg(10**12, 11 * 10**11, 3000, 2**64, 2 * 10**7), gaining[1]]
    assert best_rung(chain(picky), 10**12, 9, 10**7) is None  # refuses the probe


def test_a_big_gain_needs_a_handful_of_quotes() -> None:
    legs = [Leg(10**12, 103 * 10**10, 2500, 2**64, 0), Leg(10**12, 10**12, 2500, 2**64, 0)]
    got = best_rung(chain(legs), 10**12, 9, 10**7)
    assert got is not None and got.bits == 9
    assert got.evaluations <= 6, got


@st.composite
def hints(draw: st.DrawFn) -> Hint:
    """Any hint at all: a size anywhere, a gain of any sign, any resolution, trusted or not."""
    return Hint(
        size=draw(st.integers(1, 4 * 10**12)),
        gain=draw(st.integers(-(10**6), 10**9)),
        bits=draw(st.sampled_from([5, 6, 8, 9])),
        trusted=draw(st.booleans()),
    )


@example(legs=HIDDEN_BY_ROUNDING, top=10**9, bits=6, hint=Hint(10**8, 10**4, 6, True), shift=1.0)
@settings(
    max_examples=int(os.environ.get("SIZING_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    legs=cycles(),
    top=st.sampled_from([10**9, 10**11, 10**12, 3 * 10**12 + 7]),
    bits=st.sampled_from([6, 9]),
    hint=hints(),
    shift=st.floats(0.995, 1.005),
)
def test_a_hint_changes_the_cost_never_the_answer(
    legs: list[Leg], top: int, bits: int, hint: Hint, shift: float
) -> None:
    """With a random hint (trusted: the climb starts at any size), and with the hint its own
    previous answer leaves, again and after a pool moved, the search returns exactly the best
    rung a scan of every rung finds (the old answer)."""
    run = chain(legs)
    probe = 10**7
    want = reference_best(run, top, bits, probe)
    got = best_rung(run, top, bits, probe, hint)
    assert (None if got is None else (got.size, got.profit)) == want
    if got is None:
        return
    anywhere = Hint(hint.size, got.hint.gain, got.bits, True)  # trusted, the climb starts there
    from_there = best_rung(run, top, bits, probe, anywhere)
    assert from_there is not None and (from_there.size, from_there.profit) == want
    again = best_rung(run, top, bits, probe, got.hint)  # the same states: where it ended
    assert again is not None and (again.size, again.profit) == want
    assert [q.out_amount for q in again.quotes] == [q.out_amount for q in run(again.size) or ()]
    legs[-1].reprice(legs[-1].rate() * shift)  # the last pool moves a little
    moved = best_rung(run, top, bits, probe, again.hint)
    reference = reference_best(run, top, bits, probe)
    assert (None if moved is None else (moved.size, moved.profit)) == reference


def test_a_trusted_hint_at_the_answer_costs_a_few_quotes() -> None:
    """Back at a state seen before, the search quotes the probe, the rung and its neighbours."""
    legs = [Leg(10**12, 103 * 10**10, 2500, 2**64, 0), Leg(10**12, 10**12, 2500, 2**64, 0)]
    first = best_rung(chain(legs), 10**12, 9, 10**7)
    assert first is not None
    trusted = Hint(first.size, first.hint.gain, first.bits, True)
    again = best_rung(chain(legs), 10**12, 9, 10**7, trusted)
    assert again is not None and (again.size, again.profit) == (first.size, first.profit)
    assert again.evaluations <= 4 and again.hint.trusted
    far = best_rung(chain(legs), 10**12, 9, 10**7, Hint(first.size // 3, first.hint.gain, 9, True))
    assert far is not None and (far.size, far.profit) == (first.size, first.profit)
    assert not far.hint.trusted  # the climb moved: next time the fit goes first again
