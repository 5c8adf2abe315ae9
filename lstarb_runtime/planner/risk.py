"""The risk score of a plan, 0 (none) to 1, from the seed's four factors.

``risk = w_impact x impact + w_confidence x (1 - confidence) + w_freshness x staleness +
w_route x length``, each factor in [0, 1]:

- impact: the route's total price impact over ``[risk] max_price_impact_bps`` (capped at 1);
- confidence: the strategy's ``metadata["confidence"]`` (0 when it gives none);
- staleness: the oldest route pool's age in slots over ``[risk] max_pool_age_slots``;
- length: ``(legs - 1) / (risk_route_legs - 1)``, capped at 1: every leg is one more pool
  whose state can move before the transaction lands.

The weights are ``[risk] risk_weights`` (the seed's 0.3 / 0.3 / 0.2 / 0.2 by default). A plan
scoring above ``[risk] max_risk_score`` is refused; the score travels in the plan
(``risk_score``) so the executor can rank plans competing for a wallet.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_runtime.planner.settings import RiskSettings


@dataclass(frozen=True, slots=True)
class RiskFactors:
    impact_bps: int
    confidence: float
    pool_age_slots: int
    legs: int


def _ratio(value: float, limit: float) -> float:
    if limit <= 0:
        return 1.0 if value > 0 else 0.0
    return min(1.0, max(0.0, value / limit))


def risk_score(f: RiskFactors, risk: RiskSettings) -> float:
    w = risk.risk_weights
    score = (
        w["impact"] * _ratio(f.impact_bps, risk.max_price_impact_bps)
        + w["confidence"] * (1.0 - min(1.0, max(0.0, f.confidence)))
        + w["freshness"] * _ratio(f.pool_age_slots, risk.max_pool_age_slots)
        + w["route"] * _ratio(f.legs - 1, risk.risk_route_legs - 1)
    )
    return round(min(1.0, max(0.0, score)), 6)


def confidence_of(metadata: dict[str, str]) -> float:
    """The strategy's confidence (``metadata["confidence"]``, 0..1); 0 when absent or bad."""
    text = metadata.get("confidence")
    if text is None:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0
