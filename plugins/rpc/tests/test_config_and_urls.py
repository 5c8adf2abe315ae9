"""Settings and URLs: the PubSub URL as web3.js and the Solana CLI derive it, names without
secrets, clear errors for bad settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lstarb_rpc import EndpointConfig, RpcConfig, RpcSource
from lstarb_rpc.urls import endpoint_name, ws_url_for


@pytest.mark.parametrize(
    ("http", "ws"),
    [
        ("http://127.0.0.1:8899", "ws://127.0.0.1:8900"),  # a validator: PubSub on port + 1
        ("http://localhost:8899/", "ws://localhost:8900/"),
        ("https://api.mainnet-beta.solana.com", "wss://api.mainnet-beta.solana.com"),
        ("https://rpc.example.com/abc?api-key=K", "wss://rpc.example.com/abc?api-key=K"),
        ("https://rpc.example.com:8443/v1", "wss://rpc.example.com:8444/v1"),
        ("http://[::1]:8899", "ws://[::1]:8900"),
        ("http://user:pw@host:80/x", "ws://user:pw@host:81/x"),
    ],
)
def test_ws_url_follows_the_web3js_and_cli_rule(http: str, ws: str) -> None:
    assert ws_url_for(http) == ws


def test_ws_url_errors_name_the_problem_not_the_secret() -> None:
    with pytest.raises(ValueError, match="no next port"):
        ws_url_for("http://host:65535")
    with pytest.raises(ValueError, match="expected a http or https URL"):
        ws_url_for("ftp://host/x?api-key=SECRET")
    try:
        ws_url_for("ftp://host/x?api-key=SECRET")
    except ValueError as exc:
        assert "SECRET" not in str(exc)


def test_endpoint_names_never_carry_credentials_paths_or_queries() -> None:
    assert endpoint_name("https://u:p@rpc.example.com/key123?api-key=K") == "rpc.example.com"
    assert endpoint_name("http://127.0.0.1:8899") == "127.0.0.1:8899"
    source = RpcSource(
        RpcConfig(
            url="https://a.example.com/?api-key=1",
            endpoints=[
                EndpointConfig(url="https://a.example.com/?api-key=2"),
                EndpointConfig(url="http://10.0.0.2:8899", ws_url="ws://10.0.0.2:9000", name="b"),
            ],
        )
    )
    assert list(source.counters()) == ["a.example.com", "a.example.com'", "b"]
    assert [e.ws_url for e in source.endpoints] == [
        "wss://a.example.com/?api-key=1",
        "wss://a.example.com/?api-key=2",
        "ws://10.0.0.2:9000",
    ]


def test_settings_defaults_and_validation() -> None:
    config = RpcConfig()
    assert (config.url, config.ws_url, config.commitment) == (
        "http://127.0.0.1:8899",
        None,
        "confirmed",
    )
    assert config.batch_size == 100 and config.zstd and not config.skip_preflight
    with pytest.raises(ValidationError, match="expected a ws or wss URL"):
        RpcConfig(ws_url="http://127.0.0.1:8900")
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        RpcConfig(batch_size=101)
    with pytest.raises(ValidationError, match="commitment"):
        RpcConfig(commitment="recent")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Extra inputs"):
        RpcConfig(uri="http://x")  # type: ignore[call-arg]
