"""Key-value buckets on the bus: control and exactly-once state without a second database.

DESIGN.md: the kill switch's halted flag, plan ids sent and signatures in flight live in
JetStream key-value buckets on the same cluster as the streams. :data:`KV_BUCKETS` is the table
of them; ``bus.kv(name)`` gives a :class:`KeyValue` of one, on JetStream or in memory, with the
same behaviour (one test suite runs on both).

``create`` is the exactly-once primitive: it stores a key only if the key does not exist (the
server checks, atomically, whoever else is writing) and raises :class:`KeyExists` otherwise.
An executor that ``create``\\ s ``plans/<plan id>`` before it submits never submits a plan twice,
however many executors share the work. A :class:`~lstarb_runtime.bus.interface.BusError` other
than :class:`KeyExists` (the connection dropped mid-call) leaves it unknown whether the key was
stored: ``get`` tells.
"""

from __future__ import annotations

import asyncio
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue as NatsKeyValue

from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.bus.streams import DAY, subject_matches

T = TypeVar("T")


@dataclass(frozen=True)
class BucketSpec:
    """One bucket: how many revisions of a key it keeps, and for how long (0: forever)."""

    name: str
    description: str
    history: int = 1
    ttl: float = 0.0


KV_BUCKETS: Final[tuple[BucketSpec, ...]] = (
    BucketSpec("control", "kill switch: the halted flag, why and by whom", history=16),
    BucketSpec("plans", "plan ids sent: create() is the exactly-once guard", ttl=DAY),
    BucketSpec("inflight", "signatures in flight until their outcome is recorded", ttl=DAY),
)
"""The buckets of DESIGN.md; every bus creates them at start-up and after a reconnect."""

BUCKET_BY_NAME: Final = {b.name: b for b in KV_BUCKETS}

_KEY: Final = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


class KVError(BusError):
    """A key-value operation failed (an invalid key, an unknown bucket, no connection)."""


class KeyExists(KVError):
    """``create``: the key exists already (someone else got there first)."""


class WrongRevision(KVError):
    """``update``: the key is not at the revision the caller last saw (someone else wrote)."""


@dataclass(frozen=True)
class Entry:
    """One key's value at one revision; ``deleted`` entries come from ``watch`` only."""

    key: str
    value: bytes
    revision: int
    deleted: bool = False


def _check_key(bucket: str, key: str) -> None:
    if not _KEY.match(key) or key.startswith(".") or key.endswith("."):
        raise KVError(f"bucket {bucket}: invalid key {key!r} (letters, digits and -/_=. only)")


def bucket_spec(name: str) -> BucketSpec:
    spec = BUCKET_BY_NAME.get(name)
    if spec is None:
        raise KVError(f"unknown bucket {name!r}; buckets: {', '.join(BUCKET_BY_NAME)}")
    return spec


class KeyValue(ABC):
    """One bucket. Values are bytes; every write returns the key's new revision."""

    def __init__(self, spec: BucketSpec) -> None:
        self.spec = spec
        self.bucket = spec.name

    @abstractmethod
    async def get(self, key: str) -> Entry | None:
        """The key's current value, or None if it was never set or is deleted."""

    @abstractmethod
    async def put(self, key: str, value: bytes) -> int:
        """Set the key whatever it holds."""

    @abstractmethod
    async def create(self, key: str, value: bytes) -> int:
        """Set the key only if it does not exist (or was deleted); :class:`KeyExists` if it does."""

    @abstractmethod
    async def update(self, key: str, value: bytes, last_revision: int) -> int:
        """Set the key only if it is still at ``last_revision``; :class:`WrongRevision` if not."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Delete the key (``get`` then gives None; ``create`` may set it again)."""

    @abstractmethod
    async def keys(self) -> list[str]:
        """Every key that holds a value now (deleted keys left out), in no particular order.

        Why besides ``watch``: a restarted executor lists the plans it had in flight once
        and is done; ``watch`` never says when the current values have all come."""

    @abstractmethod
    def watch(self, keys: str = ">") -> AsyncIterator[Entry]:
        """The current value of every key matching ``keys`` (a key, or a pattern with ``*`` and
        ``>``), then every change as it happens (deletes as entries with ``deleted`` set)."""


# ------------------------------------------------------------------------------ JetStream


def kv_config(spec: BucketSpec) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=spec.name,
        description=spec.description,
        history=spec.history,
        ttl=spec.ttl or None,
        storage=StorageType.FILE,
        replicas=1,
    )


async def ensure_buckets(js: JetStreamContext) -> list[str]:
    """Create the buckets of :data:`KV_BUCKETS` that do not exist; return what was created."""
    done = []
    for spec in KV_BUCKETS:
        try:
            await js.stream_info(f"KV_{spec.name}")
        except nats.js.errors.NotFoundError:
            await js.create_key_value(kv_config(spec))
            done.append(f"created bucket {spec.name}")
    return done


