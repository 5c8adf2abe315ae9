"""Shared helpers of the kamino plugin tests: fixture reserves, variants, markets, the IDLs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from anchorpy import Idl
from anchorpy.coder.accounts import AccountsCoder
from anchorpy.coder.instruction import InstructionCoder
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_kamino.config import KaminoConfig, ReserveSetting
from lstarb_kamino.constants import KLEND_PROGRAM_ID
from lstarb_kamino.provider import KaminoFunding
from lstarb_kamino.state import LENDING_MARKET_DISCRIMINATOR, LENDING_MARKET_LEN
from lstarb_sdk.testing import load_account

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE = Path(__file__).parent / "oracle"
MAIN = "klend-reserve-sol-main-market.json"
JITO = "klend-reserve-sol-jito-market.json"
FEE_SF_OFFSET = 4904
WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")


@cache
def idl_raw(name: str = "klend.json") -> dict[str, Any]:
    return json.loads((FIXTURES / "idl" / name).read_text())


@cache
def _idl(name: str) -> Idl:
    return Idl.from_json((FIXTURES / "idl" / name).read_text())


def accounts_coder(name: str = "klend.json") -> AccountsCoder:
    return AccountsCoder(_idl(name))


def instruction_coder(name: str = "klend.json") -> InstructionCoder:
    return InstructionCoder(_idl(name))


@cache
def expected() -> dict[str, Any]:
    return json.loads((ORACLE / "expected_flash_loans.json").read_text())


@cache
def variants() -> dict[str, dict[str, Any]]:
    doc = json.loads((ORACLE / "variants.json").read_text())
    return {v["name"]: v for v in doc["variants"]}


def with_data(account: Account, data: bytes, owner: Pubkey | None = None) -> Account:
    return Account(
        lamports=account.lamports,
        data=data,
        owner=owner or account.owner,
        executable=account.executable,
        rent_epoch=account.rent_epoch,
    )


def reserve(fixture: str = MAIN) -> tuple[Pubkey, Account]:
    return load_account(FIXTURES / fixture)


def patched(account: Account, offset: int, raw: bytes) -> Account:
    data = bytearray(bytes(account.data))
    data[offset : offset + len(raw)] = raw
    return with_data(account, bytes(data))


def variant_reserve(name: str) -> tuple[Pubkey, Account]:
    v = variants()[name]
    key, acc = reserve(v["fixture"])
    if v["flash_loan_fee_sf"] is not None:
        acc = patched(acc, FEE_SF_OFFSET, int(v["flash_loan_fee_sf"]).to_bytes(8, "little"))
    return key, acc


def market_account(
    *, bump: int, referral_fee_bps: int = 0, emergency_mode: int = 0, version: int = 1
) -> Account:
    """A LendingMarket built field by field (no real dump is public); test_state proves the
    offsets with anchorpy."""
    data = bytearray(LENDING_MARKET_LEN)
    data[0:8] = LENDING_MARKET_DISCRIMINATOR
    data[8:16] = version.to_bytes(8, "little")
    data[16:24] = bump.to_bytes(8, "little")
    data[120:122] = referral_fee_bps.to_bytes(2, "little")
    data[122] = emergency_mode
    return Account(lamports=33_350_880, data=bytes(data), owner=KLEND_PROGRAM_ID)


def market_bump(market: Pubkey) -> int:
    return Pubkey.find_program_address([b"lma", bytes(market)], KLEND_PROGRAM_ID)[1]


def market_of(reserve_account: Account) -> Pubkey:
    return Pubkey.from_bytes(bytes(reserve_account.data)[32:64])


def loaded(
    *reserves: tuple[Pubkey, Account],
    config: KaminoConfig | None = None,
    clock: Any = None,
    **market_fields: int,
) -> KaminoFunding:
    """A provider configured for ``reserves`` (wSOL) and fed them plus their markets."""
    if config is None:
        config = KaminoConfig(
            reserves={
                str(WSOL): [
                    ReserveSetting(reserve=str(k), market=str(market_of(a))) for k, a in reserves
                ]
            }
        )
    provider = KaminoFunding(config) if clock is None else KaminoFunding(config, clock=clock)
    feed: dict[Pubkey, Account | None] = dict(reserves)
    for _, acc in reserves:
        m = market_of(acc)
        feed[m] = market_account(bump=market_bump(m), **market_fields)
    provider.update(feed)
    return provider
