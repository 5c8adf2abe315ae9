"""Recordings of streams: what ``lstarb record`` writes and ``replay`` plays.

A recording is a directory::

    MANIFEST.json        what it is: {"format": "lstarb-recording", "version": 1,
                         "stream": "MARKET_DATA", "data": "market_data.lsrec", "messages": N,
                         "account_events": A, "pool_states": P, "first_ns": ..., "last_ns": ...,
                         "nats_url": ..., "recorded_at": "<UTC ISO time>",
                         "streams": {"<STREAM>": {"data": ..., "messages": ..., "first_ns": ...,
                                                  "last_ns": ...}, ...}}
    market_data.lsrec    the MARKET_DATA messages, in stream order
    opportunities.lsrec  another stream's messages (``lstarb record --stream OPPORTUNITIES``)

``stream`` and ``data`` name the first stream recorded (MARKET_DATA unless only others were);
``streams`` names them all, each in a file of its own.

``market_data.lsrec`` starts with the 8 bytes ``LSREC001``; then one record per message: a
little-endian header ``<IQQH`` (data length, stream sequence, time in ns since the epoch at
which the server stored the message, subject length), the subject (UTF-8), and the message
data exactly as it was on the stream (a FlatBuffers event: the tape's ``AccountEvent`` or a
``PoolStateEvent``). Why binary: a minute of a busy tape is hundreds of thousands of account
updates of up to 10 KB each; base64 in JSON would add a third and cost a decode per event.
A recording cut short (the recorder was killed mid-write) keeps every whole record.

Streams other than MARKET_DATA are written with the headers a consumer needs again (the
``traceparent`` of an opportunity, whose plan continues its trace): such a file starts with
``LSREC002`` and each record's header is ``<IQQHH`` (the fifth field: the length of the
headers, JSON, written after the subject). MARKET_DATA files keep the ``LSREC001`` layout.
"""

from __future__ import annotations

import datetime
import json
import logging
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from lstarb_runtime.closing import Closing
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import AccountEvent, PoolStateEvent
from lstarb_sdk.events._codec import MAX_EVENT_BYTES

log = logging.getLogger("lstarb.bus.recording")

FORMAT: Final = "lstarb-recording"
VERSION: Final = 1
MANIFEST: Final = "MANIFEST.json"
DATA_FILE: Final = "market_data.lsrec"
MAGIC: Final = b"LSREC001"
MAGIC_WITH_HEADERS: Final = b"LSREC002"
MARKET_DATA: Final = "MARKET_DATA"
_HEADER: Final = struct.Struct("<IQQH")
_HEADER2: Final = struct.Struct("<IQQHH")
KEPT_HEADERS: Final = ("traceparent", "Nats-Msg-Id")
"""Headers a recording keeps (of streams other than MARKET_DATA)."""


def data_file(stream: str) -> str:
    """The file a stream's messages are written to."""
    return DATA_FILE if stream == MARKET_DATA else f"{stream.lower()}.lsrec"


class RecordingError(LstarbError):
    """A recording cannot be written or read; the message names the path and what is wrong."""


@dataclass(frozen=True, slots=True)
class Record:
    """One message of a recording."""

    sequence: int
    time_ns: int
    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Manifest:
    """The counts and times of a recording (its MANIFEST.json)."""

    messages: int = 0
    account_events: int = 0
    pool_states: int = 0
    first_ns: int = 0
    last_ns: int = 0
    nats_url: str = ""
    stream: str = MARKET_DATA
    extra: dict[str, Any] = field(default_factory=dict)
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per stream: its data file, messages, first and last time."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "stream": self.stream,
            "data": data_file(self.stream),
            "messages": self.messages,
            "account_events": self.account_events,
            "pool_states": self.pool_states,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "nats_url": self.nats_url,
            **self.extra,
            "streams": self.streams,
        }


def is_recording(path: Path) -> bool:
    """Whether ``path`` is a directory ``lstarb record`` wrote (its manifest says so)."""
    try:
        doc = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


