"""Real ``lstarb run --role ...`` processes on one nats-server, watched through their metrics.

Why processes and not tasks: the kill switch must reach every process on the cluster through
the server, and a process started while halted must start halted; only separate processes
with their own connections and their own ``HaltSwitch`` show that.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

LSTARB = [sys.executable, "-m", "lstarb_runtime.cli"]
_METRICS = re.compile(r"metrics: (http://\S+/metrics)")
_CONTROL = re.compile(r"control API: (http://\S+)")


def lstarb_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    env.update(
        LSTARB_NATS__URL=url,
        LSTARB_NATS__EMBEDDED="false",
        LSTARB_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def cli(url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """One ``lstarb`` command, run to its end."""
    return subprocess.run(
        [*LSTARB, *args], env=lstarb_env(url, **extra), capture_output=True, text=True, timeout=60
    )


class ServiceProcess:
    """``lstarb run --role ROLE --metrics-port 0`` in its own directory; output kept."""

    def __init__(self, role: str, url: str, cwd: Path, *args: str, **extra: str) -> None:
        self.role = role
        cwd.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.metrics_url = ""
        self.control_url = ""
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [*LSTARB, "run", "--role", role, "--metrics-port", "0", *args],
            cwd=cwd,
            env=lstarb_env(url, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            api = _CONTROL.search(line)
            if api:
                self.control_url = api.group(1)
            found = _METRICS.search(line)
            if found:
                self.metrics_url = found.group(1)
                self._ready.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def metrics(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as reply:
            text: str = reply.read().decode()
        return text

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name{labels}`` (labels matched as a subset), or None."""
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            head, _, number = line.rpartition(" ")
            if head.split("{", 1)[0] != name:
                continue
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                return float(number)
        return None

    def wait_running(self, timeout: float = 60.0) -> None:
        if not self._ready.wait(timeout):
            raise AssertionError(f"{self.role}: no metrics URL in time:\n{self.output}")
        self.until(
            lambda: (
                self.value(
                    "lstarb_service_state", service=self.role, lstarb_service_state="running"
                )
                == 1.0
            ),
            timeout,
            "running",
        )

    def engaged(self) -> float | None:
        return self.value("lstarb_kill_switch_engaged")

    def until(self, check: object, timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.role} exited {self.proc.returncode}:\n{self.output}")
            if check():  # type: ignore[operator]
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.role}: {what} not reached in time:\n{self.output}")
            time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
