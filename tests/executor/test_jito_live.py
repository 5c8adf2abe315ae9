"""A live executor sends bundles to a block engine: the local peer of the jito plugin's tests
(a real HTTP server speaking Jito's documented JSON-RPC, verifying every signature and the
tip), with simnet as the cluster for blockhashes and balances."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from lstarb_jito.config import Endpoint, JitoConfig
from lstarb_rpc.config import RpcConfig
from lstarb_runtime.bus import MemoryBus
from lstarb_runtime.services.executor import Executor
from lstarb_runtime.simnet import Simnet, SimnetConfig

from .executor_testlib import (
    STAKE_ROUND_TRIP,
    executor_env,
    executor_host,
    make_plan,
    market_accounts,
    market_book,
    publish_market,
    results_of,
    settings,
)

ROOT = Path(__file__).resolve().parents[2]


def _block_engine() -> ModuleType:
    """The jito plugin's local block engine (test code of that plugin, loaded by path)."""
    path = ROOT / "plugins" / "jito" / "tests" / "block_engine.py"
    spec = importlib.util.spec_from_file_location("jito_block_engine", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine() -> Iterator[Any]:
    with _block_engine().BlockEngine() as peer:
        yield peer


@pytest.fixture
async def net() -> AsyncIterator[Simnet]:
    async with Simnet(SimnetConfig(port=0, slot_ms=100)) as peer:
        yield peer


async def _live_executor(engine: Any, net: Simnet, tmp_path: Path) -> tuple[Executor, MemoryBus]:
    wallet = Keypair()
    keypair = tmp_path / "wallet.json"
    keypair.write_text(json.dumps(list(bytes(wallet))))
    keypair.chmod(0o600)
    async with httpx.AsyncClient() as http:
        await http.post(
            net.http_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "requestAirdrop",
                "params": [str(wallet.pubkey()), 10 * 10**9],
            },
        )
    bus = MemoryBus()
    await bus.ensure_streams()
    await publish_market(bus, market_accounts())
    configs = {
        "jito": JitoConfig(
            endpoints=[Endpoint(name="local", url=engine.url)],
            poll_interval_s=0.05,
            invalid_after_s=0.5,
        ),
        "rpc": RpcConfig(url=net.http_url, ws_url=net.ws_url),
    }
    env = executor_env(
        bus,
        executor_host(None, rpc=True),
        paper=False,
        config=settings(keypair=keypair, confirm_timeout_s=20),
        plugin_configs=configs,  # type: ignore[arg-type]
    )
    executor = Executor(env)
    await executor.start()
    return executor, bus


async def _bundle_of(engine: Any, timeout: float = 20) -> str:
    for _ in range(int(timeout / 0.05)):
        if engine.bundles:
            return str(next(iter(engine.bundles)))
        await asyncio.sleep(0.05)
    raise AssertionError("no bundle reached the block engine")


async def test_a_bundle_reaches_the_block_engine_and_lands(
    engine: Any, net: Simnet, tmp_path: Path
) -> None:
    executor, bus = await _live_executor(engine, net, tmp_path)
    plan = make_plan(market_book(), STAKE_ROUND_TRIP, funding="", plan_id="live-1")
    await bus.publish(plan)
    bundle_id = await _bundle_of(engine)
    engine.land(bundle_id, 280_999_030)
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "landed", result.error
    assert not result.paper and result.bundle_id == bundle_id and result.slot == 280_999_030
    assert result.tip_lamports == plan.tip_lamports
    (call,) = engine.calls("sendBundle")
    assert engine.bundles[bundle_id].signatures == [result.signature]
    (encoded,) = call.body["params"][0]
    sent = VersionedTransaction.from_bytes(base64.b64decode(encoded))
    assert sent.message.recent_blockhash != Hash.default()  # the cluster's, from the cache


async def test_a_bundle_the_engine_fails_costs_nothing(
    engine: Any, net: Simnet, tmp_path: Path
) -> None:
    executor, bus = await _live_executor(engine, net, tmp_path)
    await bus.publish(make_plan(market_book(), STAKE_ROUND_TRIP, funding="", plan_id="live-2"))
    engine.fail(await _bundle_of(engine))
    (result,) = await results_of(bus, 1)
    await executor.stop()
    assert result.status == "failed"
    assert (result.fee_lamports, result.tip_lamports, result.realized_profit) == (0, 0, 0)