class JetStreamKeyValue(KeyValue):
    """A bucket on JetStream (nats-py's key-value API underneath, bound on first use)."""

    def __init__(self, js: JetStreamContext, spec: BucketSpec) -> None:
        super().__init__(spec)
        self._js = js
        self._kv: NatsKeyValue | None = None

    async def _bound(self) -> NatsKeyValue:
        if self._kv is None:
            try:
                self._kv = await self._js.key_value(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                raise KVError(
                    f"bucket {self.bucket} does not exist (ensure_streams creates it)"
                ) from None
        return self._kv

    async def _call(self, what: str, op: Callable[[NatsKeyValue], Awaitable[T]]) -> T:
        kv = await self._bound()
        try:
            return await op(kv)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise
        except (nats.errors.Error, TimeoutError) as exc:
            raise KVError(f"bucket {self.bucket}: {what} failed: {exc!r}") from None

    async def get(self, key: str) -> Entry | None:
        _check_key(self.bucket, key)

        async def op(kv: NatsKeyValue) -> Entry | None:
            try:
                e = await kv.get(key)
            except nats.js.errors.KeyNotFoundError:  # also KeyDeletedError
                return None
            return Entry(key, e.value or b"", int(e.revision or 0))

        return await self._call(f"get {key}", op)

    async def put(self, key: str, value: bytes) -> int:
        _check_key(self.bucket, key)
        return await self._call(f"put {key}", lambda kv: kv.put(key, value))

    async def create(self, key: str, value: bytes) -> int:
        _check_key(self.bucket, key)
        try:
            return await self._call(f"create {key}", lambda kv: kv.create(key, value))
        except nats.js.errors.KeyWrongLastSequenceError:
            raise KeyExists(f"bucket {self.bucket}: key {key!r} exists") from None

    async def update(self, key: str, value: bytes, last_revision: int) -> int:
        _check_key(self.bucket, key)
        try:
            return await self._call(
                f"update {key}", lambda kv: kv.update(key, value, last=last_revision)
            )
        except nats.js.errors.KeyWrongLastSequenceError:
            raise WrongRevision(
                f"bucket {self.bucket}: key {key!r} is no longer at revision {last_revision}"
            ) from None

    async def delete(self, key: str) -> None:
        _check_key(self.bucket, key)
        await self._call(f"delete {key}", lambda kv: kv.delete(key))

    async def keys(self) -> list[str]:
        """From the bucket's stream: the subjects it holds, each key's value read by name
        (deleted and purged keys left out).

        Not nats-py's key listing: its watcher can answer "no keys" for a bucket that holds
        some (its set-up races the first delivery; 1 listing in 400 on a busy machine), and
        a restarted executor that lists nothing in flight follows nothing.
        """
        prefix = f"$KV.{self.bucket}."

        async def op(kv: NatsKeyValue) -> list[str]:
            info = await self._js.stream_info(f"KV_{self.bucket}", subjects_filter=f"{prefix}>")
            live = []
            for subject in info.state.subjects or {}:
                key = subject[len(prefix) :]
                try:
                    await kv.get(key)
                except nats.js.errors.KeyNotFoundError:  # also KeyDeletedError: a tombstone
                    continue
                live.append(key)
            return live

        return await self._call("keys", op)

    async def watch(self, keys: str = ">") -> AsyncIterator[Entry]:
        watcher = await self._call(f"watch {keys}", lambda kv: kv.watch(keys))
        initial = True
        try:
            async for e in watcher:
                if e is None:  # the current values have all been delivered
                    initial = False
                    continue
                deleted = e.operation in ("DEL", "PURGE")
                if deleted and initial:
                    continue
                yield Entry(e.key, b"" if deleted else (e.value or b""), e.revision, deleted)
        finally:
            await watcher.stop()


# ------------------------------------------------------------------------------ memory


@dataclass
class _Cell:
    value: bytes
    revision: int
    deleted: bool
    written: float


class MemoryKeyValue(KeyValue):
    """A bucket in memory, for tests and backtests: same rules as JetStream's."""

    def __init__(self, spec: BucketSpec) -> None:
        super().__init__(spec)
        self._cells: dict[str, _Cell] = {}
        self._revision = 0
        self._watchers: list[tuple[str, asyncio.Queue[Entry]]] = []

    def _live(self, key: str) -> _Cell | None:
        cell = self._cells.get(key)
        if cell is None or cell.deleted:
            return None
        if self.spec.ttl and time.monotonic() - cell.written > self.spec.ttl:
            return None
        return cell

    def _write(self, key: str, value: bytes, deleted: bool = False) -> int:
        self._revision += 1
        self._cells[key] = _Cell(bytes(value), self._revision, deleted, time.monotonic())
        entry = Entry(key, b"" if deleted else bytes(value), self._revision, deleted)
        for pattern, queue in self._watchers:
            if subject_matches(pattern, key):
                queue.put_nowait(entry)
        return self._revision

    async def get(self, key: str) -> Entry | None:
        _check_key(self.bucket, key)
        cell = self._live(key)
        return None if cell is None else Entry(key, cell.value, cell.revision)

    async def put(self, key: str, value: bytes) -> int:
        _check_key(self.bucket, key)
        return self._write(key, value)

    async def create(self, key: str, value: bytes) -> int:
        _check_key(self.bucket, key)
        if self._live(key) is not None:
            raise KeyExists(f"bucket {self.bucket}: key {key!r} exists")
        return self._write(key, value)

    async def update(self, key: str, value: bytes, last_revision: int) -> int:
        _check_key(self.bucket, key)
        cell = self._cells.get(key)
        if (cell.revision if cell is not None else 0) != last_revision:
            raise WrongRevision(
                f"bucket {self.bucket}: key {key!r} is no longer at revision {last_revision}"
            )
        return self._write(key, value)

    async def delete(self, key: str) -> None:
        _check_key(self.bucket, key)
        self._write(key, b"", deleted=True)

    async def keys(self) -> list[str]:
        return [key for key in self._cells if self._live(key) is not None]

    async def watch(self, keys: str = ">") -> AsyncIterator[Entry]:
        queue: asyncio.Queue[Entry] = asyncio.Queue()
        for key in list(self._cells):
            cell = self._live(key)
            if cell is not None and subject_matches(keys, key):
                queue.put_nowait(Entry(key, cell.value, cell.revision))
        watcher = (keys, queue)
        self._watchers.append(watcher)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.remove(watcher)
