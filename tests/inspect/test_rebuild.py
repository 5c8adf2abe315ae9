"""The instructions ``lstarb explain`` shows are the executor's own: a flash-loaned triangle
(Kamino borrow and repay around three swaps), rebuilt from the plan on a tape of the market's
accounts through the real plugins, decoded, and compared with what the executor's builder
assembles for the same plan and wallet."""

from __future__ import annotations

from solders.pubkey import Pubkey

from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.transaction import TransactionBuilder
from lstarb_runtime.inspect.explain import rebuild_instructions
from lstarb_sdk import PluginContext
from lstarb_sdk.events import AccountEvent
from lstarb_sdk.solana import COMPUTE_BUDGET_PROGRAM_ID

from ..executor.executor_testlib import (
    TRIANGLE,
    executor_host,
    kamino,
    kamino_accounts,
    kamino_config,
    make_plan,
    market_accounts,
    market_book,
)


def _tape() -> list[AccountEvent]:
    accounts = {**market_accounts(), **kamino_accounts()}
    return [
        AccountEvent.from_account(key, account, slot=1, seq=i + 1)
        for i, (key, account) in enumerate(accounts.items())
    ]


def test_a_flash_loaned_triangle_is_rebuilt_as_the_executor_builds_it() -> None:
    book = market_book()
    plan = make_plan(book, TRIANGLE)
    assert plan.funding_provider == "kamino" and plan.loan_amount > 0
    payer = Pubkey.new_unique()
    host = executor_host(None)
    context = PluginContext(paper=True, plugin_configs={"kamino": kamino_config()})

    rows, problem = rebuild_instructions(plan, payer, _tape(), host, context)
    assert problem == ""

    expected = TransactionBuilder(book, {"kamino": kamino()}, LookupTables()).assemble(plan, payer)
    assert [(r["program"], r["accounts"], r["data_len"]) for r in rows] == [
        (str(ix.program_id), len(ix.accounts), len(bytes(ix.data))) for ix in expected.instructions
    ]
    names = [r["name"] for r in rows]
    assert names.count("flash borrow (kamino)") == 1 and names.count("flash repay (kamino)") == 1
    borrow, repay = names.index("flash borrow (kamino)"), names.index("flash repay (kamino)")
    swaps = [r for r in rows if r["name"].startswith("swap on")]
    assert [r["args"]["min_out"] for r in swaps] == [leg.min_out for leg in plan.legs]
    assert [r["program_name"] for r in swaps] == [leg.dex for leg in plan.legs]
    assert all(borrow < rows.index(s) < repay for s in swaps)
    units = [r["args"]["units"] for r in rows if r["name"] == "SetComputeUnitLimit"]
    assert units == [plan.compute_unit_limit]
    assert all(r["program"] != str(COMPUTE_BUDGET_PROGRAM_ID) for r in rows[borrow:])


def test_a_plan_whose_accounts_are_not_on_the_tape_says_why() -> None:
    plan = make_plan(market_book(), TRIANGLE)
    host = executor_host(None)
    context = PluginContext(paper=True, plugin_configs={"kamino": kamino_config()})
    rows, problem = rebuild_instructions(plan, Pubkey.new_unique(), [], host, context)
    assert rows == [] and problem.startswith("not rebuilt: ")
