"""Settings of the shredstream plugin (``[plugins.shredstream]``)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from lstarb_sdk import PluginConfig

_TARGET = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$")


def check_target(value: str) -> str:
    """``host:port`` (or ``[ipv6]:port``), no scheme: what grpcio dials, and safe to show in
    logs and metrics (no user, password or path to hold a secret)."""
    if not _TARGET.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise ValueError(
            f"url must be host:port of the proxy's gRPC service (its --grpc-service-port), "
            f"like 127.0.0.1:9999, got {value!r}"
        )
    return value


class ShredstreamConfig(PluginConfig):
    """Where the proxy serves entries, how hard to retry it, and how much to remember."""

    url: str = Field(
        "127.0.0.1:9999",
        description="host:port of shredstream-proxy's gRPC service (--grpc-service-port)",
    )
    backoff_initial_s: float = Field(0.2, gt=0, description="first reconnect delay (jittered)")
    backoff_max_s: float = Field(10.0, gt=0, description="longest reconnect delay")
    connect_timeout_s: float = Field(
        5.0, gt=0, description="give up a connection attempt after this long (then back off)"
    )
    idle_timeout_s: float = Field(
        30.0,
        gt=0,
        description="reconnect when the proxy sends nothing this long (slots tick at 0.4 s)",
    )
    max_seen_signatures: int = Field(
        100_000, ge=1, description="signatures remembered to drop duplicates (oldest forgotten)"
    )
    lookup_table_transactions: bool = Field(
        False,
        description="also yield transactions that name an address lookup table (they may "
        "write followed accounts the source cannot see without the table's contents; on "
        "mainnet that is most routed swaps: turn on for an observer that resolves tables)",
    )
    max_message_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="largest proxy message accepted (gRPC limit)"
    )

    _url = field_validator("url")(check_target)