class RecordingWriter(Closing):
    """Writes a recording; a context manager that writes the manifest when it closes.

    ``streams``: the streams it holds (MARKET_DATA by default), each in a file of its own.
    """

    def __init__(
        self, out: Path, *, nats_url: str = "", streams: Sequence[str] = (MARKET_DATA,)
    ) -> None:
        self.out = out
        if not streams:
            raise RecordingError("a recording holds at least one stream")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RecordingError(f"{out} exists and is not an empty directory; choose another")
        self._files: dict[str, IO[bytes]] = {}
        try:
            out.mkdir(parents=True, exist_ok=True)
            for stream in streams:
                self._files[stream] = (out / data_file(stream)).open("wb")
        except OSError as exc:
            for f in self._files.values():
                f.close()
            raise RecordingError(f"cannot write a recording to {out}: {exc}") from None
        for stream, f in self._files.items():
            f.write(MAGIC if stream == MARKET_DATA else MAGIC_WITH_HEADERS)
        self.manifest = Manifest(nats_url=nats_url, stream=streams[0])
        self.manifest.streams = {
            s: {"data": data_file(s), "messages": 0, "first_ns": 0, "last_ns": 0} for s in streams
        }
        self.manifest.extra["recorded_at"] = datetime.datetime.now(datetime.UTC).isoformat()
        self._closed = False

    def write(self, record: Record, stream: str = MARKET_DATA) -> None:
        assert not self._closed, "the recording is closed"
        file = self._files.get(stream)
        if file is None:
            raise RecordingError(f"this recording does not hold stream {stream}")
        subject = record.subject.encode()
        if stream == MARKET_DATA:
            file.write(
                _HEADER.pack(len(record.data), record.sequence, record.time_ns, len(subject))
            )
            file.write(subject)
        else:
            kept = {k: v for k, v in record.headers.items() if k in KEPT_HEADERS}
            headers = json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()
            file.write(
                _HEADER2.pack(
                    len(record.data), record.sequence, record.time_ns, len(subject), len(headers)
                )
            )
            file.write(subject)
            file.write(headers)
        file.write(record.data)
        entry = self.manifest.streams[stream]
        entry["messages"] += 1
        entry["first_ns"] = entry["first_ns"] or record.time_ns
        entry["last_ns"] = record.time_ns
        if stream != self.manifest.stream:
            return
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
        if not self._closed:
            self._closed = True
            for f in self._files.values():
                f.close()
            (self.out / MANIFEST).write_text(json.dumps(self.manifest.to_json(), indent=2) + "\n")
        return self.manifest


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


def recorded_streams(path: Path) -> list[str]:
    """The streams a recording holds (a MARKET_DATA recording of before ``streams``: that)."""
    doc = read_manifest(path)
    streams = doc.get("streams")
    if isinstance(streams, dict) and streams:
        return [str(s) for s in streams]
    return [str(doc.get("stream") or MARKET_DATA)]


def read_records(path: Path, stream: str = MARKET_DATA) -> Iterator[Record]:
    """The records of ``stream`` in the recording at ``path``, in order (a cut-short tail is
    dropped). RecordingError when the recording does not hold the stream."""
    doc = read_manifest(path)
    streams = doc.get("streams")
    if isinstance(streams, dict) and streams:
        entry = streams.get(stream)
        if not isinstance(entry, dict):
            raise RecordingError(
                f"{path} holds no {stream} (it holds {', '.join(map(str, streams))})"
            )
        name = str(entry.get("data") or data_file(stream))
    elif stream == str(doc.get("stream") or MARKET_DATA):
        name = str(doc.get("data") or DATA_FILE)
    else:
        raise RecordingError(f"{path} holds no {stream} (it holds {doc.get('stream')})")
    data_path = path / name
    try:
        raw = data_path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"cannot read {data_path}: {exc.strerror}") from None
    magic = raw[: len(MAGIC)]
    if magic not in (MAGIC, MAGIC_WITH_HEADERS):
        raise RecordingError(f"{data_path} is not a recording (it does not start with {MAGIC!r})")
    layout = _HEADER if magic == MAGIC else _HEADER2
    pos, n = len(MAGIC), len(raw)
    while pos < n:
        if pos + layout.size > n:
            log.warning("%s: a cut-short record at byte %d was dropped", data_path, pos)
            return
        fields = layout.unpack_from(raw, pos)
        length, seq, time_ns, subject_len = fields[:4]
        headers_len = fields[4] if len(fields) > 4 else 0
        if length > MAX_EVENT_BYTES:
            raise RecordingError(
                f"{data_path}: record at byte {pos} claims {length} bytes, more than an event has"
            )
        start = pos + layout.size
        end = start + subject_len + headers_len + length
        if end > n:
            log.warning("%s: a cut-short record at byte %d was dropped", data_path, pos)
            return
        try:
            subject = raw[start : start + subject_len].decode()
            headers = (
                json.loads(raw[start + subject_len : start + subject_len + headers_len])
                if headers_len
                else {}
            )
        except (UnicodeDecodeError, ValueError):
            raise RecordingError(
                f"{data_path}: record at byte {pos}: garbled subject or headers"
            ) from None
        if not isinstance(headers, dict):
            raise RecordingError(f"{data_path}: record at byte {pos}: headers are not an object")
        yield Record(seq, time_ns, subject, raw[start + subject_len + headers_len : end], headers)
        pos = end
