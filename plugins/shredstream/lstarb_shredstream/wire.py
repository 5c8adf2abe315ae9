"""A walker over Solana's transaction wire format: where a VersionedTransaction ends, and the
few things the source needs from it, without building solders objects.

Why by hand: inside a ShredStream batch a transaction has no length prefix, so its end is
only known by parsing it, and most transactions are votes that are dropped at once; building
a solders ``VersionedTransaction`` for each costs far more than reading a few offsets (see
``benchmarks/shredstream_decode.py``). The layout (all lengths compact-u16):

    signature count, 64 bytes each
    message: [version byte if & 0x80] header(3) key count, 32 bytes each; blockhash(32);
             instruction count, each: program index u8, account indexes, data;
             v0 only: lookup count, each: table(32), writable indexes, readonly indexes

Keys stay offsets into the buffer (:class:`RawTransaction`) until a transaction is kept.
"""

from __future__ import annotations

from typing import NamedTuple

from solders.pubkey import Pubkey
from solders.signature import Signature

from lstarb_shredstream.errors import MalformedInput

WHAT = "transaction"
VOTE_PROGRAM = bytes(Pubkey.from_string("Vote111111111111111111111111111111111111111"))
MIN_TRANSACTION_BYTES = 1 + 64 + 3 + 1 + 32 + 1
"""One signature, a legacy header, no key, the blockhash, no instruction."""


def compact_u16(buf: bytes, pos: int) -> tuple[int, int]:
    """A short_vec length: 1 to 3 bytes, 7 bits each, low first; only canonical encodings
    (as Solana's own decoder demands)."""
    end = len(buf)
    if pos >= end:
        raise MalformedInput(WHAT, pos, "a compact-u16 length")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    if pos + 1 >= end:
        raise MalformedInput(WHAT, pos + 1, "the second byte of a compact-u16")
    second = buf[pos + 1]
    if second < 0x80:
        if second == 0:
            raise MalformedInput(WHAT, pos, "a canonical compact-u16 (a zero last byte)")
        return (first & 0x7F) | second << 7, pos + 2
    if pos + 2 >= end:
        raise MalformedInput(WHAT, pos + 2, "the third byte of a compact-u16")
    third = buf[pos + 2]
    if third == 0 or third > 3:
        raise MalformedInput(WHAT, pos, "a compact-u16 below 65536 in canonical form")
    return (first & 0x7F) | (second & 0x7F) << 7 | third << 14, pos + 3


class RawTransaction(NamedTuple):
    """Where one transaction's parts are in ``buf``; decoded to solders types on demand.

    A named tuple, not a frozen dataclass: one is built per transaction walked, votes
    included, and a tuple is the cheapest immutable record to build."""

    buf: bytes
    start: int
    end: int
    signature_at: int
    """Offset of the first signature (there is always one: the fee payer's)."""
    keys_at: int
    key_count: int
    header: tuple[int, int, int]
    """num_required_signatures, num_readonly_signed, num_readonly_unsigned."""
    program_indexes: tuple[int, ...]
    """Each instruction's program index, in order (may repeat)."""
    tables_at: tuple[int, ...]
    """Offsets of the v0 address lookup table addresses."""

    def key(self, index: int) -> bytes:
        at = self.keys_at + 32 * index
        return self.buf[at : at + 32]

    def key_bytes(self) -> list[bytes]:
        buf, at = self.buf, self.keys_at
        return [buf[i : i + 32] for i in range(at, at + 32 * self.key_count, 32)]

    def is_vote(self) -> bool:
        """Any instruction calls the vote program (a vote transaction has one, alone)."""
        buf, at, count = self.buf, self.keys_at, self.key_count
        for index in self.program_indexes:  # a plain loop: this runs for every transaction
            if index < count and buf[at + 32 * index : at + 32 * index + 32] == VOTE_PROGRAM:
                return True
        return False

    def writable_indexes(self) -> list[int]:
        """Static keys the header marks writable: of the signers, all but the last
        ``num_readonly_signed``; of the others, all but the last ``num_readonly_unsigned``."""
        required, readonly_signed, readonly_unsigned = self.header
        count = self.key_count
        signers = min(required, count)
        signed = range(0, max(signers - readonly_signed, 0))
        unsigned = range(signers, max(count - readonly_unsigned, signers))
        return [*signed, *unsigned]

    def signature(self) -> Signature:
        return Signature.from_bytes(self.buf[self.signature_at : self.signature_at + 64])

    def signature_bytes(self) -> bytes:
        return self.buf[self.signature_at : self.signature_at + 64]

    def account_keys(self) -> tuple[Pubkey, ...]:
        return tuple(Pubkey.from_bytes(k) for k in self.key_bytes())

    def writable(self, keys: tuple[Pubkey, ...]) -> tuple[Pubkey, ...]:
        return tuple(keys[i] for i in self.writable_indexes())

    def program_ids(self, keys: tuple[Pubkey, ...]) -> tuple[Pubkey, ...]:
        """Programs called, in order of first call (an index past the static keys, which
        Solana's sanitizer refuses, is left out)."""
        count = len(keys)
        return tuple(keys[i] for i in dict.fromkeys(self.program_indexes) if i < count)

    def lookup_tables(self) -> tuple[Pubkey, ...]:
        return tuple(Pubkey.from_bytes(self.buf[at : at + 32]) for at in self.tables_at)


