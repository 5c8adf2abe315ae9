"""Crash between send and record: the executor is killed the moment its transaction reached the
cluster; a restarted executor finds it in flight, follows its signature and records the
outcome, and nothing is sent a second time.

Real parts: a nats-server, ``lstarb run --role executor --live`` in subprocesses, the simnet
peer as the cluster (LiteSVM) behind an HTTP proxy that forwards every request and, on the
first sendTransaction, kills the executor (SIGKILL) after the cluster took the transaction and
before the executor hears back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.executor.store import PlanStore
from lstarb_runtime.simnet import Simnet, SimnetConfig
from lstarb_sdk.events import ExecutionResultEvent

from ..bus.conftest import fresh_jetstream_bus
from .executor_testlib import (
    STAKE_ROUND_TRIP,
    make_plan,
    market_accounts,
    market_book,
    publish_market,
    results_of,
)

LSTARB = str(Path(sys.executable).with_name("lstarb"))


class KillingProxy:
    """Forwards JSON-RPC to ``target``; kills ``victim`` after forwarding its first send."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.victim: subprocess.Popen[bytes] | None = None
        self.sends: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = urllib.request.Request(
                    proxy.target, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as reply:
                    answer = reply.read()
                if b'"sendTransaction"' in body:
                    proxy.sends.append(json.loads(answer).get("result", ""))
                    if proxy.victim is not None and len(proxy.sends) == 1:
                        os.kill(proxy.victim.pid, signal.SIGKILL)
                        proxy.victim.wait()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as server:
        yield server


def _config(tmp: Path, nats_url: str, rpc_url: str, ws_url: str) -> Path:
    path = tmp / "lstarb.toml"
    path.write_text(
        f"""
[nats]
url = "{nats_url}"
embedded = false

[run]
plugins = ["orca", "lst", "rpc"]

[executor]
name = "crash-test"
confirm_timeout_s = 60

[plugins.rpc]
url = "{rpc_url}"
ws_url = "{ws_url}"
skip_preflight = true
status_poll_s = 0.2
"""
    )
    return path


def _start(
    config: Path, keypair: Path, log: Path, genesis: str, summary: Path | None = None
) -> subprocess.Popen[bytes]:
    extra = ["--summary-json", str(summary)] if summary else []
    extra += ["--confirm-network", genesis]  # the peer is a private chain: named by its hash
    return subprocess.Popen(
        [
            LSTARB,
            "run",
            "--role",
            "executor",
            "--live",
            "--keypair",
            str(keypair),
            "--config",
            str(config),
            *extra,
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")},
    )


@pytest.mark.slow
async def test_a_restarted_executor_follows_what_it_sent_and_never_sends_again(
    nats: EmbeddedNats, tmp_path: Path
) -> None:
    wallet = Keypair()
    keypair = tmp_path / "wallet.json"
    keypair.write_text(json.dumps(list(bytes(wallet))))
    keypair.chmod(0o600)
    log = tmp_path / "executor.log"
    async with Simnet(SimnetConfig(port=0, slot_ms=100)) as net:
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
        proxy = KillingProxy(net.http_url)
        bus: JetStreamBus = await fresh_jetstream_bus(nats.url)
        try:
            await publish_market(bus, market_accounts())
            plan = make_plan(
                market_book(),
                STAKE_ROUND_TRIP,
                plan_id="crash-1",
                funding="",
                submitter="rpc",
                tip=0,
                expiry_s=300,
            )
            await bus.publish(plan)
            config = _config(tmp_path, nats.url, proxy.url, net.ws_url)
            first = _start(config, keypair, log, net.chain.genesis_hash)
            proxy.victim = first
            deadline = time.monotonic() + 90
            while first.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert first.returncode == -signal.SIGKILL, log.read_text()
            assert len(proxy.sends) == 1
            record = await PlanStore(bus, "test").get(plan.id)
            assert record is not None and record.state == "signed"
            assert record.signature == proxy.sends[0] and record.sent_ns == 0
            assert await bus.kv("inflight").keys(), "the signed plan is listed in flight"

            summary = tmp_path / "second.json"
            second = _start(config, keypair, log, net.chain.genesis_hash, summary)
            try:
                (result,) = await results_of(bus, 1, timeout=60)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=30)
            assert isinstance(result, ExecutionResultEvent)
            assert result.signature == proxy.sends[0]
            # the stake-pool program is not on the cluster: the transaction landed as failed
            # and paid its fee, which the restarted executor read back from the chain
            assert result.status == "failed", (result, log.read_text()[-3000:])
            assert result.fee_lamports == plan.base_fee_lamports + plan.priority_fee_lamports
            assert len(proxy.sends) == 1, "nothing was sent twice"
            record = await PlanStore(bus, "test").get(plan.id)
            assert record is not None and record.state == "done"
            assert await bus.kv("inflight").keys() == []
            counters = json.loads(summary.read_text())["services"]["executor"]["counters"]
            assert counters["plans followed after a restart"] == 1
            assert counters["plans failed"] == 1
        finally:
            proxy.close()
            await bus.close()
