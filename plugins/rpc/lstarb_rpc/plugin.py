"""Entry point of the rpc plugin: the hooks lstarb calls."""

from __future__ import annotations

from pydantic import BaseModel

from lstarb_rpc.config import RpcConfig
from lstarb_rpc.source import RpcSource
from lstarb_rpc.submitter import RpcSubmitter
from lstarb_sdk import DataSource, PluginContext, Submitter, hookimpl

LSTARB_SDK_API = "1.2"


def _config(context: PluginContext) -> RpcConfig:
    config = context.config("rpc")
    return config if isinstance(config, RpcConfig) else RpcConfig()


@hookimpl
def lstarb_config_model() -> type[BaseModel]:
    return RpcConfig


@hookimpl
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    return [RpcSource(_config(context))]


@hookimpl
def lstarb_submitters(context: PluginContext) -> list[Submitter]:
    """Paper unless the run is live: a paper submitter never sends anything."""
    return [RpcSubmitter(_config(context), paper=context.paper)]
