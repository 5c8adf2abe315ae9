"""The auditor on a real nats-server: EXECUTED results into the ledger, SQLite and PostgreSQL.

    python benchmarks/auditor_ledger.py [N] [POSTGRES_URL]

Starts its own nats-server on a free port, publishes N results (distinct plans, every
outcome) to EXECUTED, then starts the auditor service in-process and times it from start of
consumption to the last result recorded: results per second, and the per-result handling time
(plan lookup, the ledger transaction of the trade and its legs, the P&L gauges recomputed
from the ledger, the acknowledgement) as p50/p99 from the service's own stage timer.

SQLite in a temp directory (``synchronous=FULL``: every trade is on disk before its ack);
PostgreSQL at POSTGRES_URL (default: the local ``test`` database), in a schema of its own,
dropped afterwards.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
from pydantic import SecretStr

from lstarb_runtime.bus import EmbeddedNats, JetStreamBus, free_local_url
from lstarb_runtime.config import AuditorSettings, Settings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.services.auditor import Auditor
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk import PluginContext
from lstarb_sdk.events.examples import example_result

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


async def run(nats_url: str, ledger: str, n: int, tag: str) -> tuple[float, float, float]:
    bus = await JetStreamBus.connect(nats_url, fetch_timeout=0.2)
    await bus.ensure_streams()
    base = example_result()
    now = time.time_ns()
    statuses = ("landed", "failed", "paper", "dropped", "rejected")
    for i in range(n):
        status = statuses[i % len(statuses)]
        await bus.publish(
            base.model_copy(
                update={
                    "plan_id": f"{tag}-{i:06d}",
                    "status": status,
                    "paper": status == "paper",
                    "completed_ns": now + i,
                }
            )
        )
    settings = Settings(auditor=AuditorSettings(database_url=SecretStr(ledger)))
    env = ServiceEnv(bus, PluginHost(), PluginContext(), settings, HaltSwitch(), lambda s: None)
    auditor = Auditor(env)
    await auditor.start()
    task = asyncio.create_task(auditor.run())
    t0 = time.perf_counter()
    while auditor.outcomes["recorded"] < n:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    await auditor.stop()
    await task
    await bus.close()
    ((_, count, p50, p99),) = [
        row for row in auditor.stats.timer.table() if row[0] == "handle EXECUTED"
    ]
    assert count == n
    return n / elapsed, p50, p99


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    pg_url = sys.argv[2] if len(sys.argv) > 2 else POSTGRES
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNats(free_local_url(), Path(tmp) / "nats") as server,
    ):
        ledger = f"sqlite:{Path(tmp) / 'ledger.sqlite'}"
        rows.append(("SQLite", *asyncio.run(run(server.url, ledger, n, "sqlite"))))
        schema = f"lstarb_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
            try:
                sep = "&" if "?" in pg_url else "?"
                url = f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
                rows.append(("PostgreSQL", *asyncio.run(run(server.url, url, n, "pg"))))
            finally:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"auditor: {n} EXECUTED results into the ledger")
    print(f"{'ledger':<12} {'results/s':>10} {'p50 (us)':>10} {'p99 (us)':>10}")
    for name, rate, p50, p99 in rows:
        print(f"{name:<12} {rate:>10.0f} {p50:>10.0f} {p99:>10.0f}")


if __name__ == "__main__":
    main()
