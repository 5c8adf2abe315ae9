"""The hook specifications of lstarb (pluggy project name ``lstarb``), in the order a run
calls them.

Plugins implement any subset of these with the :data:`lstarb_sdk.hookimpl` marker, in a
module or class named by an entry point in group ``lstarb``. An implementation may declare
fewer arguments than its spec; pluggy passes only those it names. pluggy's hook options hold:
``@hookimpl(tryfirst=True)`` / ``trylast=True`` order a plugin's implementation among the
others, ``@hookimpl(wrapper=True)`` wraps them (and may change the result).

Every hook collects the return values of all plugins into a list (none is ``firstresult``);
implementations returning None are left out. An exception raised by an implementation is
logged with the plugin's name and counted by the runtime, and the run goes on without that
plugin's answer, except in ``lstarb_config_model`` and ``lstarb_startup``, where it stops
start-up with a message naming the plugin.

Hooks only ever grow. A change that breaks an existing plugin bumps the major number of
:data:`lstarb_sdk.SDK_API_VERSION`. A hook that no service calls yet says which service will.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel
    from solders.pubkey import Pubkey

    from lstarb_sdk.context import PluginContext
    from lstarb_sdk.datasource import DataSource
    from lstarb_sdk.funding import FundingProvider
    from lstarb_sdk.pool import PoolAdapter
    from lstarb_sdk.strategy import Strategy
    from lstarb_sdk.submitter import Submitter
    from lstarb_sdk.types import ExecutionResult, Opportunity, PendingTransaction

PROJECT_NAME = "lstarb"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------
# The command line
# -------------------------------------------------------------------------------------------


@hookspec
def lstarb_register_commands(cli: Any) -> None:
    """Add commands to the ``lstarb`` command line.

    Called by the CLI once when it starts, for every installed plugin that loaded (before
    any plugin selection: ``--plugins`` applies to runs, not to commands).

    :param cli: the ``lstarb`` ``click.Group``; add a command with ``@cli.command()``.
    :return: nothing.

    Since SDK API 1.0.
    """


# -------------------------------------------------------------------------------------------
# Start-up: settings, then the plugins' own start-up
# -------------------------------------------------------------------------------------------


@hookspec
def lstarb_config_model() -> type[BaseModel] | None:
    """The pydantic model of this plugin's settings.

    Called by ``lstarb run`` once at start-up, before any other hook of a run, for every
    selected plugin. The runtime validates the ``[plugins.<name>]`` section of the
    configuration (and ``LSTARB_PLUGINS__<NAME>__<KEY>`` variables) with it; an invalid value
    stops the run with exit code 2, naming the key. Components later read their validated
    settings as ``context.config("<name>")``. A raise here stops start-up.

    :return: a subclass of :class:`lstarb_sdk.PluginConfig` (unknown keys are errors), or None
        when the plugin has no settings.

    Since SDK API 1.0.
    """
    raise NotImplementedError


@hookspec
def lstarb_startup(context: PluginContext) -> None:
    """Prepare the plugin for a run: open what it needs, check what it was given.

    Called by ``lstarb run`` once per run, after every plugin's settings are validated and
    before any service starts.

    :param context: the run's paper/live mode, role and every plugin's settings.
    :return: nothing. Raise :class:`lstarb_sdk.errors.PluginError` to stop start-up with a
        message; any exception here stops start-up, naming the plugin.

    Since SDK API 1.0.
    """


# -------------------------------------------------------------------------------------------
# Components: what the services are built from
# -------------------------------------------------------------------------------------------


@hookspec
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    """The pool adapter classes this plugin provides.

    Called by the scanner once when it starts (and by any service that rebuilds the pool
    book from the market tape, and by ``lstarb plugins``).

    :return: :class:`lstarb_sdk.PoolAdapter` subclasses, not instances: the runtime builds one
        adapter per pool with ``from_account``. Each class sets ``program_id`` and ``dex``.
        Invalid items are dropped, logged and counted against the plugin.

    Since SDK API 1.0.
    """
    raise NotImplementedError


@hookspec
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    """Data sources to follow the market with, built from ``context.config(<plugin>)``.

    Called by the scanner once when it starts. When any selected plugin returns a source, the
    built-in ``replay`` source is not used.

    :param context: the run's mode and settings.
    :return: :class:`lstarb_sdk.DataSource` instances; an empty list when the plugin's
        settings do not ask for a source.

    Since SDK API 1.0.
    """
    raise NotImplementedError


@hookspec
def lstarb_strategies(context: PluginContext) -> list[Strategy]:
    """Strategies that turn pool updates into opportunities.

    Called by the scanner once when it starts. The scanner then calls each strategy's
    ``on_pool_update`` on every account update that changed a pool the strategy watches
    (``pools_wanted``), publishes what it returns on OPPORTUNITIES (message id = opportunity
    id, so two scanners publish an opportunity once) and hands each opportunity to
    :func:`lstarb_on_opportunity`. A strategy that raises is named, counted and skipped;
    the scanner goes on. Not called while the kill switch is thrown.

    :param context: the run's mode and settings.
    :return: :class:`lstarb_sdk.Strategy` instances, each with a ``name``.

    Since SDK API 1.0; called by the scanner since SDK API 1.1.
    """
    raise NotImplementedError


@hookspec
def lstarb_funding_providers(context: PluginContext) -> list[FundingProvider]:
    """Flash-loan providers the executor may wrap a trade in.

    Called by the executor once when it starts; a plan names its provider
    (``funding_provider``). The executor feeds each provider its ``accounts_to_update`` and
    calls ``wrap`` with the index the borrow lands at (``instruction_offset``).

    :param context: the run's mode and settings.
    :return: :class:`lstarb_sdk.FundingProvider` instances.

    Since SDK API 1.0.
    """
    raise NotImplementedError


@hookspec
def lstarb_submitters(context: PluginContext) -> list[Submitter]:
    """Submitters the executor may send transactions through.

    Called by the executor once when it starts; a plan names its submitter. In paper mode
    (``context.paper``) the runtime never calls ``submit`` (the landing simulator decides
    outcomes) but asks for tips; a submitter should still build without network access.
    ``lstarb run --live`` refuses to start while no selected plugin other than the built-in
    ``paper`` provides one.

    :param context: the run's mode and settings.
    :return: :class:`lstarb_sdk.Submitter` instances.

    Since SDK API 1.0.
    """
    raise NotImplementedError


# -------------------------------------------------------------------------------------------
# Observers: called while a run works; they must not block
# -------------------------------------------------------------------------------------------


@hookspec
def lstarb_on_pending_transaction(transaction: PendingTransaction, pools: list[Pubkey]) -> None:
    """Observe a transaction, not executed yet, that writes an account a followed pool reads.

    Called by the scanner for each :class:`lstarb_sdk.PendingTransaction` a data source
    yielded (the ``shredstream`` plugin's, as the leader produces the block) whose writable
    static keys include an account some pool in the book reads, in the scanner's event loop:
    return quickly. What it tells: those pools' states are about to change (a swap, a
    deposit); it has no result and may fail. The new states still arrive as account updates,
    and only those change the book, the tape and what strategies see. Accounts loaded
    through address lookup tables are not resolved, so a pool touched only through a table
    is not named.

    :param transaction: the pending transaction (signature, static keys, writable keys,
        programs, lookup tables, slot).
    :param pools: the followed pools (addresses) whose accounts it writes, never empty.
    :return: nothing.

    Since SDK API 1.2.
    """


@hookspec
def lstarb_on_opportunity(opportunity: Opportunity) -> None:
    """Observe a detected opportunity.

    Called by the scanner for each opportunity a strategy returned, right after it was
    published on OPPORTUNITIES, in the scanner's event loop: return quickly, hand slow work
    to a thread or queue of your own.

    :param opportunity: the :class:`lstarb_sdk.Opportunity` as the strategy returned it.
    :return: nothing.

    Since SDK API 1.0; called by the scanner since SDK API 1.1.
    """


@hookspec
def lstarb_on_execution_result(result: ExecutionResult) -> None:
    """Observe the recorded outcome of an execution plan.

    Called by the executor for each result, after it is stored on EXECUTED, in the
    executor's event loop: return quickly.

    :param result: the :class:`lstarb_sdk.ExecutionResult`.
    :return: nothing. Must not block.

    Since SDK API 1.0.
    """


# -------------------------------------------------------------------------------------------
# Shutdown
# -------------------------------------------------------------------------------------------


@hookspec
def lstarb_shutdown(context: PluginContext) -> None:
    """Release what :func:`lstarb_startup` opened.

    Called by ``lstarb run`` once when the run ends, whichever way (played out,
    ``--duration``, SIGINT or SIGTERM, or an error), after the services stopped and their
    publishes were confirmed, before the summary is printed. It runs off the event loop in
    a thread of its own; keep it short: a second signal quits without waiting for it.

    :param context: the same context :func:`lstarb_startup` got.
    :return: nothing.

    Since SDK API 1.0.
    """
