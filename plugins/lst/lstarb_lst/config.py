"""Settings of the lst plugin (``[plugins.lst]``)."""

from __future__ import annotations

from pydantic import Field, field_validator
from solders.pubkey import Pubkey

from lstarb_sdk import PluginConfig
from lstarb_sdk.solana import WSOL_MINT

WSOL = str(WSOL_MINT)


def _pubkey(value: str, what: str) -> str:
    try:
        Pubkey.from_string(value)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a base58 public key") from None
    return value


class LstConfig(PluginConfig):
    """Which cycles the strategies look for and which ones they report."""

    strategies: list[str] = Field(
        default_factory=lambda: ["two-hop", "triangular"],
        description="strategies to run: two-hop, triangular",
    )
    base_mints: list[str] = Field(
        default_factory=lambda: [WSOL], description="mints a cycle starts and ends in"
    )
    min_profit: dict[str, int] = Field(
        default_factory=dict,
        description="smallest profit reported, per base mint, in its smallest unit",
    )
    default_min_profit: int = Field(1, ge=1, description="min_profit for base mints not listed")
    max_size: dict[str, int] = Field(
        default_factory=dict, description="largest input searched, per base mint (smallest units)"
    )
    default_max_size: int = Field(
        1_000_000_000_000, ge=1, description="max_size for base mints not listed (1000 SOL)"
    )
    probe_size: dict[str, int] = Field(
        default_factory=dict,
        description="size at which a cycle's margin is checked first, per base mint",
    )
    default_probe_size: int = Field(10_000_000, ge=1, description="probe for unlisted base mints")
    size_bits: int = Field(
        9,
        ge=2,
        le=20,
        description="finest sizing resolution: 2**size_bits sizes per doubling are tried "
        "(9: 0.1-0.2 % apart) and the most profitable is chosen",
    )
    carry_over: bool = Field(
        True,
        description="keep across updates where each cycle's last search ended (the next one "
        "starts there) and its first leg's quotes; the sizes found are the same either way",
    )
    exclude_pools: list[str] = Field(default_factory=list, description="pools never used")
    exclude_mints: list[str] = Field(default_factory=list, description="mints never traded")

    @field_validator("strategies")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - {"two-hop", "triangular"})
        if unknown:
            raise ValueError(f"unknown strategies {unknown}: choose from two-hop, triangular")
        return value

    @field_validator("base_mints", "exclude_pools", "exclude_mints")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        return [_pubkey(v, "public key") for v in value]

    @field_validator("min_profit", "max_size", "probe_size")
    @classmethod
    def _mint_keys(cls, value: dict[str, int]) -> dict[str, int]:
        for k, v in value.items():
            _pubkey(k, "mint")
            if v < 1:
                raise ValueError(f"{k}: {v} must be at least 1")
        return value
