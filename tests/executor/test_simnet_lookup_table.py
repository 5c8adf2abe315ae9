"""The embedded peer's lookup table: routes through Raydium CLMM and Meteora DLMM that are too
large with every key written out fit once compiled with it, and decode with solders."""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_jito.submitter import JitoSubmitter
from lstarb_runtime.executor.lookup_tables import LOOKUP_TABLE_PROGRAM_ID, LookupTables
from lstarb_runtime.executor.transaction import (
    MAX_TRANSACTION_BYTES,
    BuildError,
    BuiltTransaction,
    TransactionBuilder,
)
from lstarb_runtime.simnet import Simnet, SimnetConfig

from .executor_testlib import RAYDIUM_CLMM_SOL_USDC, kamino, make_plan, market_book
from .test_decode import decompile

METEORA_DLMM_SOL_USDC = Pubkey.from_string("5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6")
ROUTE = (RAYDIUM_CLMM_SOL_USDC, METEORA_DLMM_SOL_USDC)
"""SOL -> USDC (Raydium CLMM) -> SOL (Meteora DLMM), with a Kamino flash loan and a tip."""


def _peer_table() -> tuple[Pubkey, Account]:
    net = Simnet(SimnetConfig(port=0, slot_ms=0, lookup_table=True, seed=3))
    assert net.lookup_table is not None
    entry = net.store.get(net.lookup_table)
    assert entry is not None
    account = Account(
        entry.lamports, entry.data, Pubkey.from_string(entry.owner), entry.executable, 0
    )
    return Pubkey.from_string(entry.key), account


def _build(tables: LookupTables, extra: list[Pubkey]) -> tuple[BuiltTransaction, Keypair]:
    book = market_book()
    plan = make_plan(book, ROUTE)
    wallet = Keypair()
    builder = TransactionBuilder(book, {"kamino": kamino()}, tables, extra_tables=extra)
    tip = JitoSubmitter(paper=True).tip_instruction(wallet.pubkey(), plan.tip_lamports)
    built = builder.build(plan, wallet, Hash.new_unique(), tip=tip, tip_lamports=plan.tip_lamports)
    return built, wallet


def test_the_table_is_the_programs_layout_over_the_market() -> None:
    key, account = _peer_table()
    assert account.owner == LOOKUP_TABLE_PROGRAM_ID
    table = LookupTables()
    addresses = table.add(key, account).addresses  # decoded and checked active
    data = bytes(account.data)
    assert len(data) == 56 + 32 * len(addresses) and 100 < len(addresses) <= 256
    assert int.from_bytes(data[4:12], "little") == 2**64 - 1
    for pool in ROUTE:
        assert pool in addresses
    assert Pubkey.from_string("CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK") in addresses


def test_a_route_too_large_without_it_fits_with_it_and_decodes() -> None:
    with pytest.raises(BuildError, match=r"is \d+ bytes, above the 1232"):
        _build(LookupTables(), [])
    key, account = _peer_table()
    tables = LookupTables()
    tables.add(key, account)
    built, wallet = _build(tables, [key])
    raw = bytes(built.transaction)
    assert len(raw) == built.size <= MAX_TRANSACTION_BYTES
    tx = VersionedTransaction.from_bytes(raw)
    assert tx == built.transaction and all(tx.verify_with_results())
    assert [lookup.account_key for lookup in tx.message.address_table_lookups] == [key]
    wire = decompile(tx, tables)
    assert [(ix.program_id, bytes(ix.data)) for ix in wire] == [
        (ix.program_id, bytes(ix.data)) for ix in built.assembly.instructions
    ]
    for sent, ix in zip(wire, built.assembly.instructions, strict=True):
        assert [m.pubkey for m in sent.accounts] == [m.pubkey for m in ix.accounts]
    assert tx.message.account_keys[0] == wallet.pubkey()
