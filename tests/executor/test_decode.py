"""Every transaction the executor builds decodes with solders, and every instruction in it
decodes with anchorpy against its program's IDL: the swap legs (official Orca and Raydium
IDLs), the Kamino flash borrow/repay pair (official klend IDL, the repay naming the borrow's
real index), and the envelope (System, Compute Budget, ATA, SPL Token, SPL stake pool: these
programs publish no Anchor IDL, so tests/executor/fixtures/idl holds IDLs transcribed from
their instruction definitions, each naming its source)."""

from __future__ import annotations

from typing import Any

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from lstarb_jito.submitter import JitoSubmitter
from lstarb_lst.stake_pool_math import deposit_sol
from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.transaction import (
    MAX_TRANSACTION_BYTES,
    BuiltTransaction,
    TransactionBuilder,
)
from lstarb_sdk.events import ExecutionPlanEvent
from lstarb_sdk.testing.idl import check_instruction

from .executor_testlib import (
    LOSING_TRIANGLE,
    STAKE_ROUND_TRIP,
    TABLE_KEY,
    TRIANGLE,
    idl,
    kamino,
    lookup_table_account,
    make_plan,
    market_book,
    route_table,
)

KLEND = Pubkey.from_string("KLend2g3cP87fffoy8q1mQqGKjrxjC8boSyAYavgmjD")  # its IDL names none
IDLS = {
    Pubkey.from_string(doc["address"]) if "address" in doc else KLEND: doc
    for doc in (
        idl(name)
        for name in (
            "whirlpool",
            "raydium_clmm",
            "klend",
            "system",
            "compute_budget",
            "associated_token",
            "spl_token",
            "spl_stake_pool",
        )
    )
}


def decompile(tx: VersionedTransaction, tables: LookupTables) -> list[Instruction]:
    """The transaction's instructions with every account resolved (static keys, then the
    lookup tables' writable and read-only entries) and its signer and writable flags."""
    message = tx.message
    static = list(message.account_keys)
    writable: list[Pubkey] = []
    readonly: list[Pubkey] = []
    for lookup in message.address_table_lookups:
        addresses = tables.get(lookup.account_key).addresses
        writable += [addresses[i] for i in bytes(lookup.writable_indexes)]
        readonly += [addresses[i] for i in bytes(lookup.readonly_indexes)]
    keys = static + writable + readonly
    h = message.header
    signers = h.num_required_signatures

    def is_writable(i: int) -> bool:
        if i < signers:
            return i < signers - h.num_readonly_signed_accounts
        if i < len(static):
            return i < len(static) - h.num_readonly_unsigned_accounts
        return i < len(static) + len(writable)

    return [
        Instruction(
            keys[ix.program_id_index],
            bytes(ix.data),
            [AccountMeta(keys[a], a < signers, is_writable(a)) for a in bytes(ix.accounts)],
        )
        for ix in message.instructions
    ]


def decoded(built: BuiltTransaction, tables: LookupTables) -> list[tuple[str, dict[str, Any]]]:
    """(instruction name, arguments) of each instruction; fails on any IDL disagreement.

    The IDLs are checked against the instructions as built (a compiled message keeps one set
    of flags per account, the union over its instructions); the transaction decoded from its
    bytes must then hold exactly those instructions, with at least those flags."""
    tx = VersionedTransaction.from_bytes(bytes(built.transaction))
    wire = decompile(tx, tables)
    assert len(wire) == len(built.assembly.instructions)
    for i, (ix, sent) in enumerate(zip(built.assembly.instructions, wire, strict=True)):
        assert (sent.program_id, bytes(sent.data)) == (ix.program_id, bytes(ix.data)), i
        assert [m.pubkey for m in sent.accounts] == [m.pubkey for m in ix.accounts], i
        for meta, got in zip(ix.accounts, sent.accounts, strict=True):
            assert got.is_signer >= meta.is_signer and got.is_writable >= meta.is_writable, i
    out = []
    for i, ix in enumerate(built.assembly.instructions):
        doc = IDLS.get(ix.program_id)
        assert doc is not None, f"instruction {i}: no IDL for program {ix.program_id}"
        spec, args, problems = check_instruction(doc, ix)
        assert spec is not None and not problems, f"instruction {i}: {problems}"
        out.append((spec.name, args))
    return out


