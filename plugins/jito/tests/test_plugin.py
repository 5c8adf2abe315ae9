"""The entry point and the settings model."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from lstarb_jito.config import DEFAULT_TIP_ACCOUNTS, JitoConfig
from lstarb_jito.submitter import JitoSubmitter
from lstarb_sdk import PluginContext, Submitter
from lstarb_sdk.version import api_compatible


def test_entry_point_and_hooks() -> None:
    (ep,) = [e for e in entry_points(group="lstarb") if e.name == "jito"]
    module = ep.load()
    assert module.LSTARB_SDK_API == "1.1" and api_compatible(module.LSTARB_SDK_API)
    assert module.lstarb_config_model() is JitoConfig
    config = JitoConfig.model_validate(
        {
            "endpoints": [{"name": "ny", "url": "https://ny.mainnet.block-engine.jito.wtf/"}],
            "mode": "fanout",
        }
    )
    (sub,) = module.lstarb_submitters(PluginContext(plugin_configs={"jito": config}))
    assert isinstance(sub, Submitter) and isinstance(sub, JitoSubmitter)
    assert sub.config.endpoints[0].url == "https://ny.mainnet.block-engine.jito.wtf"
    assert [str(k) for k in sub.tip_accounts()] == list(DEFAULT_TIP_ACCOUNTS)


def test_defaults_are_the_documented_block_engines() -> None:
    config = JitoConfig()
    assert config.endpoints[0].url == "https://mainnet.block-engine.jito.wtf"
    assert len(config.endpoints) == 9 and config.mode == "failover"
    assert config.min_tip_lamports == 1_000 and config.auth_uuid is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"endpoints": [{"name": "x", "url": "ftp://x"}]}, "must start with https://"),
        ({"endpoints": [{"name": "x", "url": "https://x/api?uuid=1"}]}, "must not carry a query"),
        (
            {"endpoints": [{"name": "x", "url": "https://a"}, {"name": "x", "url": "https://b"}]},
            "endpoint names must be unique",
        ),
        ({"endpoints": []}, "at least 1 item"),
        ({"min_tip_lamports": 999}, "greater than or equal to 1000"),
        ({"tip_accounts": ["nope"]}, "tip account 'nope' is not a base58"),
        ({"mode": "broadcast"}, "'failover' or 'fanout'"),
        ({"auth": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_name_the_problem(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JitoConfig.model_validate(data)


def test_auth_uuid_is_masked() -> None:
    config = JitoConfig.model_validate({"auth_uuid": "secret-uuid-1234"})
    assert "secret-uuid-1234" not in repr(config) and "secret-uuid-1234" not in str(
        config.model_dump()
    )
    assert (
        config.auth_uuid is not None and config.auth_uuid.get_secret_value() == "secret-uuid-1234"
    )
