"""The ledger's schema, as numbered migrations recorded in a ``schema_version`` table.

Why versioned: ledgers live for years and several auditors may start at once. Each migration
runs once, inside one transaction with the schema lock held, and its number is written in the
same transaction, so a crash half-way leaves the previous version intact. The SQL is the same
for SQLite and PostgreSQL (BIGINT, TEXT, BOOLEAN and composite keys mean the same in both).
Migrations are only ever appended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from .drivers import Driver
from .errors import LedgerError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: Final = (
    Migration(
        1,
        "trades (one row per plan and outcome) and their legs",
        (
            """CREATE TABLE trades (
                plan_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                opportunity_id TEXT NOT NULL,
                strategy TEXT NOT NULL,
                route TEXT NOT NULL,
                base_mint TEXT NOT NULL,
                paper BOOLEAN NOT NULL,
                in_amount BIGINT NOT NULL,
                out_amount BIGINT NOT NULL,
                fee_lamports BIGINT NOT NULL,
                tip_lamports BIGINT NOT NULL,
                loan_fee BIGINT NOT NULL,
                realized_profit BIGINT NOT NULL,
                signature TEXT,
                slot BIGINT,
                error TEXT,
                submitter TEXT NOT NULL,
                funding_provider TEXT NOT NULL,
                completed_ns BIGINT NOT NULL,
                day TEXT NOT NULL,
                stream_seq BIGINT,
                recorded_ns BIGINT NOT NULL,
                PRIMARY KEY (plan_id, outcome)
            )""",
            "CREATE INDEX trades_completed ON trades (completed_ns)",
            "CREATE INDEX trades_day ON trades (day, strategy)",
            """CREATE TABLE trade_legs (
                plan_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                leg INTEGER NOT NULL,
                pool TEXT NOT NULL,
                dex TEXT NOT NULL,
                input_mint TEXT NOT NULL,
                output_mint TEXT NOT NULL,
                in_amount BIGINT NOT NULL,
                out_amount BIGINT NOT NULL,
                fee_amount BIGINT NOT NULL,
                PRIMARY KEY (plan_id, outcome, leg),
                FOREIGN KEY (plan_id, outcome) REFERENCES trades (plan_id, outcome)
            )""",
        ),
    ),
)
LATEST: Final = MIGRATIONS[-1].version

_VERSION_TABLE: Final = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_ns BIGINT NOT NULL
)"""


def current_version(driver: Driver) -> int:
    """The ledger's schema version; 0 when it has none yet."""
    if not driver.has_table("schema_version"):
        return 0
    rows = driver.query("SELECT MAX(version) FROM schema_version")
    return int(rows[0][0] or 0)


def check_version(version: int, where: str, latest: int = LATEST) -> None:
    """Refuse a ledger written by a newer lstarb: its rows may mean what this one cannot know."""
    if version > latest:
        raise LedgerError(
            f"the ledger {where} has schema version {version}, newer than this lstarb knows"
            f" ({latest}): upgrade lstarb to read or write it"
        )


def migrate(driver: Driver, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the schema up to date; the versions applied now (none when it already was)."""
    applied: list[int] = []
    with driver.transaction():
        driver.lock_schema()
        driver.execute(_VERSION_TABLE)
        version = current_version(driver)
        check_version(version, driver.where, migrations[-1].version)
        for migration in migrations:
            if migration.version <= version:
                continue
            for statement in migration.statements:
                driver.execute(statement)
            driver.execute(
                "INSERT INTO schema_version (version, description, applied_ns) VALUES (?, ?, ?)",
                [migration.version, migration.description, time.time_ns()],
            )
            applied.append(migration.version)
    return applied
