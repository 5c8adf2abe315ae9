"""Plan consumed -> signed transaction ready, for a 3-leg route with a Kamino flash loan.

    python benchmarks/executor_build.py [N]

The route is the executor tests' triangle on real accounts (Raydium CLMM SOL/USDC, Orca
bSOL/USDC, Orca bSOL/SOL), wrapped in a flash borrow/repay of the real Main-market SOL
reserve, with the Jito tip, compiled with one lookup table (the route does not fit 1,232
bytes without one) and a cached blockhash, as the executor builds it: the plan's checks,
the three adapters' swap instructions, the token-account and wSOL instructions, the loan,
the v0 message, the signature and the size check. No I/O is on this path.

Rows: the whole path and its parts (p50/p99 over N runs), then the same through the
service on a bus, where "consumed" starts when the plan's message is handed to the
executor (checks, wallet, build, sign: no I/O, the server is not asked before the signature),
then "signed -> recorded": the plan's one exactly-once record (``create`` in ``plans`` with
its ``inflight`` listing, one round trip on a local nats-server), after which it is sent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair

from lstarb_jito.submitter import JitoSubmitter
from lstarb_runtime.bus import Bus, EmbeddedNats, JetStreamBus, MemoryBus, free_local_url
from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.transaction import TransactionBuilder
from lstarb_runtime.executor.validation import expired, plan_problem
from lstarb_runtime.services.executor import Executor

ROOT = Path(__file__).resolve().parents[1]


def _testlib() -> ModuleType:
    """The executor tests' market and plans (one definition of the route)."""
    sys.path.insert(0, str(ROOT))
    path = ROOT / "tests" / "executor" / "executor_testlib.py"
    spec = importlib.util.spec_from_file_location("executor_testlib", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


T = _testlib()


def _percentiles(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def _time(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    for _ in range(min(200, n)):
        fn()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return _percentiles(samples)


def direct_rows(n: int) -> list[tuple[str, float, float]]:
    book = T.market_book()
    plan = T.make_plan(book, T.TRIANGLE)
    wallet = Keypair()
    tables = LookupTables()
    keys = T.route_table(
        TransactionBuilder(book, {"kamino": T.kamino()}, tables), plan, wallet.pubkey()
    )
    tables.add(T.TABLE_KEY, T.lookup_table_account(keys))
    builder = TransactionBuilder(book, {"kamino": T.kamino()}, tables, extra_tables=[T.TABLE_KEY])
    jito = JitoSubmitter(paper=True)
    blockhash = Hash.new_unique()
    payer = wallet.pubkey()

    def whole() -> None:
        assert plan_problem(plan) is None
        assert expired(plan, slot=1, now_ns=time.time_ns()) is None
        tip = jito.tip_instruction(payer, plan.tip_lamports)
        assembly = builder.assemble(plan, payer, tip=tip, tip_lamports=plan.tip_lamports)
        builder.sign(builder.compile(assembly, payer, blockhash), wallet, assembly, pubkey=payer)

    tip = jito.tip_instruction(payer, plan.tip_lamports)
    assembly = builder.assemble(plan, payer, tip=tip, tip_lamports=plan.tip_lamports)
    message = builder.compile(assembly, payer, blockhash)
    built = builder.sign(message, wallet, assembly)
    print(f"transaction: {built.size} bytes, {len(assembly.instructions)} instructions")
    return [
        ("plan -> signed transaction (3 legs, flash loan, tip, table)", *_time(whole, n)),
        (
            "  of which: assemble (swaps, loan, envelope)",
            *_time(
                lambda: builder.assemble(plan, payer, tip=tip, tip_lamports=plan.tip_lamports), n
            ),
        ),
        (
            "  of which: compile the v0 message",
            *_time(lambda: builder.compile(assembly, payer, blockhash), n),
        ),
        (
            "  of which: sign + serialize + size check",
            *_time(lambda: builder.sign(message, wallet, assembly, pubkey=payer), n),
        ),
    ]


async def service_rows(bus: Bus, n: int, label: str) -> list[tuple[str, float, float]]:
    await T.publish_market(bus, T.market_accounts())
    book = T.market_book()
    wallet = Keypair()
    builder = TransactionBuilder(book, {"kamino": T.kamino()}, LookupTables())
    keys = T.route_table(builder, T.make_plan(book, T.TRIANGLE), wallet.pubkey())
    fetch = {**T.kamino_accounts(), T.TABLE_KEY: T.lookup_table_account(keys)}
    config = T.settings(
        landing_delay_slots=0,
        landing_timeout_s=0.05,
        lookup_tables=[str(T.TABLE_KEY)],
        paper_wallets=4,
    )
    executor = Executor(T.executor_env(bus, T.executor_host(fetch), config=config))
    await executor.start()
    for i in range(n):
        await bus.publish(T.make_plan(book, T.TRIANGLE, plan_id=f"bench-{label}-{i}"))
    await T.results_of(bus, n, timeout=600)
    await executor.stop()
    samples = executor.stats.timer.samples
    signed = [b + s for b, s in zip(samples["build"], samples["sign"], strict=True)]
    recorded = samples["signed -> recorded"]
    whole = [s + r for s, r in zip(signed, recorded, strict=True)]
    return [
        (f"service on {label}: plan consumed -> signed", *_percentiles(signed)),
        (f"service on {label}: signed -> recorded", *_percentiles(recorded)),
        (f"service on {label}: plan consumed -> recorded (ready to send)", *_percentiles(whole)),
    ]


async def main(n: int) -> None:
    rows = direct_rows(n)
    memory = MemoryBus()
    await memory.ensure_streams()
    rows += await service_rows(memory, max(100, n // 20), "the in-memory bus")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedNats(free_local_url(), Path(tmp)) as nats:
        bus = await JetStreamBus.connect(nats.url)
        await bus.ensure_streams()
        rows += await service_rows(bus, max(100, n // 20), "nats-server")
        await bus.close()
    print()
    print("| path | p50 (µs) | p99 (µs) |")
    print("|---|---:|---:|")
    for what, p50, p99 in rows:
        print(f"| {what} | {p50:,.1f} | {p99:,.1f} |")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000))
