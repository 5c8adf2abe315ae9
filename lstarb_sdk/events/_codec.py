"""A hand-written FlatBuffers codec driven by table specs that mirror ``schemas/*.fbs``.

Why: the official ``flatbuffers`` Python builder costs tens of microseconds per event; this
codec writes the same wire format (readable by flatc-generated code in any language) in a few.
It lays a buffer out front to back::

    [root uoffset][file identifier][vtable][pad][table inline][children ...]

Every table sits at ``pos % 8 == 4`` so its 8-byte fields (placed first, right after the 4-byte
vtable offset) are 8-aligned; strings and vectors are 4-aligned. A vector of tables shares one
vtable written just before its first element. All fields are written (defaults included), except
optional strings that are ``None``, whose vtable entry is 0 (absent).

Reading goes through :func:`read_root`, which bounds-checks every offset, vtable and length it
follows (the official runtime checks nothing) and raises :class:`DecodeError` on anything that
is not a well-formed buffer of the expected type.

What a decode may cost is bounded too: a buffer larger than :data:`MAX_EVENT_BYTES`, or a vector
of tables longer than its field's ``max_items``, is refused before anything is read. Why: the
elements of a FlatBuffers vector may all point at one shared table, so a 1 MB buffer can hold
250,000 "legs" that each cost a full table read (2.9 s before these bounds); with them the worst
buffer costs a few milliseconds. The encoder refuses the same vectors, so nothing we write is
refused by a reader.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, NamedTuple

from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError

Buffer = bytes | bytearray | memoryview

U8: Final = struct.Struct("<B")
U16: Final = struct.Struct("<H")
U32: Final = struct.Struct("<I")
I32: Final = struct.Struct("<i")
U64: Final = struct.Struct("<Q")
I64: Final = struct.Struct("<q")
F64: Final = struct.Struct("<d")
VT_HEAD: Final = struct.Struct("<HH")

MAX_DEPTH: Final = 8
MAX_EVENT_BYTES: Final = 16 * 2**20
"""Largest buffer a reader accepts: a Solana account (at most 10 MiB) and its envelope fit."""
MAX_TABLES: Final = 256
"""Default cap on the elements of one vector of tables (legs, metadata, labels)."""

# kind -> (struct format char, inline size)
_SCALARS: Final[dict[str, tuple[str, int]]] = {
    "bool": ("B", 1),
    "u8": ("B", 1),
    "u16": ("H", 2),
    "u32": ("I", 4),
    "u64": ("Q", 8),
    "i64": ("q", 8),
    "f64": ("d", 8),
}
_OFFSET_KINDS: Final = frozenset({"str", "optstr", "pubkey", "bytes", "tables", "kv"})


class KV(NamedTuple):
    """One KeyValue table (metadata entry, metric label)."""

    key: str
    value: str


class Field:
    """One field of a table: its schema id (declaration order) fixes its vtable slot."""

    __slots__ = (
        "default",
        "fid",
        "fmt",
        "kind",
        "max_items",
        "name",
        "offset",
        "size",
        "slot",
        "sub",
        "unpack",
        "write_default",
    )

    def __init__(
        self,
        name: str,
        kind: str,
        sub: TableSpec | None = None,
        default: Any = None,
        *,
        write_default: Any = None,
        max_items: int = MAX_TABLES,
    ) -> None:
        """``default`` is what an absent field reads as (the schema's default); a writer puts
        ``write_default`` (if given, else ``default``) when the object lacks the attribute.
        ``max_items`` caps a vector of tables, for writers and readers alike."""
        self.name = name
        self.kind = kind
        self.sub = sub
        self.max_items = max_items
        self.fid = -1
        self.slot = -1
        self.offset = -1
        if kind in _SCALARS:
            self.fmt, self.size = _SCALARS[kind]
            self.unpack = struct.Struct("<" + self.fmt).unpack_from
        elif kind in _OFFSET_KINDS:
            self.fmt, self.size = "I", 4
            self.unpack = U32.unpack_from
        else:
            raise ValueError(f"unknown field kind {kind!r}")
        if default is None:
            default = {
                "bool": False,
                "f64": 0.0,
                "str": "",
                "optstr": None,
                "pubkey": None,
                "bytes": b"",
                "tables": [],
                "kv": {},
            }.get(kind, 0)
        self.default = default
        self.write_default = default if write_default is None else write_default


class TableSpec:
    """The layout of one FlatBuffers table, computed once from its fields."""

    def __init__(self, name: str, fields: Sequence[Field], ident: bytes | None = None) -> None:
        if ident is not None and len(ident) != 4:
            raise ValueError("a file identifier has exactly 4 bytes")
        self.name = name
        self.ident = ident
        self.fields: tuple[Field, ...] = tuple(fields)
        self.by_name = {f.name: f for f in self.fields}
        self.names: tuple[str, ...] = tuple(f.name for f in self.fields)
        for i, f in enumerate(self.fields):
            f.fid = i
            f.slot = 4 + 2 * i
        # Largest first: with the table at pos % 8 == 4, everything is naturally aligned.
        self.inline_order: tuple[Field, ...] = tuple(sorted(self.fields, key=lambda f: -f.size))
        off = 4
        for f in self.inline_order:
            f.offset = off
            off += f.size
        self.inline_size = off
        self.struct = struct.Struct("<i" + "".join(f.fmt for f in self.inline_order))
        n = len(self.fields)
        self.vtable = struct.pack(
            f"<HH{n}H", 4 + 2 * n, self.inline_size, *(f.offset for f in self.fields)
        )
        self.optional = tuple(f for f in self.fields if f.kind == "optstr")
        if ident is not None:
            vt_end = 8 + len(self.vtable)
            self.root_pos = vt_end + (4 - vt_end) % 8
            self.prefix = (
                U32.pack(self.root_pos) + ident + self.vtable + bytes(self.root_pos - vt_end)
            )

    def __repr__(self) -> str:
        return f"TableSpec({self.name})"


# --------------------------------------------------------------------------- encoding


def _align(out: bytearray, n: int) -> None:
    pad = (-len(out)) % n
    if pad:
        out += bytes(pad)


def _write_str(out: bytearray, s: str) -> int:
    b = s.encode()
    _align(out, 4)
    pos = len(out)
    out += U32.pack(len(b))
    out += b
    out += b"\0"
    return pos


def _write_pubkey(out: bytearray, key: Any) -> int:
    b = bytes(key)
    if len(b) != 32:
        raise ValueError(f"a public key has 32 bytes, got {len(b)}")
    _align(out, 4)
    pos = len(out)
    out += U32.pack(32)
    out += b
    return pos


def _write_bytes(out: bytearray, data: Any) -> int:
    _align(out, 4)
    pos = len(out)
    out += U32.pack(len(data))
    out += data
    return pos


def _write_tables(out: bytearray, spec: TableSpec, items: Sequence[Any], f: Field) -> int:
    if len(items) > f.max_items:
        raise ValueError(f"{f.name} has {len(items)} elements, at most {f.max_items} allowed")
    _align(out, 4)
    vpos = len(out)
    n = len(items)
    out += U32.pack(n)
    out += bytes(4 * n)
    if n:
        vt = len(out)
        out += spec.vtable
        for i, item in enumerate(items):
            tpos, _ = _write_table(out, spec, item, vt)
            elem = vpos + 4 + 4 * i
            U32.pack_into(out, elem, tpos - elem)
    return vpos


def _write_table(
    out: bytearray, spec: TableSpec, obj: Any, vt_pos: int
) -> tuple[int, list[Field] | None]:
    """Write ``obj``'s table (vtable already at ``vt_pos``) and its children; return its pos."""
    pad = (4 - len(out)) % 8
    if pad:
        out += bytes(pad)
    tpos = len(out)
    out += bytes(spec.inline_size)
    values: list[Any] = [tpos - vt_pos]
    absent: list[Field] | None = None
    for f in spec.inline_order:
        v = getattr(obj, f.name, f.write_default)
        kind = f.kind
        if kind in _SCALARS:
            values.append(0 if v is None else v)
            continue
        if kind == "str":
            child = _write_str(out, v)
        elif kind == "pubkey":
            child = _write_pubkey(out, v)
        elif kind == "bytes":
            child = _write_bytes(out, v)
        elif kind == "optstr":
            if v is None:
                values.append(0)
                if absent is None:
                    absent = []
                absent.append(f)
                continue
            child = _write_str(out, v)
        elif kind == "tables":
            assert f.sub is not None
            child = _write_tables(out, f.sub, v, f)
        else:  # kv
            assert f.sub is not None
            items = v.items() if isinstance(v, Mapping) else v
            child = _write_tables(out, f.sub, [KV(k, x) for k, x in items], f)
        values.append(child - (tpos + f.offset))
    spec.struct.pack_into(out, tpos, *values)
    return tpos, absent


def encode_root(spec: TableSpec, obj: Any) -> bytes:
    """Encode ``obj`` (any object with the spec's field names as attributes) as a root table."""
    out = bytearray(spec.prefix)
    try:
        _, absent = _write_table(out, spec, obj, 8)
    except struct.error as exc:
        raise ValueError(f"cannot encode {spec.name}: {exc}") from None
    if absent:
        for f in absent:
            U16.pack_into(out, 8 + f.slot, 0)
    return bytes(out)


_WRITTEN_INLINE: Final = frozenset({"str", "optstr", "pubkey", "bytes"})
_PAD: Final = tuple(bytes(n) for n in range(4))
"""Zero bytes that bring a length to a multiple of 4, by ``-length % 4``."""
_PAD8: Final = tuple(bytes(n) for n in range(8))


def _child_lines(kind: str, i: int, v: str, at: str, absent: str | None, indent: str) -> list[str]:
    """Generated lines writing value ``v`` (a string, key or bytes) after the table and
    setting ``p{i}``, its offset from the field's position ``at``; ``absent``: the extra
    line for an optional string that is None (its offset is 0 either way)."""
    align = ["out += PAD[-len(out) % 4]"]
    if kind in ("str", "optstr"):
        lines = [
            f"b = {v}.encode()",
            *align,
            f"p{i} = len(out) - {at}",
            "out += u32(len(b))",
            "out += b",
            'out += b"\\0"',
        ]
        if kind == "optstr":
            none = [f"    p{i} = 0", *([f"    {absent}"] if absent else [])]
            lines = [f"if {v} is None:", *none, "else:", *("    " + x for x in lines)]
    elif kind == "pubkey":
        lines = [
            f"b = bytes({v})",
            "if len(b) != 32:",
            '    raise ValueError(f"a public key has 32 bytes, got {len(b)}")',
            *align,
            f"p{i} = len(out) - {at}",
            "out += LEN32",
            "out += b",
        ]
    else:  # bytes
        lines = [*align, f"p{i} = len(out) - {at}", f"out += u32(len({v}))", f"out += {v}"]
    return [indent + x for x in lines]


def compile_encoder(spec: TableSpec, fields: Collection[str]) -> Callable[[Any], bytes]:
    """A writer for one root table that produces exactly :func:`encode_root`'s bytes, faster.

    Why: the generic writer loops over the fields, asks each one's kind and looks each value up
    with ``getattr`` (on a pydantic model an absent name such as ``version`` goes through its
    ``__getattr__`` and an exception); the scanner encodes one or two events per account
    update on its publishing turn. This function is generated once per event class from the
    table spec: the values come from the instance's ``__dict__`` (``fields``: the names it
    holds; any other field of the spec is written as its ``write_default``, as ``getattr``
    with a default does), and every offset the layout fixes is a constant. Vectors of tables
    (legs, metadata) go through :func:`tables_writer`. An instance that lacks one of ``fields``
    in its ``__dict__`` is handed to :func:`encode_root`. Tests check the bytes are the same
    as :func:`encode_root`'s for every event type (``tests/events/test_compiled_encoder.py``).
    """
    if spec.ident is None:
        raise ValueError(f"{spec.name} is not a root table")
    root = spec.root_pos
    ns: dict[str, Any] = {
        "SPEC": spec,
        "PREFIX": spec.prefix,
        "ZEROS": bytes(spec.inline_size),
        "PAD": _PAD,
        "LEN32": U32.pack(32),
        "u32": U32.pack,
        "u16_into": U16.pack_into,
        "pack_into": spec.struct.pack_into,
        "encode_root": encode_root,
        "KV": KV,
        "Mapping": Mapping,
        "struct_error": struct.error,
    }
    read = []
    body = []
    values = [str(root - 8)]
    for i, f in enumerate(spec.inline_order):
        v = f"v{i}"
        if f.name in fields:
            read.append(f"        {v} = d[{f.name!r}]")
        else:
            ns[f"W{i}"] = f.write_default
            read.append(f"        {v} = W{i}")
        at = root + f.offset
        kind = f.kind
        if kind in _SCALARS:
            values.append(f"0 if {v} is None else {v}")
            continue
        if kind in _WRITTEN_INLINE:
            absent = f"u16_into(out, {8 + f.slot}, 0)"  # the vtable's entry: absent
            write = _child_lines(kind, i, v, str(at), absent, "        ")
        else:  # a vector of tables or key/values: a writer compiled for its table
            assert f.sub is not None
            ns[f"VEC{i}"] = tables_writer(f.sub, f)
            items = v
            if kind == "kv":
                body.append(f"        items = {v}.items() if isinstance({v}, Mapping) else {v}")
                items = "[KV(k, x) for k, x in items]"
            write = [f"        p{i} = VEC{i}(out, {items}) - {at}"]
        body.extend(write)
        values.append(f"p{i}")
    source = "\n".join(
        [
            "def encode(obj):",
            "    d = obj.__dict__",
            "    try:",
            *read,
            "    except KeyError:",
            "        return encode_root(SPEC, obj)",
            "    out = bytearray(PREFIX)",
            "    out += ZEROS",
            "    try:",
            *body,
            f"        pack_into(out, {root}, {', '.join(values)})",
            "    except struct_error as exc:",
            f'        raise ValueError(f"cannot encode {spec.name}: {{exc}}") from None',
            "    return bytes(out)",
        ]
    )
    exec(compile(source, f"<encoder of {spec.name}>", "exec"), ns)  # the text above, ours
    encoder: Callable[[Any], bytes] = ns["encode"]
    return encoder


def tables_writer(spec: TableSpec, f: Field) -> Callable[[bytearray, Sequence[Any]], int]:
    """A writer of ``f``'s vector of ``spec`` tables: :func:`_write_tables`'s bytes, faster.

    Why: an opportunity's legs and metadata, a plan's and a result's legs went through the
    generic writer, element by element and field by field (about 30 of an opportunity's 40
    µs to encode), on the path from an account update to a signed transaction. Each element
    is written by a function generated from ``spec`` (its values read with ``getattr`` and a
    default, as the generic writer reads them: the elements are models or :class:`KV`).
    """
    table = _table_writer(spec)
    vtable, most, name = spec.vtable, f.max_items, f.name
    u32, u32_into = U32.pack, U32.pack_into

    def write(out: bytearray, items: Sequence[Any]) -> int:
        n = len(items)
        if n > most:
            raise ValueError(f"{name} has {n} elements, at most {most} allowed")
        out += _PAD[-len(out) % 4]
        at = len(out)
        out += u32(n)
        out += bytes(4 * n)
        if n:
            vt = len(out)
            out += vtable
            for i, item in enumerate(items):
                elem = at + 4 + 4 * i
                u32_into(out, elem, table(out, item, vt) - elem)
        return at

    return write


def _table_writer(spec: TableSpec) -> Callable[[bytearray, Any, int], int]:
    """``write(out, obj, vt_pos) -> table position``, generated from ``spec``: the bytes of
    :func:`_write_table` (an optional string that is None is written as offset 0, the shared
    vtable left as it is, as the generic writer does inside a vector)."""
    ns: dict[str, Any] = {
        "PAD": _PAD,
        "PAD8": _PAD8,
        "ZEROS": bytes(spec.inline_size),
        "LEN32": U32.pack(32),
        "u32": U32.pack,
        "pack_into": spec.struct.pack_into,
    }
    lines = [
        "def write(out, obj, vt_pos):",
        "    out += PAD8[(4 - len(out)) % 8]",
        "    tpos = len(out)",
        "    out += ZEROS",
    ]
    values = ["tpos - vt_pos"]
    for i, f in enumerate(spec.inline_order):
        v = f"v{i}"
        ns[f"W{i}"] = f.write_default
        lines.append(f"    {v} = getattr(obj, {f.name!r}, W{i})")
        kind = f.kind
        if kind in _SCALARS:
            values.append(f"0 if {v} is None else {v}")
            continue
        if kind in _WRITTEN_INLINE:  # an absent optional string: offset 0, vtable shared
            write = _child_lines(kind, i, v, f"(tpos + {f.offset})", None, "    ")
        else:  # a vector inside a vector's table (no schema has one): the generic writer
            return lambda out, obj, vt_pos: _write_table(out, spec, obj, vt_pos)[0]
        lines.extend(write)
        values.append(f"p{i}")
    lines += [f"    pack_into(out, tpos, {', '.join(values)})", "    return tpos"]
    source = "\n".join(lines)
    exec(compile(source, f"<writer of {spec.name}>", "exec"), ns)  # the text above, ours
    writer: Callable[[bytearray, Any, int], int] = ns["write"]
    return writer


# --------------------------------------------------------------------------- decoding


def _fail(spec: TableSpec, what: str) -> DecodeError:
    return DecodeError(f"malformed {spec.name}: {what}")


def check_root(spec: TableSpec, buf: Buffer) -> int:
    """Check size and file identifier; return the root table's position."""
    n = len(buf)
    if n < 12:
        raise DecodeError(f"not a {spec.name}: {n} bytes is too short for a FlatBuffer")
    if n > MAX_EVENT_BYTES:
        raise DecodeError(f"{spec.name} of {n} bytes refused: larger than {MAX_EVENT_BYTES}")
    ident = bytes(buf[4:8])
    if ident != spec.ident:
        raise DecodeError(f"not a {spec.name}: file identifier {ident!r}, expected {spec.ident!r}")
    return int(U32.unpack_from(buf, 0)[0])


def table_header(spec: TableSpec, buf: Buffer, pos: int) -> tuple[int, int, int]:
    """Bounds-check a table at ``pos``; return (vtable pos, vtable length, inline length)."""
    n = len(buf)
    if pos % 4 or pos + 4 > n:
        raise _fail(spec, f"table offset {pos} out of bounds or misaligned")
    vt = pos - I32.unpack_from(buf, pos)[0]
    if vt < 0 or vt % 2 or vt + 4 > n:
        raise _fail(spec, f"vtable offset {vt} out of bounds")
    vtlen, tlen = VT_HEAD.unpack_from(buf, vt)
    if vtlen < 4 or vtlen % 2 or vt + vtlen > n or tlen < 4 or pos + tlen > n:
        raise _fail(spec, "vtable or table size out of bounds")
    return vt, vtlen, tlen


def read_string(spec: TableSpec, buf: Buffer, field_pos: int) -> str:
    n = len(buf)
    target = field_pos + U32.unpack_from(buf, field_pos)[0]
    if target % 4 or target + 4 > n:
        raise _fail(spec, "string offset out of bounds")
    end = target + 4 + U32.unpack_from(buf, target)[0]
    if end >= n or buf[end] != 0:
        raise _fail(spec, "string length out of bounds or not NUL-terminated")
    try:
        return str(buf[target + 4 : end], "utf-8")
    except UnicodeDecodeError:
        raise _fail(spec, "string is not UTF-8") from None


def read_pubkey(spec: TableSpec, buf: Buffer, field_pos: int) -> Pubkey:
    target = field_pos + U32.unpack_from(buf, field_pos)[0]
    if target % 4 or target + 36 > len(buf):
        raise _fail(spec, "public key offset out of bounds")
    if U32.unpack_from(buf, target)[0] != 32:
        raise _fail(spec, "a public key must have 32 bytes")
    return Pubkey.from_bytes(bytes(buf[target + 4 : target + 36]))


def read_bytes(spec: TableSpec, buf: Buffer, field_pos: int) -> bytes:
    target = field_pos + U32.unpack_from(buf, field_pos)[0]
    if target % 4 or target + 4 > len(buf):
        raise _fail(spec, "byte vector offset out of bounds")
    end = target + 4 + U32.unpack_from(buf, target)[0]
    if end > len(buf):
        raise _fail(spec, "byte vector length out of bounds")
    return bytes(buf[target + 4 : end])


def vector_elements(spec: TableSpec, buf: Buffer, field_pos: int, f: Field) -> tuple[int, int]:
    """Bounds-check a vector of offsets; return (first element pos, count)."""
    target = field_pos + U32.unpack_from(buf, field_pos)[0]
    if target % 4 or target + 4 > len(buf):
        raise _fail(spec, "vector offset out of bounds")
    count = U32.unpack_from(buf, target)[0]
    if count > f.max_items:
        raise _fail(spec, f"{f.name} has {count} elements, at most {f.max_items} allowed")
    if target + 4 + 4 * count > len(buf):
        raise _fail(spec, "vector length out of bounds")
    return target + 4, count


def read_field(
    spec: TableSpec, buf: Buffer, pos: int, vt: int, vtlen: int, tlen: int, f: Field, depth: int = 0
) -> Any:
    """Read one field of the checked table at ``pos``; its children are bounds-checked too."""
    o = U16.unpack_from(buf, vt + f.slot)[0] if f.slot < vtlen else 0
    if not o:
        if f.kind == "pubkey":
            raise _fail(spec, f"required field {f.name} is missing")
        d = f.default
        return d.copy() if isinstance(d, list | dict) else d
    if o < 4 or o + f.size > tlen:
        raise _fail(spec, f"field {f.name} lies outside its table")
    p = pos + o
    kind = f.kind
    if kind in _SCALARS:
        v = f.unpack(buf, p)[0]
        return v != 0 if kind == "bool" else v
    if kind == "str" or kind == "optstr":
        return read_string(spec, buf, p)
    if kind == "pubkey":
        return read_pubkey(spec, buf, p)
    if kind == "bytes":
        return read_bytes(spec, buf, p)
    return _read_vector(spec, f, buf, p, depth)


def read_table(spec: TableSpec, buf: Buffer, pos: int, depth: int = 0) -> dict[str, Any]:
    """Read every known field of the table at ``pos`` (checked) into a dict."""
    vt, vtlen, tlen = table_header(spec, buf, pos)
    if tlen == spec.inline_size and buf[vt : vt + vtlen] == spec.vtable:
        return _read_canonical(spec, buf, pos, depth)
    return {f.name: read_field(spec, buf, pos, vt, vtlen, tlen, f, depth) for f in spec.fields}


def _read_canonical(spec: TableSpec, buf: Buffer, pos: int, depth: int) -> dict[str, Any]:
    """A table laid out exactly as this SDK writes it: every inline value in one unpack.

    Why: the vtable matched ours byte for byte and the table's size was bounds-checked, so the
    inline part is known to be whole; only the offsets it holds (strings, keys, vectors) still
    need their own checks. Any other layout (an older writer, flatc's builder omitting
    defaults) takes the field-by-field path.
    """
    values = spec.struct.unpack_from(buf, pos)
    out: list[Any] = [None] * len(spec.names)
    for f, v in zip(spec.inline_order, values[1:], strict=True):
        kind = f.kind
        if kind in _SCALARS:
            out[f.fid] = v != 0 if kind == "bool" else v
        elif kind == "str" or kind == "optstr":
            out[f.fid] = read_string(spec, buf, pos + f.offset)
        elif kind == "pubkey":
            out[f.fid] = read_pubkey(spec, buf, pos + f.offset)
        elif kind == "bytes":
            out[f.fid] = read_bytes(spec, buf, pos + f.offset)
        else:
            out[f.fid] = _read_vector(spec, f, buf, pos + f.offset, depth)
    return dict(zip(spec.names, out, strict=True))  # declaration order, as the slow path


def _read_vector(spec: TableSpec, f: Field, buf: Buffer, p: int, depth: int) -> Any:
    sub = f.sub
    assert sub is not None
    if depth >= MAX_DEPTH:
        raise _fail(spec, "nested too deeply")
    first, count = vector_elements(spec, buf, p, f)
    items = []
    for i in range(count):
        e = first + 4 * i
        items.append(read_table(sub, buf, e + U32.unpack_from(buf, e)[0], depth + 1))
    if f.kind == "kv":
        return {kv["key"]: kv["value"] for kv in items}
    return items


def read_root(spec: TableSpec, buf: Buffer) -> dict[str, Any]:
    """Verify and read a whole root table; raise :class:`DecodeError` on anything malformed."""
    try:
        return read_table(spec, buf, check_root(spec, buf))
    except struct.error as exc:  # pragma: no cover - every read is bounds-checked first
        raise _fail(spec, str(exc)) from None
