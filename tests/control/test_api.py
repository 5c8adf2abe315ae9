"""The control API: no token, no access; the right token kills and resumes, audited on SYSTEM.

Against ``lstarb run --role planner --control-port 0`` (a real process, a real nats-server)
with a real HTTP client, and against the server alone for the token rules.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lstarb_runtime.bus import Delivery, EmbeddedNats, JetStreamBus, MemoryBus, free_local_url
from lstarb_runtime.config import Settings
from lstarb_runtime.control.api import load_tokens, serve_control_api
from lstarb_runtime.control.settings import ControlSettings
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk.errors import ConfigError
from lstarb_sdk.events import Command, SystemCommandEvent

from .procs import ServiceProcess, lstarb_env

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(free_local_url(), tmp_path / "nats") as nats:
        yield nats


async def _audit(url: str, count: int) -> list[SystemCommandEvent]:
    bus = await JetStreamBus.connect(url)
    got: list[SystemCommandEvent] = []
    done = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        assert isinstance(delivery.event, SystemCommandEvent)
        got.append(delivery.event)
        if len(got) >= count:
            done.set()

    try:
        consumer = await bus.consume("SYSTEM", "test-audit", handle)
        await asyncio.wait_for(done.wait(), 20)
        await consumer.stop()
    finally:
        await bus.close()
    return got


def test_the_api_refuses_without_or_with_a_wrong_token_and_works_with_the_right_one(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    planner = ServiceProcess(
        "planner",
        server.url,
        tmp_path / "planner",
        "--control-port",
        "0",
        LSTARB_CONTROL__TOKEN=TOKEN,
    )
    try:
        planner.wait_running()
        api = planner.control_url
        assert api.startswith("http://127.0.0.1:"), planner.output
        with httpx.Client(base_url=api, timeout=10) as http:
            nobody = http.get("/status")
            assert nobody.status_code == 401 and "WWW-Authenticate" in nobody.headers
            wrong = http.post("/kill", json={"reason": "x"}, headers=_bearer("not-the-token"))
            assert wrong.status_code == 403
            assert http.post("/kill", json={"reason": "x"}).status_code == 401
            assert http.get("/nowhere").status_code == 401  # even a 404 needs the token
            assert http.get("/nowhere", headers=_bearer(TOKEN)).status_code == 404
            assert http.get("/kill", headers=_bearer(TOKEN)).status_code == 405
            assert planner.engaged() in (None, 0.0)  # nothing refused changed anything

            status = http.get("/status", headers=_bearer(TOKEN))
            assert status.status_code == 200
            doc = status.json()
            assert doc["cluster"]["halted"] is False
            assert [s["role"] for s in doc["services"]] == ["planner"]

            no_reason = http.post("/kill", json={}, headers=_bearer(TOKEN))
            assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]
            assert http.post("/kill", content=b"{", headers=_bearer(TOKEN)).status_code == 400

            killed = http.post(
                "/kill",
                json={"reason": "bad fills on route X", "operator": "alice"},
                headers=_bearer(TOKEN),
            )
            assert killed.status_code == 200, killed.text
            who = killed.json()["by"]
            assert who.startswith("api:env@127.0.0.1:") and who.endswith("(alice)")
            planner.until(lambda: planner.engaged() == 1.0, 10, "halted")
            status = http.get("/status", headers=_bearer(TOKEN)).json()
            assert status["cluster"]["halted"] and status["process"]["halted"]
            assert status["services"][0]["halted"] is True

            resumed = http.post("/resume", json={"reason": "fixed"}, headers=_bearer(TOKEN))
            assert resumed.status_code == 200
            again = resumed.json()["by"]
            assert again.startswith("api:env@127.0.0.1:")
            planner.until(lambda: planner.engaged() == 0.0, 10, "resumed")
        audit = asyncio.run(_audit(server.url, 2))
        assert [(e.command, e.reason, e.triggered_by) for e in audit] == [
            (Command.KILL_SWITCH, "bad fills on route X", who),
            (Command.RESUME, "fixed", again),
        ]
        assert TOKEN not in planner.output  # never logged
    finally:
        planner.stop()


def test_a_run_asked_for_the_api_without_a_token_does_not_start(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "run",
            "--role",
            "planner",
            "--control-port",
            "0",
            "--duration",
            "5",
        ],
        cwd=tmp_path,
        env=lstarb_env(server.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "LSTARB_CONTROL__TOKEN" in done.stderr and "no token, no access" in done.stderr


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_come_from_a_private_file_or_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no token, no access"):
        load_tokens(ControlSettings())
    assert [t.name for t in load_tokens(ControlSettings(token=TOKEN))] == ["env"]
    with pytest.raises(ConfigError, match="shorter than 16"):
        load_tokens(ControlSettings(token="short"))
    path = tmp_path / "tokens"
    path.write_text(f"# operators\nalice:{TOKEN}\nbob: {TOKEN[::-1]}\n")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="accessible by others"):
        load_tokens(ControlSettings(token_file=path))
    os.chmod(path, 0o600)
    tokens = load_tokens(ControlSettings(token_file=path, token="ignored-when-a-file-is-set"))
    assert [(t.name, t.secret) for t in tokens] == [("alice", TOKEN), ("bob", TOKEN[::-1])]
    assert TOKEN not in repr(tokens)
    path.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="holds no token"):
        load_tokens(ControlSettings(token_file=path))


async def test_the_api_listens_on_loopback_only_and_each_token_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"alice:{TOKEN}\nbob:{TOKEN[::-1]}\n")
    os.chmod(path, 0o600)
    bus = MemoryBus()
    await bus.ensure_streams()
    settings = Settings(control=ControlSettings(port=0, token_file=path))
    api = await serve_control_api(settings, HaltSwitch(), bus)
    try:
        host = socket.gethostbyname(socket.gethostname())
        if host != "127.0.0.1":  # the machine's other address: nothing listens there
            with pytest.raises(OSError), socket.create_connection((host, api.port), timeout=2):
                pass
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
            reply = await http.post("/kill", json={"reason": "drill"}, headers=_bearer(TOKEN[::-1]))
            assert reply.status_code == 200 and reply.json()["by"].startswith("api:bob@127.0.0.1")
    finally:
        await api.close()
        await bus.close()
