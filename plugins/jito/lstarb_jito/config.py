"""Settings of the jito plugin (``[plugins.jito]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from solders.pubkey import Pubkey

from lstarb_sdk import PluginConfig
from lstarb_sdk.redact import mask_url

#: Jito's published tip accounts (getTipAccounts has returned these since launch); refreshed
#: from the block engine when live.
DEFAULT_TIP_ACCOUNTS = (
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
    "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
    "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
    "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
    "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
)

#: Jito's minimum tip for a bundle, in lamports.
JITO_MIN_TIP_LAMPORTS = 1_000


class Endpoint(BaseModel):
    """One block engine: a name for logs and its base URL (no path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                f"endpoint url must start with https:// or http://, got {mask_url(value)!r}"
            )
        if "?" in value:
            raise ValueError(
                "endpoint url must not carry a query (put the uuid in auth_uuid): "
                f"{mask_url(value)!r}"
            )
        return value.rstrip("/")


def _regional(name: str) -> Endpoint:
    return Endpoint(name=name, url=f"https://{name}.mainnet.block-engine.jito.wtf")


def _default_endpoints() -> list[Endpoint]:
    return [
        Endpoint(name="mainnet", url="https://mainnet.block-engine.jito.wtf"),
        *(
            _regional(r)
            for r in (
                "ny",
                "slc",
                "amsterdam",
                "frankfurt",
                "london",
                "dublin",
                "tokyo",
                "singapore",
            )
        ),
    ]


class JitoConfig(PluginConfig):
    """``[plugins.jito]``: block engines, how to use several, auth, retries, tips, polling.

    ``mode = "failover"`` sends to the first endpoint that answers (starting
    from the last one that did); ``"fanout"`` sends each bundle to every
    endpoint at once and takes the first acceptance (more leaders see it;
    Jito de-duplicates identical bundles). Status queries always fail over.
    ``auth_uuid`` is sent as the ``x-jito-auth`` header (only needed for
    raised rate limits); it is a secret and never logged.
    """

    endpoints: list[Endpoint] = Field(default_factory=_default_endpoints, min_length=1)
    mode: Literal["failover", "fanout"] = "failover"
    auth_uuid: SecretStr | None = None
    timeout_s: float = Field(default=2.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Rounds over the endpoints before giving up, with a jittered backoff between rounds."""
    backoff_base_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=3.0, gt=0)
    min_tip_lamports: int = Field(default=JITO_MIN_TIP_LAMPORTS, ge=JITO_MIN_TIP_LAMPORTS)
    tip_accounts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TIP_ACCOUNTS), min_length=1
    )
    tip_accounts_ttl_s: float = Field(default=600.0, gt=0)
    poll_interval_s: float = Field(default=0.5, gt=0)
    invalid_after_s: float = Field(default=3.0, ge=0)
    """How long "Invalid" must persist before confirm() believes it (fresh bundles show it too)."""
    single_transaction: Literal["bundle", "transaction"] = "bundle"
    """How submit() sends one transaction: sendBundle, or sendTransaction (see bundle_only)."""
    bundle_only: bool = True
    """sendTransaction with ``bundleOnly=true``: revert protection, a tip is then required."""

    @field_validator("tip_accounts")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                Pubkey.from_string(text)
            except ValueError as exc:
                raise ValueError(f"tip account {text!r} is not a base58 public key") from exc
        return value

    @field_validator("endpoints")
    @classmethod
    def _unique(cls, value: list[Endpoint]) -> list[Endpoint]:
        names = [e.name for e in value]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names must be unique, got {names}")
        return value
