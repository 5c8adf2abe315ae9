"""The template plugin is found through its entry point and its hooks work."""

from __future__ import annotations

import importlib_metadata
import pytest
from pydantic import ValidationError
from solders.pubkey import Pubkey

from lstarb_example import plugin
from lstarb_sdk import Leg, Opportunity


def test_entry_point_is_installed() -> None:
    eps = {ep.name: ep for ep in importlib_metadata.entry_points(group="lstarb")}
    assert eps["example"].value == "lstarb_example.plugin"
    assert eps["example"].load() is plugin


def test_config_model_rejects_unknown_and_negative() -> None:
    model = plugin.lstarb_config_model()
    assert model.model_validate({"greeting": "hi"}).greeting == "hi"
    with pytest.raises(ValidationError):
        model.model_validate({"greting": "typo"})
    with pytest.raises(ValidationError):
        model.model_validate({"min_profit_lamports": -1})


def test_observer_records_opportunities() -> None:
    mint = Pubkey.new_unique()
    leg = Leg(Pubkey.new_unique(), "test", mint, Pubkey.new_unique(), 100, 101)
    opp = Opportunity("o1", "test", mint, (leg,), 1, slot=5, detected_ns=0)
    plugin.seen.clear()
    plugin.lstarb_on_opportunity(opp)
    assert plugin.seen == [opp]


def test_the_plugin_contributes_its_adapter_for_sdk_api_1_1() -> None:
    from lstarb_example.pool import ExampleCpmmPool

    assert plugin.LSTARB_SDK_API == "1.1"
    assert plugin.lstarb_dex_adapters() == [ExampleCpmmPool]
