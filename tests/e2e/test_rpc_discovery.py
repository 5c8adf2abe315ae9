"""Pool discovery through the rpc source, with every installed DEX adapter, on the local peer.

What the scanner does on a live source that knows no accounts: ask each adapter class for
its discovery filters over the mints of interest and search the program's accounts with
them. Checked against the peer's own accounts: the source finds exactly the pools of those
mints that the adapters decode.
"""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_rpc import RpcConfig, RpcSource
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_sdk import PoolAdapter
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.tokens import MINTS_OF_INTEREST


def _adapters() -> list[type[PoolAdapter]]:
    host = PluginHost()
    host.discover()
    host.select(["raydium", "meteora", "orca", "pumpswap", "lst"])
    return [cls for _, cls in host.collect("lstarb_dex_adapters", lambda item: None)]


def _pools_of_interest(cls: type[PoolAdapter], accounts: dict[Pubkey, Account]) -> set[Pubkey]:
    wanted = set(MINTS_OF_INTEREST)
    found = set()
    for key, account in accounts.items():
        try:
            if cls.matches(account) and set(cls.from_account(key, account).mints) <= wanted:
                found.add(key)
        except DecodeError:
            continue
    return found


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_discovery_finds_exactly_the_pools_of_the_mints_of_interest() -> None:
    adapters = _adapters()
    assert len({cls.dex for cls in adapters}) >= 6
    async with Simnet(SimnetConfig(port=0, slot_ms=0)) as net:
        on_chain = {e.pubkey: e.account() for e in net.store.entries()}
        source = RpcSource(RpcConfig(url=net.http_url))
        try:
            total = 0
            for cls in adapters:
                filters = cls.discovery_filters(MINTS_OF_INTEREST)
                if not filters:
                    continue
                found = await source.discover(cls.program_id, filters)
                assert all(a.owner == cls.program_id for a in found.values())
                assert all(any(f.matches(bytes(a.data)) for f in filters) for a in found.values())
                expected = _pools_of_interest(cls, on_chain)
                assert _pools_of_interest(cls, dict(found)) == expected, cls.__name__
                total += len(expected)
        finally:
            await source.close()
    assert total >= 8  # SOL/USDC and LST/SOL pools across the DEXes, and the stake pools
