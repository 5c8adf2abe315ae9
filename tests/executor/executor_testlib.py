"""Shared pieces of the executor tests: the real market in a pool book, plans sized on it the
way the planner sizes them, a Kamino provider fed a real reserve, IDLs."""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from solders.account import Account
from solders.pubkey import Pubkey

import lstarb_jito.plugin
import lstarb_kamino.plugin
import lstarb_lst.plugin
import lstarb_meteora.plugin
import lstarb_orca.plugin
import lstarb_pumpswap.plugin
import lstarb_raydium.plugin
import lstarb_rpc.plugin
from lstarb_kamino.config import KaminoConfig, ReserveSetting
from lstarb_kamino.constants import KLEND_PROGRAM_ID
from lstarb_kamino.provider import KaminoFunding
from lstarb_kamino.state import LENDING_MARKET_DISCRIMINATOR, LENDING_MARKET_LEN
from lstarb_runtime.builtin import paper as paper_plugin
from lstarb_runtime.builtin.replay import ReplaySource, bundled_market, load_market
from lstarb_runtime.bus import Bus, Delivery
from lstarb_runtime.config import RunSettings, Settings
from lstarb_runtime.executor.fingerprint import state_fingerprint
from lstarb_runtime.executor.lookup_tables import LOOKUP_TABLE_PROGRAM_ID
from lstarb_runtime.executor.settings import ExecutorSettings
from lstarb_runtime.executor.transaction import TransactionBuilder
from lstarb_runtime.planner.settings import PlannerSettings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_sdk import DataSource, ExecutionResult, PluginContext, PoolAdapter, hookimpl
from lstarb_sdk.events import AccountEvent, ExecutionPlanEvent, ExecutionResultEvent, LegEvent
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, WSOL_MINT, Clock
from lstarb_sdk.testing import load_account

FIXTURES = Path(__file__).parent / "fixtures"
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
SOL = WSOL_MINT
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
BSOL = Pubkey.from_string("bSo13r4TkiE4KumL71LsHTPpL2euBYLFx6h9HP3piy1")
ORCA_BSOL_SOL = Pubkey.from_string("8phK65jxmTPEN158xLgSr4oZvssw9SyTErpNZj3g7px4")
ORCA_BSOL_USDC = load_account(FIXTURES / "market/orca/bsol-usdc-ts64-2023/whirlpool.json")[0]
RAYDIUM_CLMM_SOL_USDC = Pubkey.from_string("CYbD9RaToYMtWKA7QZyoLahnHdWq553Vm62Lh6qWtuxq")
RAYDIUM_CPMM_SOL_USDC = Pubkey.from_string("7JuwJuNU88gurFnyWeiyGKbFmExMWcmRZntn9imEzdny")
BSOL_STAKE_POOL = Pubkey.from_string("stk9ApL5HeVAwPLr3TLhDXdZS8ptVu7zp6ov8HFDuMi")
BSOL_EPOCH = 802  # the fixture pool's last update: fresh at this epoch
MAIN_RESERVE_FILE = FIXTURES / "kamino" / "klend-reserve-sol-main-market.json"

TRIANGLE = (RAYDIUM_CLMM_SOL_USDC, ORCA_BSOL_USDC, ORCA_BSOL_SOL)
"""SOL -> USDC (Raydium CLMM) -> bSOL (Orca) -> SOL (Orca): three legs, two programs. The sets
were captured at different times, so the cycle returns about 1.37 SOL per SOL: it lands."""
LOSING_TRIANGLE = tuple(reversed(TRIANGLE))
"""The same pools the other way round: about 0.73 SOL per SOL, a flash loan it cannot repay."""
STAKE_ROUND_TRIP = (BSOL_STAKE_POOL, ORCA_BSOL_SOL)
"""SOL -> bSOL (stake pool DepositSol, native SOL) -> SOL (Orca, wrapped SOL)."""


def adapters() -> list[type[PoolAdapter]]:
    out: list[type[PoolAdapter]] = []
    for module in (
        lstarb_orca.plugin,
        lstarb_raydium.plugin,
        lstarb_meteora.plugin,
        lstarb_pumpswap.plugin,
        lstarb_lst.plugin,
    ):
        out.extend(module.lstarb_dex_adapters())
    return out


def clock_account(epoch: int = BSOL_EPOCH) -> Account:
    stamp = 1_750_000_000
    return Account(
        1_169_280, Clock(epoch * 432_000, stamp, epoch, epoch + 1, stamp).encode(), SYSVAR_OWNER
    )


@cache
def market_accounts() -> dict[Pubkey, Account]:
    """The bundled market, the Orca bSOL/USDC set and the bSOL stake pool's accounts."""
    accounts = load_market(bundled_market())
    accounts.update(load_market(FIXTURES / "market"))
    accounts[SYSVAR_CLOCK_ID] = clock_account()
    return accounts


