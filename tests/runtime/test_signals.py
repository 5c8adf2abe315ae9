"""SIGTERM and SIGINT stop ``lstarb run`` the same way, in real subprocesses.

The run follows a data source that, like a quiet websocket, has played what it had and waits
for news: only a signal ends it. The source is a real plugin, installed for the subprocess as
a distribution would be (an entry point in a dist-info directory on its path).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lstarb_runtime.builtin.replay import bundled_market
from lstarb_runtime.bus import free_local_url
from lstarb_runtime.bus.embedded import parse_url, probe

PLUGIN = '''
import asyncio, os, pathlib, time
from lstarb_sdk import AccountUpdate, DataSource, hookimpl
from lstarb_sdk.testing import load_dir

LSTARB_SDK_API = "1.1"


class Idle(DataSource):
    """Plays each subscribed account of a recording once, then waits until closed."""

    name = "idle"

    def __init__(self):
        self.accounts = load_dir(os.environ["IDLE_MARKET"])
        self.queue = asyncio.Queue()
        self.closed = asyncio.Event()

    def known_accounts(self):
        return list(self.accounts)

    async def fetch(self, keys):
        return {k: self.accounts.get(k) for k in keys}

    async def subscribe(self, keys):
        for key in keys:
            self.queue.put_nowait(key)

    async def stream(self):
        while not self.closed.is_set():
            getting = asyncio.ensure_future(self.queue.get())
            closing = asyncio.ensure_future(self.closed.wait())
            done, pending = await asyncio.wait({getting, closing}, return_when="FIRST_COMPLETED")
            for task in pending:
                task.cancel()
            if getting not in done:
                return
            key = getting.result()
            account = self.accounts.get(key)
            if account is not None:
                yield AccountUpdate(key, 410_400_000, account.owner, account.lamports,
                                    bytes(account.data), source="idle", received_ns=time.time_ns())

    async def close(self):
        self.closed.set()


@hookimpl
def lstarb_data_sources(context):
    return [Idle()]


@hookimpl
def lstarb_shutdown(context):
    marker = pathlib.Path(os.environ["IDLE_MARKER"])
    marker.write_text("shutdown started\\n")
    time.sleep(float(os.environ.get("IDLE_SLOW_SHUTDOWN", "0")))
    marker.write_text("shutdown done\\n")
'''


@pytest.fixture
def idle_plugin(tmp_path: Path) -> Path:
    """A directory holding the plugin module and its dist-info (entry point ``idle``)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "lstarbtest_idle.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "lstarbtest_idle-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lstarbtest-idle\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lstarb]\nidle = lstarbtest_idle\n")
    return site


class Run:
    """``lstarb run --plugins orca,idle`` as a subprocess with a bus of its own."""

    def __init__(self, site: Path, tmp_path: Path, *, slow_shutdown: float = 0) -> None:
        self.url = free_local_url()
        self.marker = tmp_path / "marker"
        self.summary = tmp_path / "summary.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
        env.update(
            PYTHONPATH=str(site),
            LSTARB_NATS__URL=self.url,
            LSTARB_NATS__DATA_DIR=str(tmp_path / "nats"),
            IDLE_MARKET=str(bundled_market() / "orca" / "jitosol-sol-ts1"),
            IDLE_MARKER=str(self.marker),
            IDLE_SLOW_SHUTDOWN=str(slow_shutdown),
        )
        exe = Path(sys.executable).with_name("lstarb")
        self.proc = subprocess.Popen(
            [str(exe), "run", "--plugins", "orca,idle", "--summary-json", str(self.summary)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 30) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not printed; got {''.join(self.lines)}")

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, "".join(self.lines) + out, err

    def server_gone(self) -> bool:
        return probe(*parse_url(self.url), timeout=0.5) == "none"


def _quiet(err: str) -> None:
    for noise in ("Traceback", "was never retrieved", "Task was destroyed", "Exception ignored"):
        assert noise not in err, err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_cleanly(
    idle_plugin: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    run = Run(idle_plugin, tmp_path)
    run.wait_for("bus: nats://")
    run.wait_for("streaming updates")
    time.sleep(1.0)  # the market is played; the source now waits for news
    run.proc.send_signal(sig)
    returncode, out, err = run.finish()
    assert returncode == code, out + err
    assert f"{sig.name}: stopping" in out
    assert "summary" in out and f"ended by           {sig.name}" in out
    assert run.marker.read_text() == "shutdown done\n"  # lstarb_shutdown was called
    assert out.index("summary") > out.index(f"{sig.name}: stopping")
    _quiet(err)
    assert run.server_gone(), "the embedded nats-server outlived lstarb"
    report = json.loads(run.summary.read_text())
    assert report["exit_code"] == code and report["ended_by"] == sig.name
    market = report["published"]["MARKET_DATA"]
    assert market["sent"] == market["acked"] > 0  # everything sent was confirmed before exit
    assert report["services"]["scanner"]["published"]["MARKET_DATA"] == market["sent"]


@pytest.mark.slow
def test_a_second_signal_quits_at_once_without_a_traceback(
    idle_plugin: Path, tmp_path: Path
) -> None:
    run = Run(idle_plugin, tmp_path, slow_shutdown=60)
    run.wait_for("streaming updates")
    time.sleep(0.5)
    run.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if run.marker.exists() and run.marker.read_text() == "shutdown started\n":
            break  # stuck in a slow shutdown hook
        time.sleep(0.05)
    else:
        raise AssertionError(f"the shutdown hook did not start: {run.proc.poll()}")
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    returncode, out, err = run.finish(timeout=20)
    assert time.monotonic() - t0 < 10
    assert returncode == 128 + signal.SIGINT, out + err
    assert "SIGINT again: quitting now" in out
    _quiet(err)
    assert run.server_gone(), "the embedded nats-server outlived lstarb"