def _built(
    plan: ExecutionPlanEvent, *, table: bool = True
) -> tuple[BuiltTransaction, LookupTables, Keypair]:
    book = market_book()
    wallet = Keypair()
    tables = LookupTables()
    extra = []
    if table:
        keys = route_table(
            TransactionBuilder(book, {"kamino": kamino()}, tables), plan, wallet.pubkey()
        )
        tables.add(TABLE_KEY, lookup_table_account(keys))
        extra = [TABLE_KEY]
    builder = TransactionBuilder(book, {"kamino": kamino()}, tables, extra_tables=extra)
    jito = JitoSubmitter(paper=True)
    tip = jito.tip_instruction(wallet.pubkey(), plan.tip_lamports) if plan.tip_lamports else None
    built = builder.build(plan, wallet, Hash.new_unique(), tip=tip, tip_lamports=plan.tip_lamports)
    return built, tables, wallet


@pytest.mark.parametrize("route", [TRIANGLE, LOSING_TRIANGLE], ids=["triangle", "reverse"])
def test_a_three_leg_flash_loan_bundle_decodes_instruction_by_instruction(
    route: tuple[Pubkey, ...],
) -> None:
    plan = make_plan(market_book(), route)
    built, tables, wallet = _built(plan)
    raw = bytes(built.transaction)
    assert len(raw) == built.size <= MAX_TRANSACTION_BYTES
    tx = VersionedTransaction.from_bytes(raw)
    assert tx == built.transaction and all(tx.verify_with_results())
    assert tx.message.account_keys[0] == wallet.pubkey()
    names = decoded(built, tables)
    swap_names = [name for name, _ in names[6:9]]
    assert [n for n, _ in names] == [
        "setComputeUnitLimit",
        "setComputeUnitPrice",
        "createIdempotent",  # the two non-SOL mints of the route
        "createIdempotent",
        "createIdempotent",  # the wSOL account the loan lands in
        "flashBorrowReserveLiquidity",
        *swap_names,
        "flashRepayReserveLiquidity",
        "closeAccount",  # unwrap what is left
        "transfer",  # the tip, last
    ]
    assert all(name.startswith("swap") for name in swap_names)
    args = [a for _, a in names]
    assert args[0]["units"] == plan.compute_unit_limit
    assert args[1]["micro_lamports"] == plan.compute_unit_price
    assert args[5]["liquidity_amount"] == plan.loan_amount
    assert args[9]["liquidity_amount"] == plan.loan_amount
    assert args[9]["borrow_instruction_index"] == 5 == built.assembly.borrow_index
    for leg, leg_args in zip(plan.legs, args[6:9], strict=True):
        assert leg_args["amount"] == leg.in_amount
        assert leg_args["other_amount_threshold"] == leg.min_out
    assert args[-1]["lamports"] == plan.tip_lamports
    tip_account = decompile(tx, tables)[-1].accounts[1].pubkey
    assert tip_account in JitoSubmitter(paper=True).tip_accounts()
    assert tip_account in tx.message.account_keys  # static, never through the table
    assert tx.message.address_table_lookups, "the route's accounts come from the table"


def test_the_same_plan_without_a_table_is_too_large() -> None:
    from lstarb_runtime.executor.transaction import BuildError

    with pytest.raises(BuildError, match=r"is \d+ bytes, above the 1232"):
        _built(make_plan(market_book(), TRIANGLE), table=False)


def test_a_stake_pool_leg_takes_native_sol_and_decodes() -> None:
    """SOL -> bSOL by DepositSolWithSlippage (native lamports of the wallet) -> SOL on Orca
    (wrapped): no wrap before the deposit, the wSOL account opened for the Orca output and
    closed at the end; a transaction for rpc, so no tip."""
    plan = make_plan(market_book(), STAKE_ROUND_TRIP, funding="", submitter="rpc", tip=0)
    built, tables, wallet = _built(plan, table=False)
    tx = VersionedTransaction.from_bytes(bytes(built.transaction))
    names = decoded(built, tables)
    assert [n for n, _ in names] == [
        "setComputeUnitLimit",
        "setComputeUnitPrice",
        "createIdempotent",  # bSOL
        "depositSolWithSlippage",
        "createIdempotent",  # wSOL, for the Orca output
        names[5][0],
        "closeAccount",
    ]
    assert names[5][0].startswith("swap")
    deposit = names[3][1]
    assert deposit["lamports_in"] == plan.amount_in
    # The program checks the minimum against the user's share alone; the referral share of
    # the deposit fee (the trader is the referrer) is minted to the same account on top.
    pool = market_book().pools[plan.legs[0].pool]
    referral = deposit_sol(pool.state, plan.amount_in, referrer_is_user=True).referral
    assert deposit["minimum_pool_tokens_out"] == plan.legs[0].min_out - referral
    lamports_from = decompile(tx, tables)[3].accounts[3]
    assert lamports_from.pubkey == wallet.pubkey() and lamports_from.is_signer