def _skip(buf: bytes, pos: int, size: int, count: int, what: str) -> int:
    end = pos + size * count
    if end > len(buf):
        raise MalformedInput(WHAT, pos, f"{count} {what} ({size * count} bytes)")
    return end


def walk_transaction(buf: bytes, pos: int) -> RawTransaction:
    """The transaction starting at ``pos``; ``.end`` is where the next one starts.

    Raises :class:`MalformedInput` (offset and what was expected) when the bytes end early,
    a length is not canonical, or the message version is not legacy or 0.

    Why two walks: the fast one reads one-byte lengths inline and checks the bounds once at
    the end (a read past the end raises IndexError); whenever it fails, the checked walk
    runs over the same bytes to say where and what. Well-formed input never pays for that.
    """
    try:
        raw = _walk_fast(buf, pos)
    except (IndexError, MalformedInput):
        return _walk_checked(buf, pos)
    if raw.end > len(buf):
        return _walk_checked(buf, pos)
    return raw


def _walk_fast(buf: bytes, pos: int) -> RawTransaction:
    start = pos
    n = buf[pos]
    pos = pos + 1 if n < 0x80 else compact_u16(buf, pos)[1]
    if n >= 0x80:
        n = compact_u16(buf, start)[0]
    if not n:
        raise MalformedInput(WHAT, start, "at least one signature")
    signature_at = pos
    pos += 64 * n
    versioned = buf[pos] & 0x80
    if versioned:
        if buf[pos] != 0x80:
            raise MalformedInput(WHAT, pos, "message version 0")
        pos += 1
    header = (buf[pos], buf[pos + 1], buf[pos + 2])
    pos += 3
    key_count = buf[pos]
    if key_count < 0x80:
        pos += 1
    else:
        key_count, pos = compact_u16(buf, pos)
    keys_at = pos
    pos += 32 * key_count + 32  # the keys, the recent blockhash
    n = buf[pos]
    if n < 0x80:
        pos += 1
    else:
        n, pos = compact_u16(buf, pos)
    programs = []
    for _ in range(n):
        programs.append(buf[pos])
        length = buf[pos + 1]
        if length < 0x80:
            pos += 2 + length
        else:
            length, pos = compact_u16(buf, pos + 1)
            pos += length
        length = buf[pos]
        if length < 0x80:
            pos += 1 + length
        else:
            length, pos = compact_u16(buf, pos)
            pos += length
    tables: list[int] = []
    if versioned:
        n, pos = compact_u16(buf, pos)
        for _ in range(n):
            tables.append(pos)
            length, pos = compact_u16(buf, pos + 32)
            length, pos = compact_u16(buf, pos + length)
            pos += length
    return RawTransaction(
        buf, start, pos, signature_at, keys_at, key_count, header, tuple(programs), tuple(tables)
    )


def _walk_checked(buf: bytes, pos: int) -> RawTransaction:
    """The walk with every bound checked, so a fault is reported where it is."""
    start = pos
    signatures, pos = compact_u16(buf, pos)
    if not signatures:
        raise MalformedInput(WHAT, start, "at least one signature (the fee payer's)")
    signature_at = pos
    pos = _skip(buf, pos, 64, signatures, "signatures")
    if pos >= len(buf):
        raise MalformedInput(WHAT, pos, "a message header or version byte")
    versioned = buf[pos] & 0x80
    if versioned:
        if buf[pos] != 0x80:
            raise MalformedInput(WHAT, pos, f"message version 0 (got {buf[pos] & 0x7F})")
        pos += 1
    if pos + 3 > len(buf):
        raise MalformedInput(WHAT, pos, "a 3-byte message header")
    header = (buf[pos], buf[pos + 1], buf[pos + 2])
    key_count, pos = compact_u16(buf, pos + 3)
    keys_at = pos
    pos = _skip(buf, pos, 32, key_count, "account keys")
    pos = _skip(buf, pos, 32, 1, "recent blockhash")
    instructions, pos = compact_u16(buf, pos)
    programs = []
    for _ in range(instructions):
        if pos >= len(buf):
            raise MalformedInput(WHAT, pos, "an instruction's program index")
        programs.append(buf[pos])
        accounts, pos = compact_u16(buf, pos + 1)
        pos = _skip(buf, pos, 1, accounts, "account indexes")
        data, pos = compact_u16(buf, pos)
        pos = _skip(buf, pos, 1, data, "bytes of instruction data")
    tables: list[int] = []
    if versioned:
        lookups, pos = compact_u16(buf, pos)
        for _ in range(lookups):
            tables.append(pos)
            pos = _skip(buf, pos, 32, 1, "lookup table address")
            writable, pos = compact_u16(buf, pos)
            pos = _skip(buf, pos, 1, writable, "writable lookup indexes")
            readonly, pos = compact_u16(buf, pos)
            pos = _skip(buf, pos, 1, readonly, "readonly lookup indexes")
    return RawTransaction(
        buf, start, pos, signature_at, keys_at, key_count, header, tuple(programs), tuple(tables)
    )
