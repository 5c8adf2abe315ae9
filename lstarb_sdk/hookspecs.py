"""The hook specifications of lstarb (pluggy project name ``lstarb``).

Plugins implement any subset of these with the :data:`lstarb_sdk.hookimpl`
marker, in a module or class named by an entry point in group ``lstarb``.
A hookimpl may declare fewer arguments than its spec; pluggy passes only
those it names.

Hooks only ever grow. A change that breaks an existing plugin bumps the
major number of :data:`lstarb_sdk.SDK_API_VERSION`.

Every hook here returns a value collected from all plugins (none is
``firstresult``) unless its docstring says otherwise. An exception raised
inside a hook is logged with the plugin's name and counted by the runtime;
it does not stop the run (except in ``lstarb_startup`` of a selected plugin,
which stops start-up with a message naming it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from lstarb_sdk.context import PluginContext
    from lstarb_sdk.datasource import DataSource
    from lstarb_sdk.funding import FundingProvider
    from lstarb_sdk.pool import PoolAdapter
    from lstarb_sdk.strategy import Strategy
    from lstarb_sdk.submitter import Submitter
    from lstarb_sdk.types import ExecutionResult, Opportunity

PROJECT_NAME = "lstarb"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    """Pool adapter classes this plugin provides.

    Called once when the scanner starts and by ``lstarb plugins``. Return
    classes, not instances: the runtime builds one adapter per pool with
    ``from_account``. Each class sets ``program_id`` and ``dex``.
    """
    raise NotImplementedError


@hookspec
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    """Data sources to start, built from ``context.config(<plugin>)``.

    Called once when the scanner starts. Return an empty list when the
    plugin's settings do not ask for a source.
    """
    raise NotImplementedError


@hookspec
def lstarb_strategies(context: PluginContext) -> list[Strategy]:
    """Strategies to run in the scanner. Called once when it starts."""
    raise NotImplementedError


@hookspec
def lstarb_funding_providers(context: PluginContext) -> list[FundingProvider]:
    """Flash-loan providers the executor may wrap trades in. Called once."""
    raise NotImplementedError


@hookspec
def lstarb_submitters(context: PluginContext) -> list[Submitter]:
    """Submitters the executor may send through. Called once when it starts.

    In paper mode (``context.paper``) the runtime never calls ``submit``;
    a submitter should still build without network access.
    """
    raise NotImplementedError


@hookspec
def lstarb_config_model() -> type[BaseModel] | None:
    """The pydantic model of this plugin's settings, or None.

    Its section in the TOML file is ``[plugins.<name>]`` and its environment
    variables are ``LSTARB_PLUGINS__<NAME>__<KEY>``. Subclass
    :class:`lstarb_sdk.PluginConfig` so unknown keys are rejected.
    Called once at start-up, before any other hook.
    """
    raise NotImplementedError


@hookspec
def lstarb_startup(context: PluginContext) -> None:
    """Called once after configuration is validated, before services start.

    Raise :class:`lstarb_sdk.errors.PluginError` to stop start-up with a
    message; any exception here stops start-up, naming the plugin.
    """


@hookspec
def lstarb_shutdown(context: PluginContext) -> None:
    """Called once when the run ends, even after an error. Keep it short."""


@hookspec
def lstarb_on_opportunity(opportunity: Opportunity) -> None:
    """Observer: called for each detected opportunity. Must not block."""


@hookspec
def lstarb_on_execution_result(result: ExecutionResult) -> None:
    """Observer: called for each recorded execution result. Must not block."""


@hookspec
def lstarb_register_commands(cli: Any) -> None:
    """Add commands to the ``lstarb`` CLI (``cli`` is a ``click.Group``).

    Called when the CLI starts; use ``@cli.command()`` to add a command.
    """
