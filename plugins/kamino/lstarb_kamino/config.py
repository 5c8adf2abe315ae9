"""Settings of the kamino plugin (``[plugins.kamino]``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from solders.pubkey import Pubkey

from lstarb_kamino.constants import (
    JITO_MARKET,
    JITO_MARKET_SOL_RESERVE,
    KLEND_PROGRAM_ID,
    MAIN_MARKET,
    MAIN_MARKET_SOL_RESERVE,
)
from lstarb_sdk import PluginConfig
from lstarb_sdk.solana import WSOL_MINT


def _pubkey(value: str) -> str:
    try:
        Pubkey.from_string(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a base58 public key") from exc
    return value


PubkeyStr = Annotated[str, AfterValidator(_pubkey)]
"""A base58 public key kept as text (TOML and env friendly), checked on load."""


class ReserveSetting(BaseModel):
    """One klend reserve that may lend a mint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reserve: PubkeyStr
    market: PubkeyStr
    max_amount: int | None = Field(default=None, gt=0)
    """A cap of our own on one loan from this reserve (None: what the reserve has)."""


def _default_reserves() -> dict[str, list[ReserveSetting]]:
    return {
        str(WSOL_MINT): [
            ReserveSetting(reserve=str(MAIN_MARKET_SOL_RESERVE), market=str(MAIN_MARKET)),
            ReserveSetting(reserve=str(JITO_MARKET_SOL_RESERVE), market=str(JITO_MARKET)),
        ]
    }


class KaminoConfig(PluginConfig):
    """``[plugins.kamino]``: which reserves lend which mint, and the referrer.

    ``reserves`` maps a mint to the reserves that may lend it; a loan goes to
    the cheapest one that can give the whole amount (config order breaks
    ties). The default lends SOL (wSOL) from the Main and JITO markets.
    ``referrer`` (optional) gets the market's referral share of each fee; its
    referrer token state for the reserve must already exist on chain.
    ``max_state_age_s`` (optional) refuses loans from a reserve whose state
    the runtime has not delivered for that long.
    """

    program_id: PubkeyStr = str(KLEND_PROGRAM_ID)
    reserves: dict[PubkeyStr, list[ReserveSetting]] = Field(default_factory=_default_reserves)
    referrer: PubkeyStr | None = None
    max_state_age_s: float | None = Field(default=None, gt=0)

    @field_validator("reserves")
    @classmethod
    def _check_mints(
        cls, value: dict[str, list[ReserveSetting]]
    ) -> dict[str, list[ReserveSetting]]:
        for mint, reserves in value.items():
            if not reserves:
                raise ValueError(f"mint {mint} lists no reserve")
        return value
