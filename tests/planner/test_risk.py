"""The risk score factor by factor (issue 14 item 4): each of the four factors moves the score
the way docs/planner.md says, each weight is honoured, bounds hold; then the engine's plans
carry the score of their own factors.

The formula: ``w_impact x impact + w_confidence x (1 - confidence) + w_freshness x staleness +
w_route x length``, each factor in [0, 1] (lstarb_runtime/planner/risk.py).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from lstarb_runtime.planner.risk import RiskFactors, confidence_of, risk_score
from lstarb_runtime.planner.settings import RiskSettings

from .test_validation import TRIANGLE, TWO_HOP, Side, _later_market, by_route, planned

FACTORS = ("impact", "confidence", "freshness", "route")
LIMITS: dict[str, Any] = {
    "max_price_impact_bps": 100,
    "max_pool_age_slots": 1_000,
    "risk_route_legs": 5,
}
MIDDLE = RiskFactors(impact_bps=40, confidence=0.6, pool_age_slots=300, legs=3)


def settings(**weights: float) -> RiskSettings:
    chosen = dict.fromkeys(FACTORS, 0.0) | weights if weights else None
    return RiskSettings(**LIMITS, **({"risk_weights": chosen} if chosen else {}))


def with_factor(base: RiskFactors, name: str, value: float) -> RiskFactors:
    field = {
        "impact": "impact_bps",
        "confidence": "confidence",
        "freshness": "pool_age_slots",
        "route": "legs",
    }[name]
    values = {
        "impact_bps": base.impact_bps,
        "confidence": base.confidence,
        "pool_age_slots": base.pool_age_slots,
        "legs": base.legs,
    }
    values[field] = value  # type: ignore[assignment]
    return RiskFactors(**values)  # type: ignore[arg-type]


# the documented normalized value of each factor at the MIDDLE point and the limits above
NORMALIZED = {"impact": 40 / 100, "confidence": 1 - 0.6, "freshness": 300 / 1_000, "route": 2 / 4}

RISING = {  # values of each factor from least to most risky (the documented direction)
    "impact": [0, 10, 40, 99, 100],
    "confidence": [1.0, 0.9, 0.6, 0.1, 0.0],
    "freshness": [0, 1, 300, 999, 1_000],
    "route": [1, 2, 3, 4, 5],
}


@pytest.mark.parametrize("name", FACTORS)
def test_each_factor_moves_the_score_its_documented_way(name: str) -> None:
    risk = settings()
    scores = [risk_score(with_factor(MIDDLE, name, v), risk) for v in RISING[name]]
    assert all(a < b for a, b in itertools.pairwise(scores)), (name, scores)
    # from its best to its worst value the factor moves the score by exactly its weight
    assert scores[-1] - scores[0] == pytest.approx(risk.risk_weights[name], abs=1e-6)


@pytest.mark.parametrize("name", FACTORS)
def test_each_weight_is_honoured(name: str) -> None:
    """A weight of 1 on one factor makes the score that factor's value, whatever the others."""
    only = settings(**{name: 1.0})
    assert risk_score(MIDDLE, only) == pytest.approx(NORMALIZED[name], abs=1e-6)
    for other in FACTORS:
        if other != name:
            worst = with_factor(MIDDLE, other, RISING[other][-1])
            assert risk_score(worst, only) == risk_score(MIDDLE, only), other


def test_the_score_is_the_weighted_sum() -> None:
    weights = {"impact": 0.1, "confidence": 0.2, "freshness": 0.3, "route": 0.4}
    expected = sum(weights[n] * NORMALIZED[n] for n in FACTORS)
    assert risk_score(MIDDLE, settings(**weights)) == pytest.approx(expected, abs=1e-6)
    defaults = RiskSettings(**LIMITS)
    assert defaults.risk_weights == {
        "impact": 0.3,
        "confidence": 0.3,
        "freshness": 0.2,
        "route": 0.2,
    }
    expected = sum(defaults.risk_weights[n] * NORMALIZED[n] for n in FACTORS)
    assert risk_score(MIDDLE, defaults) == pytest.approx(expected, abs=1e-6)


