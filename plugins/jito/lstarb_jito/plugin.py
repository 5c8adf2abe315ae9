"""Entry point of the jito plugin: the hooks lstarb calls."""

from __future__ import annotations

from pydantic import BaseModel

from lstarb_jito.config import JitoConfig
from lstarb_jito.submitter import JitoSubmitter
from lstarb_sdk import PluginContext, Submitter, hookimpl

LSTARB_SDK_API = "1.1"


@hookimpl
def lstarb_config_model() -> type[BaseModel]:
    return JitoConfig


@hookimpl
def lstarb_submitters(context: PluginContext) -> list[Submitter]:
    config = context.config("jito")
    if config is not None and not isinstance(config, JitoConfig):
        config = JitoConfig.model_validate(config.model_dump())
    return [JitoSubmitter(config, paper=context.paper)]
