"""``[simnet]``: the local RPC peer ``lstarb run`` starts in-process (the embedded default).

Kept apart from :mod:`lstarb_runtime.simnet` so reading the configuration does not import the
peer (LiteSVM, the market driver): only a run that starts it pays for that.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SimnetSettings(BaseModel):
    """When ``lstarb run`` starts its own local RPC peer, and the market it drives."""

    model_config = ConfigDict(extra="forbid")

    embedded: Literal["auto", "on", "off"] = Field(
        "auto",
        description="auto: start the peer when a paper run of every role (--role all) selects "
        "the rpc plugin and no [plugins.rpc] url or endpoints are set; on: always (it replaces "
        "any rpc url); off: never",
    )
    seed: int | None = Field(
        None,
        ge=0,
        description="seed of the market driver (the same seed, the same market); unset: each "
        "run draws a fresh one and prints it (--seed N repeats that market)",
    )
    slot_ms: int = Field(400, ge=1, le=10_000, description="slot length of the peer's chain")
    port: int = Field(
        0, ge=0, le=65534, description="HTTP JSON-RPC port (PubSub: port + 1); 0: a free pair"
    )
