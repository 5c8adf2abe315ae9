"""A fresh ledger database per test, in SQLite and in the machine's real PostgreSQL.

PostgreSQL tests each get a schema of their own (dropped afterwards) in database ``test`` at
127.0.0.1:5432 (``LSTARB_TEST_POSTGRES_URL`` overrides), so parallel runs never share a table.
A PostgreSQL that does not answer fails the tests: a skipped database is an unchecked one.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from lstarb_runtime.ledger import SOL_MINT, TradeLeg, TradeRecord

POSTGRES_URL = os.environ.get(
    "LSTARB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
JITOSOL = "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn"
DAY_NS = 86_400 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema of database ``test``."""
    schema = f"lstarb_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} does not answer ({exc}); the ledger tests need it"
        )
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every ledger test runs on both databases: they must behave the same."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'ledger.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _pool(rng: random.Random) -> str:
    return str(Pubkey.from_bytes(rng.randbytes(32)))


TradeFactory = Callable[..., list[TradeRecord]]


@pytest.fixture
def make_trades() -> TradeFactory:
    """``make_trades(n, seed=0, days=3)``: realistic two-hop trades over ``days`` UTC days.

    Paper and live, SOL and JitoSOL base mints, every outcome, profits of both signs, some
    with a flash loan; plan ids are unique per (seed, i).
    """

    def factory(n: int, seed: int = 0, days: int = 3) -> list[TradeRecord]:
        rng = random.Random(seed)
        pools = [(_pool(rng), dex) for dex in ("raydium-cpmm", "meteora-dlmm", "orca-whirlpool")]
        trades = []
        for i in range(n):
            base = SOL_MINT if rng.random() < 0.8 else JITOSOL
            other = JITOSOL if base == SOL_MINT else SOL_MINT
            a, b = rng.sample(pools, 2)
            amount = rng.randrange(10**8, 5 * 10**9)
            mid = amount * rng.randrange(850_000, 900_000) // 1_000_000
            back = amount + rng.randrange(-20_000, 200_000)
            outcome = rng.choice(("landed", "landed", "paper", "failed", "dropped", "rejected"))
            sent = outcome in ("landed", "paper", "failed")
            fee = 5_000 + rng.randrange(0, 20_000) if sent else 0
            tip = rng.choice((0, 10_000, 50_000)) if sent else 0
            loan = amount * 9 // 10_000 if rng.random() < 0.3 else 0
            profit = (back - amount - fee - tip - loan) if outcome in ("landed", "paper") else -fee
            legs = (
                TradeLeg(a[0], a[1], base, other, amount, mid, amount * 25 // 10_000),
                TradeLeg(b[0], b[1], other, base, mid, back, mid * 25 // 10_000),
            )
            trades.append(
                TradeRecord(
                    plan_id=f"plan-{seed}-{i:05d}",
                    outcome=outcome,
                    opportunity_id=f"opp-{seed}-{i:05d}",
                    paper=outcome == "paper" or rng.random() < 0.3,
                    completed_ns=T0 + rng.randrange(0, days * DAY_NS),
                    strategy=rng.choice(("lst-two-hop", "lst-triangle")),
                    base_mint=base,
                    legs=legs,
                    in_amount=amount,
                    out_amount=back if sent else 0,
                    fee_lamports=fee,
                    tip_lamports=tip,
                    loan_fee=loan,
                    realized_profit=profit,
                    signature=str(Signature.from_bytes(rng.randbytes(64))) if sent else None,
                    slot=312_000_000 + i if sent else None,
                    error="slippage exceeded" if outcome == "failed" else None,
                    submitter=rng.choice(("jito", "rpc")),
                    funding_provider="kamino" if loan else "",
                    stream_seq=1000 + i,
                )
            )
        return trades

    return factory
