"""``lstarb simnet`` as a user runs it: listens, serves, stops, says what it did."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx


def test_command_serves_and_reports() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "simnet",
            "--port",
            "0",
            "--drive",
            "--seed",
            "5",
            "--slot-ms",
            "50",
            "--duration",
            "20",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert started["event"] == "listening" and started["drive"] is True
        assert started["left_out"] == {}
        assert len(started["still"]) == 4  # the DLMM pairs
        synthetic = {s["pubkey"]: s for s in started["synthetic"]}
        vault = synthetic["F7tcS67EfP4bBJhWLxCk6ZmPVcsmPnJvPLQcDw5eeR67"]  # JitoSOL pool's vault A
        assert vault["kind"] == "Orca vault" and "liquidity implies" in vault["rule"]
        port = int(started["http"].rsplit(":", 1)[1])
        assert started["ws"].endswith(f":{port + 1}")
        body = {"jsonrpc": "2.0", "id": 1, "method": "getSlot"}
        first = httpx.post(started["http"], json=body).json()["result"]
        time.sleep(0.3)
        assert httpx.post(started["http"], json=body).json()["result"] > first
        proc.send_signal(2)  # Ctrl-C
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["event"] == "stopped" and stopped["requests"] == 2 and stopped["slots"] > 0
    assert proc.returncode == 0, err


def test_start_slot_sets_the_first_slot_and_the_epoch() -> None:
    from click.testing import CliRunner

    from lstarb_runtime.simnet.cli import simnet

    args = ["--port", "0", "--slot-ms", "10000", "--duration", "0.2", "--json"]
    result = CliRunner().invoke(simnet, [*args, "--start-slot", str(432_000 * 951 + 17)])
    assert result.exit_code == 0, result.output
    started = json.loads(result.output.splitlines()[0])
    assert started["slot"] == 432_000 * 951 + 17
    default = CliRunner().invoke(simnet, args)
    assert json.loads(default.output.splitlines()[0])["slot"] == 432_000 * 950
    refused = CliRunner().invoke(simnet, [*args, "--start-slot", "-1"])
    assert refused.exit_code == 2 and "--start-slot" in refused.output


def test_shredstream_port_serves_and_is_reported() -> None:
    from click.testing import CliRunner

    from lstarb_runtime.simnet.cli import simnet

    args = ["--port", "0", "--drive", "--slot-ms", "50", "--duration", "0.5", "--json"]
    result = CliRunner().invoke(simnet, [*args, "--shredstream-port", "0"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    host, port = lines[0]["shredstream"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert lines[-1]["event"] == "stopped" and lines[-1]["shredstream_entries"] == 0  # no one
    plain = CliRunner().invoke(simnet, args)
    assert json.loads(plain.output.splitlines()[0])["shredstream"] is None
    assert "shredstream_entries" not in json.loads(plain.output.splitlines()[-1])