def market_book(slot: int = 1) -> PoolBook:
    """A book holding the market, as a reader of the tape has it (every account at ``slot``)."""
    book = PoolBook(adapters(), keep_unwanted=True, states=False)
    for key, account in market_accounts().items():
        book.apply(key, account, (slot, 1))
    return book


def route_legs(
    book: PoolBook, pools: Sequence[Pubkey], amount: int, *, slippage_bps: int = 50
) -> tuple[LegEvent, ...]:
    """Legs of a cycle from SOL through ``pools``, quoted on ``book``, chained the way the
    planner chains them: each leg swaps what the one before guarantees (its min_out)."""
    legs = []
    mint, amount_in = SOL, amount
    for address in pools:
        pool = book.pools[address]
        quote = book.quote(address, amount_in, mint)
        min_out = quote.out_amount * (10_000 - slippage_bps) // 10_000
        legs.append(
            LegEvent(
                pool=address,
                dex=pool.dex,
                input_mint=mint,
                output_mint=pool.other_mint(mint),
                in_amount=amount_in,
                out_amount=quote.out_amount,
                fee_amount=quote.fee_amount,
                min_out=min_out,
            )
        )
        mint, amount_in = pool.other_mint(mint), min_out
    assert mint == SOL, "the route must return to SOL"
    return tuple(legs)


