"""The planner tests' real market: the bundled mainnet accounts, the stake pools with their
reserve and fee accounts and a second Orca bSOL pool (the lst plugin's market, whose sets
disagree on prices for real), scanned by the real scanner with the real lst strategies.

What a test gets: the tape (every ``AccountEvent`` the scanner published, in its order) and
the opportunities it published, from one scan per process; a fresh
:class:`~lstarb_runtime.planner.market.Market` fed that tape; a
:class:`~lstarb_runtime.planner.core.PlanEngine` over it with chosen settings.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

import lstarb_jito.plugin
import lstarb_kamino.plugin
import lstarb_lst.plugin
import lstarb_meteora.plugin
import lstarb_orca.plugin
import lstarb_pumpswap.plugin
import lstarb_raydium.plugin
from lstarb_kamino.config import KaminoConfig, ReserveSetting
from lstarb_kamino.constants import KLEND_PROGRAM_ID
from lstarb_kamino.provider import KaminoFunding
from lstarb_kamino.state import LENDING_MARKET_DISCRIMINATOR, LENDING_MARKET_LEN
from lstarb_runtime.builtin import replay
from lstarb_runtime.builtin.replay import ReplaySource, bundled_market, load_market
from lstarb_runtime.bus import Bus, Delivery, MemoryBus
from lstarb_runtime.config import Settings
from lstarb_runtime.planner.core import PlanEngine
from lstarb_runtime.planner.fees import PriorityFees
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.settings import PlannerSettings, RiskSettings
from lstarb_runtime.plugin_host import PluginHost
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import ServiceEnv
from lstarb_runtime.services.halt import HaltSwitch
from lstarb_runtime.services.scanner import Scanner
from lstarb_runtime.simnet.cp_pools import cp_pool, token_amount, with_token_amount
from lstarb_sdk import DataSource, PluginContext, Submitter, hookimpl
from lstarb_sdk.events import AccountEvent, OpportunityEvent
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.testing import load_account

FIXTURES = Path(__file__).parent / "fixtures"
EPOCH = 539  # JitoSOL's epoch in its dump: every stake pool is current (none is refused)
MARKET_SLOT = EPOCH * 432_000
MARKET_TIMESTAMP = 1_750_000_000
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
SOL = 10**9

FIRST_PARTY: tuple[tuple[str, object], ...] = (
    ("orca", lstarb_orca.plugin),
    ("raydium", lstarb_raydium.plugin),
    ("meteora", lstarb_meteora.plugin),
    ("pumpswap", lstarb_pumpswap.plugin),
    ("lst", lstarb_lst.plugin),
)
PLUGINS = ",".join(name for name, _ in FIRST_PARTY)
"""What a subprocess run selects (``--plugins``)."""


@cache
def market_accounts() -> dict[Pubkey, Account]:
    """Every account of the market (the Clock is the replay source's, at :data:`MARKET_SLOT`)."""
    accounts = load_market(bundled_market())
    accounts.update(load_market(FIXTURES / "bsol-usdc-ts64-2023"))
    accounts.update(load_market(FIXTURES / "lst-support"))
    return accounts


class Plugin:
    """A plugin object: the hooks given as keyword arguments."""

    LSTARB_SDK_API = "1.1"

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        for name, fn in hooks.items():
            setattr(self, name, hookimpl(fn))


def market_source() -> DataSource:
    return ReplaySource(market_accounts(), slot=MARKET_SLOT, unix_timestamp=MARKET_TIMESTAMP)


def host_for(*extra: tuple[str, object], source: bool = True) -> PluginHost:
    """The first-party DEX plugins and lst, the market as the data source, and ``extra``."""
    host = PluginHost()
    host.register_object("replay", replay).builtin = True
    for name, module in FIRST_PARTY:
        host.register_object(name, module)
    if source:
        host.register_object(
            "market", Plugin(lstarb_data_sources=lambda context: [market_source()])
        )
    for name, obj in extra:
        host.register_object(name, obj)
    return host


def env_for(
    bus: Bus,
    host: PluginHost,
    settings: Settings | None = None,
    lines: list[str] | None = None,
    paper: bool = True,
) -> ServiceEnv:
    out = lines if lines is not None else []
    return ServiceEnv(
        bus, host, PluginContext(paper=paper), settings or Settings(), HaltSwitch(), out.append
    )


async def read_all(bus: Bus, stream: str, durable: str, timeout: float = 5.0) -> list[Delivery]:
    """Everything ``stream`` holds now, in order (a durable of the caller's own)."""
    got: list[Delivery] = []

    async def handle(d: Delivery) -> None:
        got.append(d)

    consumer = await bus.consume(stream, durable, handle)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        states = {s.name: s for s in await bus.stream_states()}
        if states[stream].consumers.get(durable) == 0 and len(got) >= states[stream].messages:
            break
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    await consumer.stop()
    return got


async def scan_onto(bus: Bus, host: PluginHost | None = None) -> Scanner:
    scanner = Scanner(env_for(bus, host or host_for()))
    await scanner.start()
    await scanner.run()
    await scanner.stop()
    return scanner


@dataclass(frozen=True)
class Scan:
    tape: tuple[AccountEvent, ...]
    opportunities: tuple[OpportunityEvent, ...]


@cache
def scanned() -> Scan:
    """The scanner's tape and opportunities on the market (one scan per process)."""

    async def run() -> Scan:
        bus = MemoryBus()
        await bus.ensure_streams()
        await scan_onto(bus)
        tape = [d.event for d in await read_all(bus, "MARKET_DATA", "t")]
        opps = [d.event for d in await read_all(bus, "OPPORTUNITIES", "o")]
        await bus.close()
        return Scan(
            tuple(e for e in tape if isinstance(e, AccountEvent)),
            tuple(o for o in opps if isinstance(o, OpportunityEvent)),
        )

    with ThreadPoolExecutor(1) as pool:  # callers may be inside an event loop already
        return pool.submit(asyncio.run, run()).result()


# ---------------------------------------------------------------------------- Kamino


def kamino_reserve() -> tuple[Pubkey, Account]:
    """The real Main-market SOL reserve (flash_loan_fee_sf = 1e-5)."""
    return load_account(FIXTURES / "kamino" / "klend-reserve-sol-main-market.json")


def lending_market(market: Pubkey) -> Account:
    """A LendingMarket built field by field (no real dump is public; the kamino plugin's
    tests prove the offsets with anchorpy): version 1, its bump, no referral, no emergency."""
    data = bytearray(LENDING_MARKET_LEN)
    data[0:8] = LENDING_MARKET_DISCRIMINATOR
    bump = Pubkey.find_program_address([b"lma", bytes(market)], KLEND_PROGRAM_ID)[1]
    struct.pack_into("<QQ", data, 8, 1, bump)
    return Account(33_350_880, bytes(data), KLEND_PROGRAM_ID, False, 0)


def kamino_tape(slot: int, first_seq: int) -> list[AccountEvent]:
    """The reserve and its market as the tape carries them (the provider's accounts)."""
    key, reserve = kamino_reserve()
    market = Pubkey.from_bytes(bytes(reserve.data)[32:64])
    return [
        AccountEvent.from_account(key, reserve, slot=slot, seq=first_seq),
        AccountEvent.from_account(market, lending_market(market), slot=slot, seq=first_seq + 1),
    ]


def kamino_provider(max_amount: int | None = None) -> KaminoFunding:
    """The kamino plugin's provider for the Main-market SOL reserve (``max_amount``: a cap of
    our own on its loans, ``[plugins.kamino]``'s setting)."""
    key, reserve = kamino_reserve()
    market = Pubkey.from_bytes(bytes(reserve.data)[32:64])
    setting = ReserveSetting(reserve=str(key), market=str(market), max_amount=max_amount)
    return KaminoFunding(KaminoConfig(reserves={str(WSOL_MINT): [setting]}))


# ---------------------------------------------------------------------------- the engine


def strategies() -> list[tuple[str, Any]]:
    host = host_for()
    return host.collect("lstarb_strategies", lambda s: None, context=PluginContext())


def fresh_market(
    tape: Sequence[AccountEvent] | None = None, providers: Sequence[Any] = ()
) -> Market:
    host = host_for()
    market = Market(PoolBook.for_tape(host), strategies(), providers)  # as the planner
    market.apply_all(scanned().tape if tape is None else tape)
    return market


LOOSE_RISK: dict[str, Any] = {
    "min_profit_lamports": -(10**18),
    "max_loss_lamports": 10**18,
    "max_trade_lamports": 10**15,
    "min_trade_lamports": 1,
    "max_slippage_bps": 0,
    "max_age_slots": 10**9,
    "max_age_ms": 10**12,
    "max_pool_age_slots": 10**9,
    "max_fair_value_deviation_bps": 10**6,
    "max_price_impact_bps": 10_000,
    "max_reserve_share_bps": 10_000,
}
"""Limits that let every real opportunity through: a test tightens one factor at a time."""


def engine(
    market: Market | None = None,
    *,
    risk: dict[str, Any] | None = None,
    planner: dict[str, Any] | None = None,
    submitters: Sequence[Submitter] = (),
    providers: Sequence[Any] = (),
    capital: dict[Pubkey, int] | None = None,
) -> PlanEngine:
    settings = PlannerSettings.model_validate(planner or {})
    return PlanEngine(
        market or fresh_market(providers=providers),
        settings,
        RiskSettings.model_validate({**LOOSE_RISK, **(risk or {})}),
        fees=PriorityFees(settings),
        submitters=submitters,
        providers=providers,
        capital={WSOL_MINT: 10**15} if capital is None else capital,
    )


def jito_submitter() -> Submitter:
    return lstarb_jito.plugin.lstarb_submitters(PluginContext())[0]


def kamino_plugin() -> object:
    return lstarb_kamino.plugin


# ---------------------------------------------------------------------------- moving the market


def retaped(event: AccountEvent, slot: int, seq: int) -> AccountEvent:
    """The same account state put on the tape again at a later slot (the scanner's re-tape)."""
    return event.model_copy(update={"slot": slot, "seq": seq})


def traded(
    book: PoolBook, pool: Pubkey, input_mint: Pubkey, amount: int, *, slot: int, seq: int
) -> list[AccountEvent]:
    """Another trader's swap through a constant-product pool, as the chain records it: the two
    vaults' SPL amounts move by the adapter's quote (what simnet's market driver does)."""
    account = book.accounts[pool]
    assert account is not None
    cp = cp_pool(str(pool), str(account.owner), bytes(account.data))
    assert cp is not None, f"{pool} is not a constant-product pool"
    quote = book.quote(pool, amount, input_mint)
    into, out_of = (
        (cp.vault_a, cp.vault_b) if str(input_mint) == cp.mint_a else (cp.vault_b, cp.vault_a)
    )
    events = []
    for i, (vault, delta) in enumerate(((into, quote.in_amount), (out_of, -quote.out_amount))):
        key = Pubkey.from_string(vault)
        held = book.accounts[key]
        assert held is not None
        data = with_token_amount(bytes(held.data), token_amount(bytes(held.data)) + delta)
        changed = Account(held.lamports, data, held.owner, held.executable, 0)
        events.append(AccountEvent.from_account(key, changed, slot=slot, seq=seq + i))
    return events


def requoted(opp: OpportunityEvent, book: PoolBook, *, slot: int) -> OpportunityEvent:
    """The same cycle at the same size, as a strategy would report it on ``book``'s state."""
    legs = []
    amount = opp.legs[0].in_amount
    for leg in opp.legs:
        q = book.quote(leg.pool, amount, leg.input_mint)
        legs.append(
            leg.model_copy(
                update={"in_amount": amount, "out_amount": q.out_amount, "fee_amount": q.fee_amount}
            )
        )
        amount = q.out_amount
    return opp.model_copy(
        update={
            "id": f"{opp.id}@{slot}",
            "legs": tuple(legs),
            "slot": slot,
            "expected_profit": legs[-1].out_amount - legs[0].in_amount,
            "metadata": {**opp.metadata, "state": f"{opp.metadata.get('state', '')}@{slot}"},
        }
    )


def by_route(*dexes: str) -> OpportunityEvent:
    """The scanned opportunity whose legs are of these DEXes, in order."""
    for opp in scanned().opportunities:
        if tuple(leg.dex for leg in opp.legs) == dexes:
            return opp
    raise LookupError(f"no opportunity through {dexes}")


# ---------------------------------------------------------------------------- processes


def market_dir(tmp: Path) -> Path:
    """The test market as a directory the replay data source plays (copies of the JSON)."""
    root = tmp / "market"
    shutil.copytree(bundled_market(), root / "bundled")
    for name in ("bsol-usdc-ts64-2023", "lst-support"):
        shutil.copytree(FIXTURES / name, root / name)
    return root


def run_config(tmp: Path, url: str, market: Path, **risk: int) -> Path:
    loose = {
        "min_profit_lamports": -(10**18),
        "max_age_ms": 10**12,
        "max_fair_value_deviation_bps": 10**6,
        "max_price_impact_bps": 10_000,
        "max_reserve_share_bps": 10_000,
        "max_trade_lamports": 10**15,
        **risk,
    }
    path = tmp / "lstarb.toml"
    path.write_text(
        f'[nats]\nurl = "{url}"\nembedded = false\n\n'
        f'[plugins.replay]\npath = "{market}"\nslot = {MARKET_SLOT}\n'
        f"unix_timestamp = {MARKET_TIMESTAMP}\n\n"
        "[risk]\n" + "".join(f"{k} = {v}\n" for k, v in loose.items()) + "\n"
        f'[planner]\ncapital = {{ "{WSOL_MINT}" = {10**15} }}\n'
    )
    return path


def lstarb(config: Path, role: str, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    env["PYTHONUNBUFFERED"] = "1"
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstarb_runtime.cli",
            "run",
            "--role",
            role,
            "--plugins",
            PLUGINS,
            "--config",
            str(config),
            "--summary-json",
            str(tmp / f"{name}.json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def opportunity_stream(n: int) -> list[OpportunityEvent]:
    """The real profitable cycles at ``n`` sizes in all, each quoted on the real market."""
    book = fresh_market().book
    gaining = [o for o in scanned().opportunities if o.expected_profit > 10**6]
    out = []
    for k in range(n):
        base = gaining[k % len(gaining)]
        size = base.legs[0].in_amount * (1_000 - k // len(gaining)) // 1_000
        legs, amount = [], size
        for leg in base.legs:
            q = book.quote(leg.pool, amount, leg.input_mint)
            legs.append(
                leg.model_copy(
                    update={
                        "in_amount": amount,
                        "out_amount": q.out_amount,
                        "fee_amount": q.fee_amount,
                    }
                )
            )
            amount = q.out_amount
        out.append(
            base.model_copy(
                update={
                    "id": f"{base.id}-{size}",
                    "legs": tuple(legs),
                    "expected_profit": amount - size,
                    "metadata": {**base.metadata, "state": f"{base.metadata['state']}-{size}"},
                    "detected_ns": time.time_ns(),
                }
            )
        )
    return out
