"""The ledger's database drivers: SQLite (stdlib ``sqlite3``) and PostgreSQL (psycopg 3).

Why a layer of our own: the ledger's SQL is written once, with ``?`` placeholders, and runs on
both; what differs (placeholder style, how a write transaction starts, how migrations are
serialized between processes, how a table is looked up) lives here and nowhere else.

Both connections run in autocommit mode: a single statement commits by itself and
:meth:`Driver.transaction` groups the statements of one write.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlsplit, urlunsplit

from .errors import LedgerError, LedgerNotFound

if TYPE_CHECKING:
    import psycopg

Params = Sequence[Any]
Row = tuple[Any, ...]


class Driver(ABC):
    """One connection to a ledger database."""

    dialect: ClassVar[str]
    where: str
    """The database, for messages (never a password)."""

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one query; every row."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Writers of other processes wait for it (SQLite: the database's write lock from the
        start; PostgreSQL: row locks, and :meth:`lock_schema` for migrations).
        """

    @abstractmethod
    def lock_schema(self) -> None:
        """Inside a transaction: wait until no other process is migrating this ledger."""

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether ``name`` exists (in the schema the connection works in)."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteDriver(Driver):
    """A SQLite file in WAL mode: readers never block the writer, writers queue."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, create: bool, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.where = f"sqlite:{path}"
        if not create and not path.is_file():
            raise LedgerNotFound(f"no ledger at {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            # A recorded trade is acknowledged on the stream afterwards: it must be on disk.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger {path}: {exc}") from None

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock now, so two writers never deadlock on an upgrade.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def lock_schema(self) -> None:
        """Nothing to do: the transaction already holds the database's write lock."""

    def has_table(self, name: str) -> bool:
        rows = self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return bool(rows)

    def close(self) -> None:
        self._conn.close()


_PLACEHOLDER: Final = re.compile(r"\?")


class PostgresDriver(Driver):
    """PostgreSQL through psycopg 3; the connection string may set ``options=-csearch_path=``.

    A lost connection (server restart, network) fails the call in progress with a
    :class:`LedgerError`; the next call connects again, so a retried write succeeds once the
    server is back.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout_s: int = 10) -> None:
        self._url = url
        self._timeout = connect_timeout_s
        self.where = redact_url(url)
        self._sql: dict[str, str] = {}
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Row]:
        import psycopg

        try:
            return psycopg.connect(self._url, autocommit=True, connect_timeout=self._timeout)
        except psycopg.Error as exc:
            raise LedgerError(
                f"cannot connect to the ledger database {self.where}: {str(exc).strip()}"
            ) from None

    def _live(self) -> psycopg.Connection[Row]:
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            raise LedgerError(
                f"lost the ledger database {self.where}: {str(exc).strip()}"
            ) from None

    def _translate(self, sql: str) -> str:
        out = self._sql.get(sql)
        if out is None:
            # The ledger's SQL has no literal '?' or '%'; psycopg wants %s.
            out = self._sql[sql] = _PLACEHOLDER.sub("%s", sql)
        return out

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._errors():
            return self._live().execute(self._translate(sql), params).rowcount

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self._errors():
            return self._live().execute(self._translate(sql), params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors(), self._live().transaction():
            yield

    def lock_schema(self) -> None:
        # Transaction-scoped advisory lock, one per schema: concurrent first starts of several
        # auditors migrate once, one after the other.
        self.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.lstarb_ledger'))")

    def has_table(self, name: str) -> bool:
        rows = self.query("SELECT to_regclass(?) IS NOT NULL", [name])
        return bool(rows and rows[0][0])

    def close(self) -> None:
        self._conn.close()


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f":***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def open_driver(url: str, *, create: bool) -> Driver:
    """A driver for ``url``: ``sqlite:PATH`` or ``postgresql://...`` (``postgres://`` too).

    ``create=False`` refuses to create a SQLite file that is not there
    (:class:`LedgerNotFound`): readers such as ``lstarb pnl`` never leave an empty ledger.
    """
    scheme, sep, rest = url.partition(":")
    if not sep:
        raise LedgerError(
            f"ledger database_url {redact_url(url)!r} has no scheme;"
            " use sqlite:PATH or postgresql://USER@HOST:PORT/DB"
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        path = rest[2:] if rest.startswith("//") else rest
        if not path:
            raise LedgerError(f"ledger database_url {url!r} names no file; use sqlite:PATH")
        return SqliteDriver(Path(path), create=create)
    if scheme in ("postgresql", "postgres"):
        return PostgresDriver(url)
    raise LedgerError(
        f"ledger database_url {redact_url(url)!r}: unsupported scheme {scheme!r};"
        " use sqlite:PATH or postgresql://USER@HOST:PORT/DB"
    )