def make_plan(
    book: PoolBook,
    pools: Sequence[Pubkey] = TRIANGLE,
    amount: int = 1_000_000_000,
    *,
    plan_id: str = "plan-test-1",
    funding: str = "kamino",
    loan_fee: int = 10_000,
    submitter: str = "jito",
    tip: int = 10_000,
    slippage_bps: int = 50,
    cu_limit: int = 600_000,
    cu_price: int = 5_000,
    expiry_s: float = 60.0,
    **fields: Any,
) -> ExecutionPlanEvent:
    """A plan filled in as docs/executor.md tells the planner to."""
    legs = route_legs(book, pools, amount, slippage_bps=slippage_bps)
    now = time.time_ns()
    priority = -(-cu_limit * cu_price // 1_000_000)
    gross = legs[-1].out_amount - amount
    costs = 5_000 + priority + (tip if submitter == "jito" else 0)
    values: dict[str, Any] = dict(
        id=plan_id,
        opportunity_id=f"opp-{plan_id}",
        strategy="test-triangle",
        base_mint=SOL,
        legs=legs,
        amount_in=amount,
        min_out=legs[-1].min_out,
        expected_profit=gross - loan_fee - costs,
        tip_lamports=tip if submitter == "jito" else 0,
        funding_provider=funding,
        submitter=submitter,
        compute_unit_limit=cu_limit,
        compute_unit_price=cu_price,
        expiry_slot=0,
        risk_score=0.2,
        created_ns=now,
        max_loss_lamports=costs + max(0, amount + loan_fee - legs[-1].min_out) + 1,
        gross_profit=gross,
        base_fee_lamports=5_000,
        priority_fee_lamports=priority,
        loan_fee=loan_fee if funding else 0,
        loan_mint=SOL if funding else b"",
        loan_amount=amount if funding else 0,
        opportunity_slot=1,
        planned_slot=1,
        state_fingerprint=state_fingerprint(book, pools),
        confidence=0.9,
        slippage_bps=slippage_bps,
        expiry_ns=now + int(expiry_s * 1e9),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    values.update(fields)
    return ExecutionPlanEvent(**values)


def lending_market_account(market: Pubkey) -> Account:
    """A LendingMarket built field by field (no real dump is public; the kamino plugin's tests
    prove these offsets with anchorpy)."""
    bump = Pubkey.find_program_address([b"lma", bytes(market)], KLEND_PROGRAM_ID)[1]
    data = bytearray(LENDING_MARKET_LEN)
    data[0:8] = LENDING_MARKET_DISCRIMINATOR
    data[8:16] = (1).to_bytes(8, "little")
    data[16:24] = bump.to_bytes(8, "little")
    return Account(33_350_880, bytes(data), KLEND_PROGRAM_ID)


def kamino_accounts() -> dict[Pubkey, Account]:
    """The real Main-market SOL reserve and its (synthetic) lending market."""
    reserve_key, reserve = load_account(MAIN_RESERVE_FILE)
    market = Pubkey.from_bytes(bytes(reserve.data)[32:64])
    return {reserve_key: reserve, market: lending_market_account(market)}


def kamino_config() -> KaminoConfig:
    accounts = kamino_accounts()
    reserve_key, market = list(accounts)
    return KaminoConfig(
        reserves={str(SOL): [ReserveSetting(reserve=str(reserve_key), market=str(market))]}
    )


def kamino() -> KaminoFunding:
    provider = KaminoFunding(kamino_config())
    provider.update(kamino_accounts())
    return provider


@cache
def idl(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "idl" / f"{name}.json").read_text())
    return data


# -- lookup tables ------------------------------------------------------------------------------


def lookup_table_account(addresses: Sequence[Pubkey], authority: Pubkey | None = None) -> Account:
    """An active address lookup table holding ``addresses`` (the program's layout: a 56-byte
    header, then the keys)."""
    header = bytearray(56)
    struct.pack_into("<IQQB", header, 0, 1, 2**64 - 1, 0, 0)
    if authority is not None:
        header[21] = 1
        header[22:54] = bytes(authority)
    data = bytes(header) + b"".join(bytes(a) for a in addresses)
    return Account(1_000_000 + 32 * len(addresses), data, LOOKUP_TABLE_PROGRAM_ID)


def route_table(
    builder: TransactionBuilder, plan: ExecutionPlanEvent, payer: Pubkey
) -> list[Pubkey]:
    """Every account of the plan's instructions that a table may hold (not the payer, not an
    invoked program): what an operator puts in the table of the pools they trade."""
    assembly = builder.assemble(plan, payer)
    programs = {ix.program_id for ix in assembly.instructions}
    keys = {m.pubkey for ix in assembly.instructions for m in ix.accounts}
    return sorted((k for k in keys if k != payer and k not in programs), key=bytes)


TABLE_KEY = Pubkey.from_string("4sKLJ1Qoudh8PJyqBeuKocYdsZvxTcRShUt9aKqwhgvC")


# -- a whole executor on a bus ------------------------------------------------------------------


class FetchPlugin:
    """A plugin whose data source is the runtime's replay of these accounts (fetch only)."""

    LSTARB_SDK_API = "1.1"

    def __init__(self, accounts: dict[Pubkey, Account]) -> None:
        self.accounts = accounts

    @hookimpl
    def lstarb_data_sources(self, context: PluginContext) -> list[DataSource]:
        return [ReplaySource(self.accounts)]


class Observer:
    LSTARB_SDK_API = "1.1"

    def __init__(self) -> None:
        self.results: list[ExecutionResult] = []

    @hookimpl
    def lstarb_on_execution_result(self, result: ExecutionResult) -> None:
        self.results.append(result)


def executor_host(
    fetch: dict[Pubkey, Account] | None,
    observer: Observer | None = None,
    *,
    rpc: bool = False,
) -> PluginHost:
    """The plugins an executor uses; ``fetch``: accounts its data source can read (a replay),
    ``rpc``: the rpc plugin too (blockhashes, signature statuses, reads of the cluster)."""
    host = PluginHost()
    host.register_object("paper", paper_plugin).builtin = True
    modules: list[tuple[str, object]] = [
        ("orca", lstarb_orca.plugin),
        ("raydium", lstarb_raydium.plugin),
        ("lst", lstarb_lst.plugin),
        ("kamino", lstarb_kamino.plugin),
        ("jito", lstarb_jito.plugin),
    ]
    if rpc:
        modules.append(("rpc", lstarb_rpc.plugin))
    for name, module in modules:
        host.register_object(name, module)
    if fetch is not None:
        host.register_object("fetch", FetchPlugin(fetch))
    if observer is not None:
        host.register_object("observer", observer)
    return host


async def publish_market(bus: Bus, accounts: dict[Pubkey, Account], slot: int = 1) -> None:
    """The market as a scanner puts it on the tape."""
    for seq, (key, account) in enumerate(accounts.items(), 1):
        await bus.publish(
            AccountEvent.from_account(key, account, slot=slot, seq=seq, source="test")
        )


def settings(
    *, keypair: Path | None = None, planner: dict[str, Any] | None = None, **executor: Any
) -> Settings:
    return Settings(
        executor=ExecutorSettings(**executor),
        run=RunSettings(keypair=keypair, live=bool(keypair)),
        planner=PlannerSettings(**(planner or {})),
    )


def executor_env(
    bus: Bus,
    host: PluginHost,
    *,
    paper: bool = True,
    config: Settings | None = None,
    lines: list[str] | None = None,
    plugin_configs: dict[str, BaseModel] | None = None,
) -> ServiceEnv:
    configs: dict[str, BaseModel] = {"kamino": kamino_config(), **(plugin_configs or {})}
    context = PluginContext(paper=paper, role="executor", plugin_configs=configs)
    return ServiceEnv(bus, host, context, config or settings(), HaltSwitch(), (lines or []).append)


async def results_of(bus: Bus, count: int, *, timeout: float = 20.0) -> list[ExecutionResultEvent]:
    """The first ``count`` results on EXECUTED (a durable of the test's own)."""
    got: list[ExecutionResultEvent] = []
    arrived = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        assert isinstance(delivery.event, ExecutionResultEvent)
        got.append(delivery.event)
        if len(got) >= count:
            arrived.set()

    consumer = await bus.consume("EXECUTED", f"test-{time.monotonic_ns()}", handle)
    try:
        await asyncio.wait_for(arrived.wait(), timeout)
    finally:
        await consumer.stop()
    return got
