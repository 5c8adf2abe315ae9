"""lstarb_sdk: the stable API that lstarb plugins import, and nothing else.

A plugin is a module (or object) with functions marked ``@hookimpl`` named
after the hooks in :mod:`lstarb_sdk.hookspecs`, exposed through an entry
point in group ``lstarb``, declaring ``LSTARB_SDK_API = "1.2"`` (or an older 1.x: minor
versions only add).
"""

from __future__ import annotations

import pluggy

from lstarb_sdk.context import PluginConfig, PluginContext
from lstarb_sdk.datasource import DataSource
from lstarb_sdk.errors import (
    ConfigError,
    DataSourceError,
    DecodeError,
    FundingError,
    LstarbError,
    PluginError,
    QuoteError,
    SubmissionError,
)
from lstarb_sdk.fees import PriorityFeeSource
from lstarb_sdk.funding import FundedInstructions, FundingProvider
from lstarb_sdk.pool import PoolAdapter
from lstarb_sdk.strategy import Strategy
from lstarb_sdk.submitter import Submitter
from lstarb_sdk.types import (
    AccountFilter,
    AccountUpdate,
    ComputeUnits,
    EndpointHealth,
    ExecutionResult,
    Leg,
    Opportunity,
    PendingTransaction,
    PoolSummary,
    Quote,
    SlotUpdate,
    SubmissionResult,
    SwapInstructions,
    SwapParams,
    max_in_with_slippage,
    min_out_with_slippage,
)
from lstarb_sdk.version import SDK_API_VERSION, __version__

ENTRY_POINT_GROUP = "lstarb"

hookimpl = pluggy.HookimplMarker("lstarb")
"""Marker for hook implementations: ``@hookimpl def lstarb_dex_adapters(): ...``"""

__all__ = [
    "ENTRY_POINT_GROUP",
    "SDK_API_VERSION",
    "AccountFilter",
    "AccountUpdate",
    "ComputeUnits",
    "ConfigError",
    "DataSource",
    "DataSourceError",
    "DecodeError",
    "EndpointHealth",
    "ExecutionResult",
    "FundedInstructions",
    "FundingError",
    "FundingProvider",
    "Leg",
    "LstarbError",
    "Opportunity",
    "PendingTransaction",
    "PluginConfig",
    "PluginContext",
    "PluginError",
    "PoolAdapter",
    "PoolSummary",
    "PriorityFeeSource",
    "Quote",
    "QuoteError",
    "SlotUpdate",
    "Strategy",
    "SubmissionError",
    "SubmissionResult",
    "Submitter",
    "SwapInstructions",
    "SwapParams",
    "__version__",
    "hookimpl",
    "max_in_with_slippage",
    "min_out_with_slippage",
]
