"""Entry point of the shredstream plugin: the hooks lstarb calls.

Opt-in (``LSTARB_OPT_IN``): it needs a shredstream-proxy the user runs, so ``lstarb run``
without ``--plugins`` behaves as if it were not installed; ``--plugins rpc,shredstream,...``
selects it.
"""

from __future__ import annotations

from pydantic import BaseModel

from lstarb_sdk import DataSource, PluginContext, hookimpl
from lstarb_shredstream.config import ShredstreamConfig
from lstarb_shredstream.source import ShredstreamSource

LSTARB_SDK_API = "1.2"
LSTARB_OPT_IN = True


def _config(context: PluginContext) -> ShredstreamConfig:
    config = context.config("shredstream")
    return config if isinstance(config, ShredstreamConfig) else ShredstreamConfig()


@hookimpl
def lstarb_config_model() -> type[BaseModel]:
    return ShredstreamConfig


@hookimpl
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    return [ShredstreamSource(_config(context))]
