"""``[planner]`` (how plans are made) and ``[risk]`` (what is refused): docs/planner.md.

Why two sections: ``[risk]`` is the list of limits an operator tightens or loosens (every
validation factor, the loss bound, the slippage a leg may lose); ``[planner]`` is how a plan
is priced and sent (fees, tips, funding, expiry). Every limit is in lamports, slots, ms or
basis points, never a float of SOL, so a plan's arithmetic stays in integers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from solders.pubkey import Pubkey

from lstarb_runtime.addresses import check_addresses
from lstarb_sdk.tokens import MINTS_OF_INTEREST


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskSettings(_Section):
    """The validation factors (each a limit; docs/planner.md "Validation")."""

    min_profit_lamports: int = Field(
        10_000, description="net profit after every cost (fees, tip, loan fee, rent) at least"
    )
    min_profit_bps: int = Field(
        0, ge=0, description="net profit at least this share of the trade's size"
    )
    max_loss_lamports: int = Field(
        50_000_000, gt=0, description="refuse a plan that may lose more (max_loss_lamports)"
    )
    max_trade_lamports: int = Field(10 * 10**9, gt=0, description="largest trade (its SOL value)")
    min_trade_lamports: int = Field(1_000, ge=1, description="smallest trade (its SOL value)")
    max_slippage_bps: int = Field(
        5,
        ge=0,
        le=10_000,
        description="the last leg's min_out is its quote less this share (the trade's result)",
    )
    intermediate_slippage_bps: int = Field(
        0,
        ge=0,
        le=10_000,
        description="every other leg's min_out (the next leg's input) is its quote less this "
        "share; 0: a leg paying less than its quote fails the whole transaction",
    )
    max_age_slots: int = Field(
        10, ge=0, description="refuse an opportunity this many slots older than the tape"
    )
    max_age_ms: int = Field(
        2_000, ge=0, description="refuse an opportunity detected longer ago than this"
    )
    max_pool_age_slots: int = Field(
        4_500,
        ge=0,
        description="every pool of the route must have an account this recent on the tape "
        "(the scanner re-tapes every pool every [scanner] retape_seconds)",
    )
    max_fair_value_deviation_bps: int = Field(
        300, ge=0, description="no leg priced further than this from the mints' fair values"
    )
    require_fair_value: bool = Field(
        False, description="refuse a leg whose mints have no fair value (instead of passing it)"
    )
    max_price_impact_bps: int = Field(
        100, ge=0, description="no leg whose price is this much worse than its marginal price"
    )
    max_reserve_share_bps: int = Field(
        2_000, ge=0, le=10_000, description="no leg taking more than this share of its output side"
    )
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="the strategy's confidence (metadata 'confidence') at least"
    )
    max_risk_score: float = Field(1.0, ge=0, le=1, description="refuse a higher risk score")
    risk_weights: dict[str, float] = Field(
        default_factory=lambda: {"impact": 0.3, "confidence": 0.3, "freshness": 0.2, "route": 0.2},
        description="weights of the four factors of the risk score (they must sum to 1)",
    )
    risk_route_legs: int = Field(
        4, ge=2, description="a route of this many legs scores the whole route factor"
    )

    @field_validator("risk_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        factors = {"impact", "confidence", "freshness", "route"}
        if value.keys() != factors:
            raise ValueError(
                f"weights of exactly {', '.join(sorted(factors))} are needed, got "
                f"{', '.join(sorted(value)) or 'none'}"
            )
        if any(w < 0 for w in value.values()) or abs(sum(value.values()) - 1) > 1e-9:
            raise ValueError("weights must be >= 0 and sum to 1")
        return value

    @model_validator(mode="after")
    def _trade_bounds(self) -> RiskSettings:
        if self.min_trade_lamports > self.max_trade_lamports:
            raise ValueError(
                f"min_trade_lamports {self.min_trade_lamports} is above max_trade_lamports "
                f"{self.max_trade_lamports}"
            )
        return self


class PlannerSettings(_Section):
    """How plans are priced, funded and sent (docs/planner.md "Settings")."""

    durable: str = Field(
        "planner",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the shared durable consumer of OPPORTUNITIES: planners with the same name "
        "split the work",
    )
    capital: dict[str, int] | None = Field(
        None,
        description="mint -> smallest units a wallet puts into one trade; beyond it a flash "
        "loan. Unset: paper runs use the executor's paper_balance_lamports of SOL, live runs "
        "none",
    )
    token_accounts: list[str] | None = Field(
        None,
        description="mints whose token accounts the wallets hold already (no rent, cheaper CU). "
        "Unset: paper wallets hold those of the SDK's mints of interest (a prepared trading "
        "wallet), live wallets none",
    )
    signatures: int = Field(1, ge=1, description="signatures per transaction (5,000 lamports each)")
    compute_unit_price: int = Field(
        10_000, ge=0, description="micro-lamports per compute unit when no recent-fee source"
    )
    priority_fee_source: Literal["config", "recent"] = Field(
        "recent",
        description="recent: getRecentPrioritizationFees through a loaded plugin that offers it "
        "(the rpc plugin), config otherwise",
    )
    recent_fee_percentile: int = Field(
        75, ge=0, le=100, description="price at this percentile of the recent slots' fees"
    )
    recent_fee_refresh_s: float = Field(
        2.0, gt=0, description="read the recent fees this often (in the background)"
    )
    recent_fee_max_age_s: float = Field(
        10.0,
        ge=0,
        description="when reads fail, the last recent price holds this long, then "
        "compute_unit_price",
    )
    priority_fee_accounts: list[str] = Field(
        default_factory=list,
        max_length=128,
        description="ask for the fees of transactions writing these accounts (a route's "
        "pools); empty: every transaction's",
    )
    compute_unit_price_max: int = Field(
        2_000_000, ge=0, description="cap on the compute-unit price a recent-fee source gives"
    )
    compute_unit_margin_bps: int = Field(
        1_000, ge=0, description="the compute-unit limit is the table's sum plus this share"
    )
    tip_share_bps: int = Field(
        1_000, ge=0, le=10_000, description="Jito tip: this share of the profit before the tip"
    )
    tip_min_lamports: int = Field(1_000, ge=1_000, description="Jito's minimum tip is 1,000")
    tip_max_lamports: int = Field(1_000_000, ge=1_000)
    landing_rate_bps: int = Field(
        5_000,
        ge=1,
        le=10_000,
        description="how often a sent trade lands (bundle or RPC): decides when a tip pays for "
        "itself",
    )
    expiry_slots: int = Field(8, ge=1, description="a plan may be sent up to this many slots on")
    expiry_ms: int = Field(2_000, ge=1, description="... and this many ms after it was made")
    tape_wait_ms: float = Field(
        50.0, ge=0, description="wait this long for the tape to reach an opportunity's state"
    )
    metrics_interval_s: float = Field(
        1.0, gt=0, description="publish the rejection counts on METRICS this often"
    )

    @field_validator("token_accounts", "priority_fee_accounts")
    @classmethod
    def _mints(cls, values: list[str] | None) -> list[str] | None:
        if values is not None:
            check_addresses(values)
        return values

    @field_validator("capital")
    @classmethod
    def _capital(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is not None:
            check_addresses(list(value))
            for mint, amount in value.items():
                if amount < 0:
                    raise ValueError(f"capital of {mint} is negative ({amount})")
        return value

    @model_validator(mode="after")
    def _tips(self) -> PlannerSettings:
        if self.tip_min_lamports > self.tip_max_lamports:
            raise ValueError(
                f"tip_min_lamports {self.tip_min_lamports} is above tip_max_lamports "
                f"{self.tip_max_lamports}"
            )
        return self


def held_token_mints(settings: PlannerSettings, paper: bool) -> frozenset[Pubkey]:
    """The mints whose token accounts the wallets hold before any trade (no rent for them).

    ``token_accounts`` when configured. Unset, a paper run's wallets are taken to be prepared
    trading wallets holding the accounts of :data:`~lstarb_sdk.tokens.MINTS_OF_INTEREST` (the
    executor's paper wallets start with them, so the planner's rent and the simulated
    balances agree); a live run assumes none, since it cannot know, and pays rent until told.
    """
    if settings.token_accounts is not None:
        return frozenset(Pubkey.from_string(m) for m in settings.token_accounts)
    return frozenset(MINTS_OF_INTEREST) if paper else frozenset()
