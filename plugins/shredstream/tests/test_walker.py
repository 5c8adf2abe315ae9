"""The hand-written walkers against solders: the same ends, signatures, keys, writable sets,
programs and tables, over many random real transactions; and every malformed input refused
with a MalformedInput that says where, never an IndexError or a wrong answer."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shred_testlib import encode_entries, random_transaction, swap, vote, whirlpool_keys
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_shredstream.entries import walk_entries
from lstarb_shredstream.errors import MalformedInput
from lstarb_shredstream.protobuf import decode_entry, encode_entry, encode_varint
from lstarb_shredstream.wire import _walk_checked, compact_u16, walk_transaction


def header_writable(tx: VersionedTransaction) -> list[Pubkey]:
    """What solders' parsed header says is writable (the rule stated independently)."""
    message = tx.message
    header, keys = message.header, message.account_keys
    signed = header.num_required_signatures
    return [
        key
        for i, key in enumerate(keys)
        if (i < signed and i < signed - header.num_readonly_signed_accounts)
        or (i >= signed and i < len(keys) - header.num_readonly_unsigned_accounts)
    ]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.binary(max_size=80))
def test_the_walker_agrees_with_solders_on_random_transactions(seed: int, tail: bytes) -> None:
    tx = random_transaction(random.Random(seed))
    wire = bytes(tx)
    buf = b"\x07" * 5 + wire + tail  # inside a batch: bytes before and after it
    raw = walk_transaction(buf, 5)
    assert _walk_checked(buf, 5) == raw  # the walk that reports faults reads the same
    parsed = VersionedTransaction.from_bytes(buf[5:])  # solders accepts trailing bytes
    assert raw.end - 5 == len(bytes(parsed)) == len(wire)
    keys = raw.account_keys()
    message = parsed.message
    assert raw.signature() == parsed.signatures[0] == tx.signatures[0]
    assert list(keys) == list(message.account_keys)
    assert list(raw.writable(keys)) == header_writable(parsed)
    called = list(
        dict.fromkeys(message.account_keys[i.program_id_index] for i in message.instructions)
    )
    assert list(raw.program_ids(keys)) == called
    if isinstance(message, MessageV0):
        assert list(raw.lookup_tables()) == [t.account_key for t in message.address_table_lookups]
        for i, key in enumerate(keys):  # solders' own test, where no program demotion applies
            if not message.is_key_called_as_program(i):
                assert message.is_maybe_writable(i) == (key in raw.writable(keys))
    else:
        assert raw.lookup_tables() == ()
    assert not raw.is_vote()


def test_a_batch_walks_like_the_solders_loop_and_counts_ticks_and_votes() -> None:
    rng = random.Random(7)
    pool, vault_a, vault_b = whirlpool_keys()
    groups = [
        [random_transaction(rng) for _ in range(30)],
        [],
        [vote(), swap(Keypair(), pool, vault_a, vault_b), vote()],
        [],
        [swap(Keypair(), pool, vault_a, vault_b, v0=True)],
    ]
    buf = encode_entries(groups)
    batch = walk_entries(buf)
    assert (batch.entries, batch.ticks, batch.trailing) == (5, 2, 0)
    # the reference loop of the protocol notes: parse with solders, advance by its length
    expected, pos = [], 8
    for _ in groups:
        pos += 40
        count = int.from_bytes(buf[pos : pos + 8], "little")
        pos += 8
        for _ in range(count):
            tx = VersionedTransaction.from_bytes(buf[pos:])
            expected.append(tx.signatures[0])
            pos += len(bytes(tx))
    assert [t.signature() for t in batch.transactions] == expected
    assert [t.is_vote() for t in batch.transactions][30:] == [True, False, True, False]


def test_the_real_pool_keys_are_writable_in_a_swap() -> None:
    pool, vault_a, vault_b = whirlpool_keys()
    payer = Keypair()
    for v0 in (False, True):
        raw = walk_transaction(bytes(swap(payer, pool, vault_a, vault_b, v0=v0)), 0)
        keys = raw.account_keys()
        assert set(raw.writable(keys)) == {payer.pubkey(), pool, vault_a, vault_b}
        assert raw.program_ids(keys) == (
            Pubkey.from_string("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc"),
        )


def test_every_cut_of_a_batch_is_refused_with_where_and_what() -> None:
    rng = random.Random(3)
    buf = encode_entries([[random_transaction(rng), vote()], [], [random_transaction(rng)]])
    for cut in range(len(buf)):
        with pytest.raises(MalformedInput) as info:
            walk_entries(buf[:cut])
        assert 0 <= info.value.offset <= cut and info.value.expected


def test_counts_too_large_are_refused_before_any_loop() -> None:
    huge = (2**64 - 1).to_bytes(8, "little")
    with pytest.raises(MalformedInput, match="entry count that fits"):
        walk_entries(huge + b"\x00" * 100)
    tick_head = (1).to_bytes(8, "little") + b"\x00" * 40
    with pytest.raises(MalformedInput, match="transaction count that fits"):
        walk_entries(tick_head + huge + b"\x00" * 500)


def test_bad_compact_lengths_and_versions_are_refused() -> None:
    assert compact_u16(b"\xff\xff\x03", 0) == (0xFFFF, 3)
    assert compact_u16(b"\x80\x01", 0) == (128, 2)
    for bad in (b"\x80\x00", b"\xff\xff\x04", b"\x80\x80\x00", b"\x80", b""):
        with pytest.raises(MalformedInput):
            compact_u16(bad, 0)
    wire = bytearray(bytes(swap(Keypair(), *whirlpool_keys(), v0=True)))
    at = 1 + 64  # the version byte
    assert wire[at] == 0x80
    wire[at] = 0x81
    with pytest.raises(MalformedInput, match="message version 0"):
        walk_transaction(bytes(wire), 0)
    with pytest.raises(MalformedInput, match="at least one signature"):
        walk_transaction(b"\x00" + bytes(wire)[65:], 0)


def test_the_protobuf_reader_skips_unknown_fields_and_refuses_bad_bytes() -> None:
    entries = encode_entries([[]])
    good = encode_entry(42, entries)
    assert decode_entry(good).slot == 42 and decode_entry(good).entries == entries
    unknown = (
        b"\x18"
        + encode_varint(7)  # field 3, varint
        + b"\x21"
        + b"\x01" * 8  # field 4, fixed64
        + b"\x2a\x03abc"  # field 5, bytes
        + b"\x35"
        + b"\x02" * 4  # field 6, fixed32
    )
    assert decode_entry(unknown + good + unknown) == decode_entry(good)
    assert decode_entry(encode_entry(0, entries)).slot == 0  # proto3 omits a zero slot
    cases = {
        good[:-1]: "bytes of field 2",
        b"\x08" + b"\xff" * 11: "at most 10 bytes",
        b"\x08\xff": "a varint byte",
        b"\x0a\x00": "field 1 with its own wire type",
        b"\x10\x01": "field 2 with its own wire type",
        b"\x0b": "wire type 0, 1, 2 or 5",
        b"\x21\x01": "fixed-width value",
    }
    for data, expected in cases.items():
        with pytest.raises(MalformedInput, match=expected):
            decode_entry(data)
