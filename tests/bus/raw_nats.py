"""A NATS subscriber on a plain socket, in a thread: it sees only what a process has really
written to the server, whatever that process's event loop is doing."""

from __future__ import annotations

import queue
import socket
import threading
from urllib.parse import urlparse


def subscriber(url: str, subject: str, ready: threading.Event, got: queue.Queue[bytes]) -> None:
    """Subscribe with the plain NATS protocol; put each message's first line in ``got``."""
    where = urlparse(url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        lines = sock.makefile("rb")
        assert lines.readline().startswith(b"INFO ")
        sock.sendall(
            b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
            + f"SUB {subject} 1\r\nPING\r\n".encode()
        )
        while lines.readline().strip() != b"PONG":
            pass
        sock.settimeout(None)  # quiet for long is fine: it reads until the server goes
        ready.set()
        try:
            while True:
                line = lines.readline()
                if not line:
                    return
                if line.startswith((b"MSG ", b"HMSG ")):
                    got.put(line)
                    lines.read(int(line.split()[-1]) + 2)  # headers and payload, then CRLF
                elif line.strip() == b"PING":
                    sock.sendall(b"PONG\r\n")
        except OSError:  # the server went away (the session's end)
            return


def start_subscriber(url: str, subject: str) -> queue.Queue[bytes]:
    """Subscribe ``subject`` in a daemon thread; returns once the server has the subscription.
    Each message's first line (``MSG``/``HMSG``) arrives in the queue."""
    ready, got = threading.Event(), queue.Queue[bytes]()
    threading.Thread(target=subscriber, args=(url, subject, ready, got), daemon=True).start()
    if not ready.wait(10):
        raise TimeoutError(f"no subscription to {subject} at {url}")
    return got