def test_each_factor_is_capped_and_never_negative() -> None:
    risk = settings()
    best = RiskFactors(impact_bps=0, confidence=1.0, pool_age_slots=0, legs=1)
    worst = RiskFactors(impact_bps=100, confidence=0.0, pool_age_slots=1_000, legs=5)
    assert risk_score(best, risk) == 0.0
    assert risk_score(worst, risk) == 1.0
    beyond = RiskFactors(impact_bps=10_000, confidence=-3.0, pool_age_slots=10**9, legs=64)
    assert risk_score(beyond, risk) == 1.0
    below = RiskFactors(impact_bps=-50, confidence=7.0, pool_age_slots=-5, legs=0)
    assert risk_score(below, risk) == 0.0


def test_a_zero_limit_scores_any_amount_of_its_factor_in_full() -> None:
    """max_price_impact_bps = 0 / max_pool_age_slots = 0: none tolerated, so any is all."""
    risk = RiskSettings(
        max_price_impact_bps=0,
        max_pool_age_slots=0,
        risk_weights={"impact": 0.5, "confidence": 0.0, "freshness": 0.5, "route": 0.0},
    )
    assert risk_score(RiskFactors(0, 1.0, 0, 2), risk) == 0.0
    assert risk_score(RiskFactors(1, 1.0, 0, 2), risk) == 0.5
    assert risk_score(RiskFactors(1, 1.0, 1, 2), risk) == 1.0


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"confidence": "0.8125"}, 0.8125),
        ({"confidence": " 1 "}, 1.0),
        ({"confidence": "0"}, 0.0),
        ({}, 0.0),
        ({"confidence": "high"}, 0.0),
        ({"confidence": "1.5"}, 0.0),
        ({"confidence": "-0.1"}, 0.0),
        ({"confidence": "nan"}, 0.0),
        ({"confidence": "inf"}, 0.0),
    ],
)
def test_confidence_the_strategy_gives_or_none(metadata: dict[str, str], expected: float) -> None:
    assert confidence_of(metadata) == expected


# ---------------------------------------------------------------------------- through the engine


def one_hot(name: str) -> dict[str, Any]:
    return {"risk_weights": dict.fromkeys(FACTORS, 0.0) | {name: 1.0}}


def test_a_plans_confidence_factor_is_its_opportunitys() -> None:
    opp = by_route(*TWO_HOP)
    confidence = float(opp.metadata["confidence"])
    plan = planned(Side(opp, one_hot("confidence"))).plan
    assert plan.confidence == confidence
    assert plan.risk_score == pytest.approx(1 - confidence, abs=1e-6)
    lower = opp.model_copy(
        update={"metadata": {**opp.metadata, "confidence": f"{confidence / 2:.4f}"}}
    )
    assert planned(Side(lower, one_hot("confidence"))).plan.risk_score > plan.risk_score


def test_a_plans_route_factor_is_its_length() -> None:
    two = planned(Side(by_route(*TWO_HOP), one_hot("route"))).plan
    three = planned(Side(by_route(*TRIANGLE), one_hot("route"))).plan
    legs = RiskSettings().risk_route_legs
    assert two.risk_score == pytest.approx(1 / (legs - 1))
    assert three.risk_score == pytest.approx(2 / (legs - 1))


def test_a_plans_freshness_factor_is_its_oldest_pools_age() -> None:
    """The market moves on while the route's pools stay quiet: their age over the limit."""
    opp = by_route(*TWO_HOP)
    fresh = planned(Side(opp, one_hot("freshness"))).plan
    assert fresh.risk_score == 0.0  # the route's pools changed in the tape's last slot
    scores = []
    for slots in (10, 40):
        market = _later_market(slots)
        side = Side(opp, {**one_hot("freshness"), "max_pool_age_slots": 100}, market=market)
        scores.append(planned(side).plan.risk_score)
    assert scores == [pytest.approx(0.1), pytest.approx(0.4)]


def test_a_plans_impact_factor_is_its_routes_total_over_the_limit() -> None:
    """The route's total impact in bps (each leg's against its pool's marginal price) over
    ``max_price_impact_bps``: doubling the limit halves the factor."""
    opp = by_route(*TWO_HOP)

    def score(limit: int) -> float:
        impact = {**one_hot("impact"), "max_price_impact_bps": limit}
        return planned(Side(opp, impact)).plan.risk_score

    at_200, at_400 = score(200), score(400)
    assert 0 < at_200 < 1
    assert at_400 == pytest.approx(at_200 / 2, abs=2e-6)
    total_bps = at_200 * 200
    assert total_bps == pytest.approx(round(total_bps), abs=1e-3)  # whole bps, summed
