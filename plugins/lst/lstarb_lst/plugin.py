"""Entry point of the lst plugin: the hooks lstarb calls."""

from __future__ import annotations

from solders.account import Account

from lstarb_lst.marinade import MarinadePool
from lstarb_lst.stake_pool import SanctumSplMultiStakePool, SanctumSplStakePool, StakePoolAdapter
from lstarb_sdk import PoolAdapter, hookimpl
from lstarb_sdk.errors import DecodeError

LSTARB_SDK_API = "1.1"

ADAPTERS: tuple[type[PoolAdapter], ...] = (
    StakePoolAdapter,
    SanctumSplStakePool,
    SanctumSplMultiStakePool,
    MarinadePool,
)


def adapter_for(account: Account) -> type[PoolAdapter]:
    """The adapter class that decodes ``account`` as a pool (DecodeError if none does)."""
    for cls in ADAPTERS:
        if cls.matches(account):
            return cls
    raise DecodeError(f"no lst adapter decodes an account owned by {account.owner}")


@hookimpl
def lstarb_dex_adapters() -> list[type[PoolAdapter]]:
    return list(ADAPTERS)
