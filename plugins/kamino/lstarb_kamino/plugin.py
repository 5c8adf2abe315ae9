"""Entry point of the kamino plugin: the hooks lstarb calls."""

from __future__ import annotations

from pydantic import BaseModel

from lstarb_kamino.config import KaminoConfig
from lstarb_kamino.provider import KaminoFunding
from lstarb_sdk import FundingProvider, PluginContext, hookimpl

LSTARB_SDK_API = "1.1"


@hookimpl
def lstarb_config_model() -> type[BaseModel]:
    return KaminoConfig


@hookimpl
def lstarb_funding_providers(context: PluginContext) -> list[FundingProvider]:
    config = context.config("kamino")
    if config is not None and not isinstance(config, KaminoConfig):
        config = KaminoConfig.model_validate(config.model_dump())
    return [KaminoFunding(config)]
