"""``--live`` refuses to start until it has a safe keypair, a real cluster's endpoint and an
explicit confirmation of that cluster; each refusal names what is missing (exit code 2).

The endpoints are real HTTP servers on 127.0.0.1: the local peer (``lstarb simnet``) and a
minimal JSON-RPC node that answers getGenesisHash as a public cluster would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from solders.keypair import Keypair

from lstarb_runtime.cli import cli
from lstarb_runtime.config import load_config
from lstarb_runtime.embedded.peer import EmbeddedPeer
from lstarb_runtime.live_guard import GENESIS_HASHES, check_live
from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk.errors import ConfigError

PLUGINS = "rpc,raydium,jito"


def _keypair(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(Keypair().to_bytes())))
    path.chmod(mode)
    return path


class ClusterNode:
    """An HTTP JSON-RPC endpoint whose getGenesisHash is that of ``network``."""

    def __init__(self, network: str) -> None:
        genesis = GENESIS_HASHES[network]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = {"jsonrpc": "2.0", "id": body["id"]}
                if body["method"] == "getGenesisHash":
                    reply["result"] = genesis
                else:
                    reply["error"] = {"code": -32601, "message": "Method not found"}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def devnet_node() -> Iterator[ClusterNode]:
    node = ClusterNode("devnet")
    yield node
    node.close()


@pytest.fixture
def mainnet_node() -> Iterator[ClusterNode]:
    node = ClusterNode("mainnet-beta")
    yield node
    node.close()


def _live(
    runner: CliRunner, tmp_path: Path, *extra: str, url: str | None = None, plugins: str = PLUGINS
) -> Result:
    args = ["run", "--plugins", plugins, "--live", "--duration", "1", *extra]
    if url is not None:
        config = tmp_path / "live.toml"
        config.write_text(f'[plugins.rpc]\nurl = "{url}"\n')
        args += ["--config", str(config)]
    return runner.invoke(cli, args)


def _refused(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "LIVE trading" not in result.output  # nothing started
    assert "--live refused; missing:" in result.output
    return result.output


def test_nothing_given_names_every_missing_piece(runner: CliRunner, tmp_path: Path) -> None:
    out = _refused(_live(runner, tmp_path))
    assert "a keypair file (--keypair FILE" in out
    assert "an RPC endpoint of a real cluster ([plugins.rpc] url" in out
    assert "an explicit network confirmation (--confirm-network" in out
    assert "market: the embedded local RPC peer" not in out  # a live run never starts it


def test_a_key_file_others_can_read_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    key = _keypair(tmp_path, 0o644)
    out = _refused(_live(runner, tmp_path, "--keypair", str(key)))
    assert f"keypair file {key} is accessible by others (mode 644)" in out
    assert "chmod 600" in out


def test_a_missing_key_file_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = _refused(_live(runner, tmp_path, "--keypair", str(tmp_path / "nope.json")))
    assert "a usable keypair: keypair file" in out and "nope.json" in out


def test_without_confirmation_it_refuses_even_with_a_real_endpoint(
    runner: CliRunner, tmp_path: Path, mainnet_node: ClusterNode
) -> None:
    key = _keypair(tmp_path)
    out = _refused(_live(runner, tmp_path, "--keypair", str(key), url=mainnet_node.url))
    assert "an explicit network confirmation" in out
    assert "keypair" not in out.split("missing:", 1)[1]  # the key was fine
    assert "RPC endpoint" not in out


def test_the_local_peer_is_not_a_cluster(runner: CliRunner, tmp_path: Path) -> None:
    peer = EmbeddedPeer(seed=0, slot_ms=400)
    info = peer.start()
    try:
        key = _keypair(tmp_path)
        confirm = ("--confirm-network", "mainnet-beta")
        out = _refused(_live(runner, tmp_path, "--keypair", str(key), *confirm, url=info.http_url))
    finally:
        peer.stop()
    assert "is a local peer or a private chain" in out
    assert "the local peer (lstarb simnet) is for paper runs" in out


def test_a_private_chain_is_confirmed_by_its_genesis_hash_only(tmp_path: Path) -> None:
    """A chain no cluster name fits passes only when its own genesis hash is confirmed."""
    peer = EmbeddedPeer(seed=3, slot_ms=400)
    info = peer.start()
    try:
        genesis = peer.net.chain.genesis_hash if peer.net is not None else ""
        config = tmp_path / "live.toml"
        config.write_text(f'[plugins.rpc]\nurl = "{info.http_url}"\n')
        host = PluginHost()
        host.discover()
        selected = host.select(PLUGINS.split(","))
        for network, passes in (("devnet", False), (genesis, True)):
            overrides = {
                "run.live": True,
                "run.keypair": str(_keypair(tmp_path)),
                "run.confirm_network": network,
            }
            loaded = load_config(config, environ={}, overrides=overrides)
            if passes:
                check_live(host, loaded, selected)
            else:
                with pytest.raises(ConfigError, match=f"--confirm-network {genesis}"):
                    check_live(host, loaded, selected)
    finally:
        peer.stop()


def test_a_confirmation_that_is_no_network_is_a_usage_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = _live(runner, tmp_path, "--confirm-network", "mainnet")
    assert result.exit_code == 2
    assert "config key 'run.confirm_network'" in result.output
    assert "not a cluster (mainnet-beta, devnet, testnet) nor a genesis hash" in result.output


def test_a_confirmation_of_another_network_is_refused(
    runner: CliRunner, tmp_path: Path, devnet_node: ClusterNode
) -> None:
    key = _keypair(tmp_path)
    confirm = ("--confirm-network", "mainnet-beta")
    out = _refused(_live(runner, tmp_path, "--keypair", str(key), *confirm, url=devnet_node.url))
    assert f"--confirm-network mainnet-beta, but {devnet_node.url} serves devnet" in out


def test_an_endpoint_that_does_not_answer_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    node = ClusterNode("mainnet-beta")
    url = node.url
    node.close()  # nothing listens there any more
    key = _keypair(tmp_path)
    confirm = ("--confirm-network", "mainnet-beta")
    out = _refused(_live(runner, tmp_path, "--keypair", str(key), *confirm, url=url))
    assert f"a reachable RPC endpoint: {url} did not answer getGenesisHash" in out


def test_an_endpoint_secret_is_not_shown(runner: CliRunner, tmp_path: Path) -> None:
    key = _keypair(tmp_path)
    confirm = ("--confirm-network", "devnet")
    url = "http://127.0.0.1:9/v2/sekrit-api-key"
    out = _refused(_live(runner, tmp_path, "--keypair", str(key), *confirm, url=url))
    assert "http://127.0.0.1:9 did not answer" in out
    assert "sekrit" not in out


def test_the_guard_passes_a_confirmed_cluster(tmp_path: Path, mainnet_node: ClusterNode) -> None:
    """Everything present and matching: the guard lets the run start (not started here)."""
    config = tmp_path / "live.toml"
    config.write_text(f'[plugins.rpc]\nurl = "{mainnet_node.url}"\n')
    overrides = {
        "run.live": True,
        "run.keypair": str(_keypair(tmp_path)),
        "run.confirm_network": "mainnet-beta",
    }
    loaded = load_config(config, environ={}, overrides=overrides)
    host = PluginHost()
    host.discover()
    selected = host.select(PLUGINS.split(","))
    check_live(host, loaded, selected)  # no refusal
    loaded.settings.run.confirm_network = "testnet"
    with pytest.raises(ConfigError, match="serves mainnet-beta"):
        check_live(host, loaded, selected)
