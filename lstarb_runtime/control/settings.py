"""``[control]`` (the local control API) and ``[breakers]`` (the automatic kill switch)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from lstarb_runtime.addresses import check_addresses


class ControlSettings(BaseModel):
    """The control API (docs/operations.md, "Control API"). No token, no API."""

    model_config = ConfigDict(extra="forbid")

    port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="serve the control API on 127.0.0.1:PORT (0: any free port); unset: off",
    )
    token_file: Path | None = Field(
        None,
        description="bearer tokens, one per line as NAME:TOKEN (or a bare TOKEN); the file "
        "must deny group/other",
    )
    token: SecretStr | None = Field(
        None,
        description="one bearer token (audited as 'env') when there is no token_file; set it "
        "with the LSTARB_CONTROL__TOKEN environment variable",
    )


class BreakerSettings(BaseModel):
    """Each breaker trips the kill switch with its reason; a breaker set to 0 is off."""

    model_config = ConfigDict(extra="forbid")

    paper: bool = Field(
        False,
        description="arm the breakers in a paper run too (a live run always arms them); a "
        "paper run without it logs what would have tripped",
    )
    consecutive_failures: int = Field(
        10, ge=0, description="trip after this many executions in a row failed or were dropped"
    )
    daily_loss_sol: float = Field(
        5.0,
        ge=0,
        description="trip when today's (UTC) realized loss of SOL-based trades exceeds this",
    )
    no_success_hours: float = Field(
        6.0,
        ge=0,
        description="trip when plans were sent but none landed for this many hours",
    )
    stale_seconds: float = Field(
        30.0,
        ge=0,
        description="trip when MARKET_DATA carried no account update for this many seconds "
        "(armed by the first update)",
    )
    max_slot_drift: int = Field(
        300,
        ge=0,
        description="trip when two data sources' newest slots differ by more than this",
    )
    drift_window_seconds: float = Field(
        30.0,
        gt=0,
        description="only sources that sent an update this recently are compared for drift",
    )
    wallet_floor_sol: float = Field(
        0.0,
        ge=0,
        description="trip when a wallet's balance is below this; 0: off",
    )
    wallets: list[str] = Field(
        default_factory=list,
        description="wallet addresses whose balance the floor watches (a live run adds every "
        "wallet its EXECUTED results name)",
    )
    wallet_check_seconds: float = Field(
        30.0, gt=0, description="how often wallet balances are read through the data sources"
    )
    check_interval_seconds: float = Field(
        1.0, gt=0, description="how often the time-based breakers (staleness, no success) look"
    )

    @field_validator("wallets")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        check_addresses(values)
        return values
