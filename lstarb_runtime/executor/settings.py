"""``[executor]``: wallets, the landing simulator, lookup tables, how long to follow a trade."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lstarb_runtime.addresses import check_addresses


class ExecutorSettings(BaseModel):
    """The executor's settings (docs/executor.md, "Settings")."""

    model_config = ConfigDict(extra="forbid")

    keypairs: list[Path] = Field(
        default_factory=list,
        description="more wallets besides run.keypair (live); each file must deny group/other",
    )
    name: str = Field(
        "",
        description="this executor's name in the exactly-once store (default: the host name); "
        "a restarted executor of the same name follows what it had in flight",
    )
    paper_wallets: int = Field(2, ge=1, le=64, description="throw-away wallets of a paper run")
    paper_balance_lamports: int = Field(
        100 * 10**9, ge=0, description="SOL each paper wallet starts with"
    )
    landing_delay_slots: int = Field(
        1, ge=0, description="paper: the trade lands this many slots after it would be sent"
    )
    slot_ms: float = Field(400.0, gt=0, description="slot length the simulator waits by")
    landing_timeout_s: float = Field(
        2.0,
        gt=0,
        description="paper: longest wait for the landing slot's states on the tape; then the "
        "newest states decide",
    )
    confirm_timeout_s: float = Field(
        90.0, gt=0, description="live: how long to follow a sent trade (a blockhash lives ~60 s)"
    )
    lookup_tables: list[str] = Field(
        default_factory=list,
        description="address lookup tables used for every transaction (base58)",
    )
    balance_refresh_s: float = Field(
        30.0, gt=0, description="live: re-read wallet balances and funding state this often"
    )

    @field_validator("lookup_tables")
    @classmethod
    def _keys(cls, values: list[str]) -> list[str]:
        check_addresses(values)
        return values
