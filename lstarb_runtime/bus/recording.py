"""Recordings of the MARKET_DATA stream: what ``lstarb record`` writes and ``replay`` plays.

A recording is a directory::

    MANIFEST.json        what it is: {"format": "lstarb-recording", "version": 1,
                         "stream": "MARKET_DATA", "data": "market_data.lsrec", "messages": N,
                         "account_events": A, "pool_states": P, "first_ns": ..., "last_ns": ...,
                         "nats_url": ..., "recorded_at": "<UTC ISO time>"}
    market_data.lsrec    the messages, in stream order

``market_data.lsrec`` starts with the 8 bytes ``LSREC001``; then one record per message: a
little-endian header ``<IQQH`` (data length, stream sequence, time in ns since the epoch at
which the server stored the message, subject length), the subject (UTF-8), and the message
data exactly as it was on the stream (a FlatBuffers event: the tape's ``AccountEvent`` or a
``PoolStateEvent``). Why binary: a minute of a busy tape is hundreds of thousands of account
updates of up to 10 KB each; base64 in JSON would add a third and cost a decode per event.
A recording cut short (the recorder was killed mid-write) keeps every whole record.
"""

from __future__ import annotations

import datetime
import json
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self

from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import AccountEvent, PoolStateEvent
from lstarb_sdk.events._codec import MAX_EVENT_BYTES

log = logging.getLogger("lstarb.bus.recording")

FORMAT: Final = "lstarb-recording"
VERSION: Final = 1
MANIFEST: Final = "MANIFEST.json"
DATA_FILE: Final = "market_data.lsrec"
MAGIC: Final = b"LSREC001"
_HEADER: Final = struct.Struct("<IQQH")


class RecordingError(LstarbError):
    """A recording cannot be written or read; the message names the path and what is wrong."""


@dataclass(frozen=True, slots=True)
class Record:
    """One message of a recording."""

    sequence: int
    time_ns: int
    subject: str
    data: bytes


@dataclass
class Manifest:
    """The counts and times of a recording (its MANIFEST.json)."""

    messages: int = 0
    account_events: int = 0
    pool_states: int = 0
    first_ns: int = 0
    last_ns: int = 0
    nats_url: str = ""
    stream: str = "MARKET_DATA"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "stream": self.stream,
            "data": DATA_FILE,
            "messages": self.messages,
            "account_events": self.account_events,
            "pool_states": self.pool_states,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "nats_url": self.nats_url,
            **self.extra,
        }


def is_recording(path: Path) -> bool:
    """Whether ``path`` is a directory ``lstarb record`` wrote (its manifest says so)."""
    try:
        doc = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


class RecordingWriter:
    """Writes a recording; a context manager that writes the manifest when it closes."""

    def __init__(self, out: Path, *, nats_url: str = "") -> None:
        self.out = out
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RecordingError(f"{out} exists and is not an empty directory; choose another")
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] | None = (out / DATA_FILE).open("wb")
        except OSError as exc:
            raise RecordingError(f"cannot write a recording to {out}: {exc}") from None
        self._file.write(MAGIC)
        self.manifest = Manifest(nats_url=nats_url)
        self.manifest.extra["recorded_at"] = datetime.datetime.now(datetime.UTC).isoformat()

    def write(self, record: Record) -> None:
        assert self._file is not None, "the recording is closed"
        subject = record.subject.encode()
        self._file.write(
            _HEADER.pack(len(record.data), record.sequence, record.time_ns, len(subject))
        )
        self._file.write(subject)
        self._file.write(record.data)
        m = self.manifest
        m.messages += 1
        ident = record.data[4:8]
        if ident == AccountEvent.FILE_IDENTIFIER:
            m.account_events += 1
        elif ident == PoolStateEvent.FILE_IDENTIFIER:
            m.pool_states += 1
        m.first_ns = m.first_ns or record.time_ns
        m.last_ns = record.time_ns

    def close(self) -> Manifest:
        if self._file is not None:
            self._file.close()
            self._file = None
            (self.out / MANIFEST).write_text(json.dumps(self.manifest.to_json(), indent=2) + "\n")
        return self.manifest

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads((path / MANIFEST).read_text())
    except OSError as exc:
        raise RecordingError(f"{path}: no readable {MANIFEST} ({exc.strerror})") from None
    except ValueError as exc:
        raise RecordingError(f"{path / MANIFEST} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RecordingError(f"{path / MANIFEST} does not describe a {FORMAT}")
    if doc.get("version") != VERSION:
        raise RecordingError(
            f"{path}: recording format version {doc.get('version')!r}, this lstarb reads {VERSION}"
        )
    return doc


def read_records(path: Path) -> Iterator[Record]:
    """The records of the recording at ``path``, in order (a cut-short tail is dropped)."""
    doc = read_manifest(path)
    data_path = path / str(doc.get("data") or DATA_FILE)
    try:
        raw = data_path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"cannot read {data_path}: {exc.strerror}") from None
    if raw[: len(MAGIC)] != MAGIC:
        raise RecordingError(f"{data_path} is not a recording (it does not start with {MAGIC!r})")
    pos, n = len(MAGIC), len(raw)
    while pos < n:
        if pos + _HEADER.size > n:
            log.warning("%s: a cut-short record at byte %d was dropped", data_path, pos)
            return
        length, seq, time_ns, subject_len = _HEADER.unpack_from(raw, pos)
        if length > MAX_EVENT_BYTES:
            raise RecordingError(
                f"{data_path}: record at byte {pos} claims {length} bytes, more than an event has"
            )
        start = pos + _HEADER.size
        end = start + subject_len + length
        if end > n:
            log.warning("%s: a cut-short record at byte %d was dropped", data_path, pos)
            return
        try:
            subject = raw[start : start + subject_len].decode()
        except UnicodeDecodeError:
            raise RecordingError(f"{data_path}: record at byte {pos}: garbled subject") from None
        yield Record(seq, time_ns, subject, raw[start + subject_len : end])
        pos = end
