"""``lstarb run --role auditor`` as a process: killed mid-stream, restarted, nothing lost or
recorded twice, in SQLite and in PostgreSQL.

Real parts: a nats-server, the auditor in a subprocess (SIGKILL, then a new process on the
same durable consumer), the EXECUTED stream holding some results twice (re-sent under other
message ids, as a publisher outside JetStream's de-duplication window would).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus
from lstarb_runtime.ledger import Ledger

from .auditor_testlib import count, results


def _config(tmp: Path, nats_url: str, ledger_url: str) -> Path:
    path = tmp / "lstarb.toml"
    path.write_text(
        f'[nats]\nurl = "{nats_url}"\nembedded = false\n\n'
        f'[auditor]\ndatabase_url = "{ledger_url}"\n'
    )
    return path


def _auditor(config: Path, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    env["PYTHONUNBUFFERED"] = "1"
    log = (tmp / f"{name}.log").open("wb")
    args = ["run", "--role", "auditor", "--plugins", "", "--config", str(config)]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            *args,
            "--summary-json",
            str(tmp / f"{name}.json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


async def _until(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(predicate):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _consuming(bus: JetStreamBus, proc: subprocess.Popen[bytes], tmp: Path) -> None:
    """Wait until the auditor's durable consumer is on EXECUTED (the process started)."""
    for _ in range(1200):
        assert proc.poll() is None, _log(tmp, "auditor-1")
        states = {s.name: s for s in await bus.stream_states()}
        if "auditor" in states["EXECUTED"].consumers:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the auditor did not start consuming")


def _log(tmp: Path, name: str) -> str:
    return (tmp / f"{name}.log").read_text(errors="replace")


async def test_kill_and_restart_mid_stream_records_every_result_once(
    nats: EmbeddedNats, ledger_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, nats.url, ledger_url)
    sent = results(300)
    bus = await JetStreamBus.connect(nats.url)
    await bus.ensure_streams()
    first_seq: dict[str, int] = {}

    async def publish(batch: list) -> None:  # type: ignore[type-arg]
        for r in batch:
            first_seq[r.plan_id] = (await bus.publish(r)).sequence

    first = _auditor(config, tmp_path, "auditor-1")
    try:
        await _consuming(bus, first, tmp_path)
        publishing = asyncio.create_task(publish(sent))
        await _until(lambda: count(ledger_url) >= 30, 60, "30 trades recorded")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = count(ledger_url)
        await publishing
    finally:
        if first.poll() is None:
            first.kill()
    assert 30 <= at_kill < len(sent), "the auditor was not killed mid-stream"
    for r in sent[:5]:  # the same results again under other message ids: stored twice
        assert not (await bus.publish(r, msg_id=f"again:{r.plan_id}")).duplicate

    second = _auditor(config, tmp_path, "auditor-2")
    try:
        await _until(lambda: count(ledger_url) >= len(sent), 120, "every trade recorded")

        async def drained() -> bool:
            states = {s.name: s for s in await bus.stream_states()}
            return states["EXECUTED"].consumers.get("auditor") == 0

        for _ in range(600):
            if await drained():
                break
            await asyncio.sleep(0.05)
        assert await drained()
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, _log(tmp_path, "auditor-2")
    finally:
        if second.poll() is None:
            second.kill()
        await bus.close()

    with Ledger.open(ledger_url, create=False) as ledger:
        stored = ledger.trades()
    assert len(stored) == len(sent)
    assert sorted(t.plan_id for t in stored) == sorted(r.plan_id for r in sent)
    assert {t.plan_id: t.stream_seq for t in stored} == first_seq
    assert {t.plan_id: (t.outcome, t.realized_profit, t.route) for t in stored} == {
        r.plan_id: (
            r.status,
            r.realized_profit,
            " > ".join(f"{leg.dex}:{leg.pool}" for leg in r.legs),
        )
        for r in sent
    }
    report = json.loads((tmp_path / "auditor-2.json").read_text())
    auditor = report["services"]["auditor"]
    assert auditor["state"] == "stopped"
    counters = auditor["counters"]
    assert counters["results recorded"] == len(sent) - at_kill
    # the five copies (and a result the first process wrote but never acknowledged, if any)
    assert counters["results duplicate"] >= 5
    assert (
        "ledger" in auditor["rows"]
        and f"{len(sent) - at_kill} recorded" in (auditor["rows"]["ledger"])
    )
