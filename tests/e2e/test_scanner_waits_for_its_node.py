"""A scanner started before its RPC node (a Procfile, a reboot) waits for it, then scans.

Real parts: ``lstarb run --role scanner`` on a nats-server of its own, and the local peer
(``lstarb simnet --drive``) started on the configured port only after the scanner is up.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

from click.testing import CliRunner

from lstarb_runtime.cli import cli
from lstarb_runtime.embedded.peer import EmbeddedPeer


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return int(port)
    raise RuntimeError("no two free ports in a row")


def test_a_scanner_started_before_its_node_waits_and_then_scans(
    runner: CliRunner, tmp_path: Path
) -> None:
    port = _free_port_pair()
    config = tmp_path / "lstarb.toml"
    config.write_text(f'[plugins.rpc]\nurl = "http://127.0.0.1:{port}"\nbackoff_max_s = 0.5\n')
    peer = EmbeddedPeer(seed=2, slot_ms=100, port=port)
    late = threading.Timer(4.0, peer.start)  # the node comes up after the scanner
    late.start()
    try:
        args = ["run", "--role", "scanner", "--config", str(config), "--duration", "12"]
        result = runner.invoke(cli, args)
    finally:
        late.join()
        peer.stop()
    out = result.output
    assert result.exit_code == 0, out
    assert "retrying until it answers" in out
    found = re.search(r"rpc: (\d+) accounts, (\d+) pools; streaming updates", out)
    assert found and int(found.group(2)) >= 8, out
    updates = re.search(r"account updates\s+(\d+) applied", out)
    assert updates and int(updates.group(1)) > 0, out
