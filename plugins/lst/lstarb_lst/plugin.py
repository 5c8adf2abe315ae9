"""Entry point of the lst plugin: the hooks lstarb calls."""

from __future__ import annotations

from pydantic import BaseModel
from solders.account import Account

from lstarb_lst.config import LstConfig
from lstarb_lst.cycle_strategy import CycleStrategy
from lstarb_lst.marinade import MarinadePool
from lstarb_lst.pricing import FairValueTracker
from lstarb_lst.stake_pool import SanctumSplMultiStakePool, SanctumSplStakePool, StakePoolAdapter
from lstarb_lst.triangular import TriangularStrategy
from lstarb_lst.two_hop import TwoHopStrategy
from lstarb_sdk import PluginContext, PoolAdapter, Strategy, hookimpl
from lstarb_sdk.errors import DecodeError

LSTARB_SDK_API = "1.1"

ADAPTERS: tuple[type[PoolAdapter], ...] = (
    StakePoolAdapter,
    SanctumSplStakePool,
    SanctumSplMultiStakePool,
    MarinadePool,
)
STRATEGIES: dict[str, type[CycleStrategy]] = {
    TwoHopStrategy.name: TwoHopStrategy,
    TriangularStrategy.name: TriangularStrategy,
}


def adapter_for(account: Account) -> type[PoolAdapter]:
    """The adapter class that decodes ``account`` as a pool (DecodeError if none does)."""
    for cls in ADAPTERS:
        if cls.matches(account):
            return cls
    raise DecodeError(f"no lst adapter decodes an account owned by {account.owner}")


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return list(ADAPTERS)


@hookimpl
def lstarb_config_model() -> type[BaseModel]:
    return LstConfig


@hookimpl
def lstarb_strategies(context: PluginContext) -> list[Strategy]:
    """The strategies named in ``[plugins.lst] strategies``, sharing one fair-value tracker."""
    config = context.config("lst")
    cfg = config if isinstance(config, LstConfig) else LstConfig()
    tracker = FairValueTracker()
    return [STRATEGIES[name](cfg, tracker) for name in cfg.strategies]
