"""Hooks of the example plugin.

It contributes a DEX adapter (:mod:`lstarb_example.pool`), counts the
opportunities it is shown and adds a ``lstarb example-hello`` command. Import
only ``lstarb_sdk`` (never ``lstarb_runtime``): the SDK is the part of lstarb
that keeps its promises across versions.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lstarb_example.pool import ExampleCpmmPool
from lstarb_sdk import Opportunity, PluginConfig, PoolAdapter, hookimpl

# The SDK API version this plugin was written for: lstarb refuses to load it
# on a runtime with another major version (1.1: update() may map an account to None).
LSTARB_SDK_API = "1.1"
# An example, not a market: lstarb uses it only when it is named (`--plugins example,...`),
# never by default. Delete this line in a plugin of your own that should run by default.
LSTARB_OPT_IN = True


class ExampleConfig(PluginConfig):
    """Settings read from ``[plugins.example]`` or ``LSTARB_PLUGINS__EXAMPLE__*``."""

    greeting: str = "hello from lstarb-plugin-example"
    min_profit_lamports: int = Field(0, ge=0)


seen: list[Opportunity] = []


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return [ExampleCpmmPool]


@hookimpl
def lstarb_config_model() -> type[PluginConfig]:
    return ExampleConfig


@hookimpl
def lstarb_on_opportunity(opportunity: Opportunity) -> None:
    seen.append(opportunity)


@hookimpl
def lstarb_register_commands(cli: Any) -> None:
    import click

    @cli.command("example-hello")
    def example_hello() -> None:
        """Say hello (added by lstarb-plugin-example)."""
        click.echo(ExampleConfig().greeting)
