"""Settings of the rpc plugin (``[plugins.rpc]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from lstarb_rpc.urls import check_http_url, check_ws_url
from lstarb_sdk import PluginConfig

Commitment = Literal["processed", "confirmed", "finalized"]


class EndpointConfig(PluginConfig):
    """One more RPC node to follow besides ``url`` (``[[plugins.rpc.endpoints]]``)."""

    url: str = Field(description="HTTP JSON-RPC URL")
    ws_url: str | None = Field(None, description="PubSub URL (default: derived from url)")
    name: str | None = Field(
        None, description="name in logs and counters (default: host:port of url, no secrets)"
    )

    _url = field_validator("url")(check_http_url)
    _ws = field_validator("ws_url")(check_ws_url)


class RpcConfig(PluginConfig):
    """Where the chain is read (and, live, where transactions go) and how hard to try."""

    url: str = Field("http://127.0.0.1:8899", description="HTTP JSON-RPC URL")
    ws_url: str | None = Field(
        None, description="PubSub URL (default: ws(s) of url, port + 1 when url names one)"
    )
    name: str | None = Field(None, description="name of the main endpoint in logs and counters")
    endpoints: list[EndpointConfig] = Field(
        default_factory=list, description="more endpoints; the freshest update wins"
    )
    commitment: Commitment = Field("confirmed", description="commitment of reads and subscriptions")
    zstd: bool = Field(True, description="ask for base64+zstd account data in snapshots")
    batch_size: int = Field(100, ge=1, le=100, description="keys per getMultipleAccounts call")
    parallel_requests: int = Field(8, ge=1, le=64, description="HTTP requests in flight at once")
    follow_programs: bool = Field(
        False,
        description="after discover(), also programSubscribe with the same filters (new pools)",
    )
    request_timeout_s: float = Field(10.0, gt=0, description="HTTP request timeout")
    connect_timeout_s: float = Field(10.0, gt=0, description="websocket handshake timeout")
    reply_timeout_s: float = Field(10.0, gt=0, description="wait for subscription replies")
    idle_timeout_s: float = Field(
        10.0,
        gt=0,
        description="reconnect when the websocket says nothing this long (slots tick at 0.4 s)",
    )
    backoff_initial_s: float = Field(0.2, gt=0, description="first reconnect delay (jittered)")
    backoff_max_s: float = Field(15.0, gt=0, description="longest reconnect delay")
    lag_slots: int = Field(
        8, ge=1, description="an endpoint this many slots behind the freshest is named lagging"
    )
    # -- submitter
    skip_preflight: bool = Field(False, description="sendTransaction without simulation")
    preflight_commitment: Commitment = Field("confirmed", description="commitment of preflight")
    max_retries: int | None = Field(
        None, ge=0, description="node rebroadcasts (None: the node's policy until expiry)"
    )
    confirm_commitment: Commitment = Field("confirmed", description="what counts as landed")
    status_poll_s: float = Field(
        2.0, gt=0, description="getSignatureStatuses poll period while confirming (fallback)"
    )
    blockhash_refresh_s: float = Field(
        5.0, gt=0, description="fetch a new blockhash this often (it lives ~60 s)"
    )
    blockhash_max_age_s: float = Field(
        45.0, gt=0, description="refuse to hand out a blockhash older than this"
    )

    _url = field_validator("url")(check_http_url)
    _ws = field_validator("ws_url")(check_ws_url)
