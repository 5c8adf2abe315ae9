"""The entry point, the hooks and the settings model, as the runtime sees them."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from lstarb_kamino.config import KaminoConfig
from lstarb_kamino.constants import JITO_MARKET_SOL_RESERVE, MAIN_MARKET_SOL_RESERVE
from lstarb_kamino.provider import KaminoFunding
from lstarb_sdk import FundingProvider, PluginContext
from lstarb_sdk.version import api_compatible


def _module():  # type: ignore[no-untyped-def]
    (ep,) = [e for e in entry_points(group="lstarb") if e.name == "kamino"]
    return ep.load()


def test_entry_point_and_hooks() -> None:
    module = _module()
    assert module.LSTARB_SDK_API == "1.1" and api_compatible(module.LSTARB_SDK_API)
    assert module.lstarb_config_model() is KaminoConfig
    (provider,) = module.lstarb_funding_providers(PluginContext())
    assert isinstance(provider, FundingProvider) and provider.name == "kamino"
    assert set(provider.accounts_to_update()) >= {MAIN_MARKET_SOL_RESERVE, JITO_MARKET_SOL_RESERVE}


def test_settings_from_toml_shaped_data() -> None:
    mint = "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"
    config = KaminoConfig.model_validate(
        {
            "reserves": {
                mint: [
                    {
                        "reserve": "EVbyPKrHG6WBfm4dLxLMJpUDY43cCAcHSpV3KYjKsktW",
                        "market": "7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF",
                        "max_amount": 5_000_000_000,
                    }
                ]
            },
            "referrer": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
        }
    )
    (provider,) = _module().lstarb_funding_providers(
        PluginContext(plugin_configs={"kamino": config})
    )
    assert isinstance(provider, KaminoFunding)
    assert [str(k) for k in provider.accounts_to_update()] == [
        "EVbyPKrHG6WBfm4dLxLMJpUDY43cCAcHSpV3KYjKsktW",
        "7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF",
    ]
    assert str(provider.referrer) == "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"referrer": "not-a-key"}, "'not-a-key' is not a base58 public key"),
        ({"reserves": {"So11111111111111111111111111111111111111112": []}}, "lists no reserve"),
        ({"reserves": {"bad": [{"reserve": "x", "market": "y"}]}}, "'bad' is not a base58"),
        ({"max_state_age_s": 0}, "greater than 0"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_name_the_problem(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KaminoConfig.model_validate(data)
