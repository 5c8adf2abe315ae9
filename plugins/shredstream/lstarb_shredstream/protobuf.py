"""The proxy's stream item, ``shredstream.Entry {1: slot uint64, 2: entries bytes}``, read by
hand: two fields do not justify generated stubs and a protobuf runtime.

Unknown fields are skipped by wire type (a newer proxy may add some); a field of a known
number with the wrong wire type, a varint longer than ten bytes or a length past the end is
malformed. :func:`deserialize` is handed to grpcio as the response deserializer and never
raises: an exception there would end the whole stream, so a bad message becomes a
:class:`BadMessage` value that the source counts and skips.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstarb_shredstream.errors import MalformedInput

WHAT = "protobuf Entry"


@dataclass(frozen=True, slots=True)
class EntryMessage:
    """One deshredded batch: its slot and the bincode ``Vec<Entry>``."""

    slot: int
    entries: bytes


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message that did not parse, and why."""

    error: MalformedInput
    size: int


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    start = pos
    while True:
        if pos >= len(data):
            raise MalformedInput(WHAT, pos, f"a varint byte (varint began at {start})")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >> 64:
                raise MalformedInput(WHAT, start, "a varint of at most 64 bits")
            return value, pos
        shift += 7
        if shift >= 70:
            raise MalformedInput(WHAT, start, "a varint of at most 10 bytes")


def decode_entry(data: bytes) -> EntryMessage:
    """Parse one Entry message; raises :class:`MalformedInput` saying where and what."""
    slot, entries, pos, end = 0, b"", 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            if field == 1:
                slot = value
                continue
        elif wire == 2:
            length, start = _varint(data, pos)
            pos = start + length
            if pos > end:
                raise MalformedInput(WHAT, start, f"{length} bytes of field {field}")
            if field == 2:
                entries = data[start:pos]
                continue
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise MalformedInput(WHAT, end, f"a fixed-width value of field {field}")
        else:
            raise MalformedInput(WHAT, pos, f"a wire type 0, 1, 2 or 5 (got {wire})")
        if field in (1, 2):
            raise MalformedInput(WHAT, pos, f"field {field} with its own wire type (got {wire})")
    return EntryMessage(slot, entries)


def deserialize(data: bytes) -> EntryMessage | BadMessage:
    """grpcio's response deserializer: a parsed message, or what was wrong with it."""
    try:
        return decode_entry(data)
    except MalformedInput as exc:
        return BadMessage(exc, len(data))


def encode_varint(value: int) -> bytes:
    """The protobuf varint of a non-negative integer (for tests and the benchmark)."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_entry(slot: int, entries: bytes) -> bytes:
    """An Entry message as the proxy serializes it (a zero slot is omitted, as proto3 does)."""
    head = b"\x08" + encode_varint(slot) if slot else b""
    return head + b"\x12" + encode_varint(len(entries)) + entries
