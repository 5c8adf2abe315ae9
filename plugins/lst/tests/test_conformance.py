"""Every lst adapter passes the SDK's conformance kit on its real fixture accounts.

One run per program deployment: SPL stake pool (JitoSOL, bSOL, laineSOL),
Sanctum's multi-validator deployment (jupSOL), Sanctum's single-validator
deployment (pwrSOL) and Marinade (two State dumps). Where a law cannot apply
to these programs as they are, the run says why (``skip``), and the law runs
in the form that does apply:

- ``decode_contract`` runs without the manager fee account: WithdrawSol reads
  whatever bytes sit there and charges no fee when they are not a token
  account of the pool mint (test_oracle_quotes checks that case against the
  SDK), so bytes the kit would call broken are a state the program accepts;
- ``swap_instruction``: the SPL stake-pool program has no Anchor IDL, and
  both programs move native SOL from and to the trader's wallet (the kit
  expects token accounts on both sides) and Marinade's instructions carry no
  output bound; test_instructions checks every instruction account for
  account against the official SDKs' builders and Marinade's against its IDL;
- pwrSOL's withdrawals are permissioned (``sol_withdraw_authority``), so the
  quote laws have no LST -> SOL quote to check there; they run in full on the
  same pool with that authority cleared (synthetic, labelled below).
"""

from __future__ import annotations

from typing import Any

import pytest
from lst_testlib import clock, fixture, variants, with_data
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_lst.marinade import MarinadePool
from lstarb_lst.plugin import adapter_for
from lstarb_lst.stake_pool_state import decode_stake_pool
from lstarb_sdk.solana import SYSVAR_CLOCK_ID
from lstarb_sdk.testing import check_adapter

NATIVE_SOL = (
    "no Anchor IDL for the SPL stake-pool program; SOL moves natively from and to the trader's "
    "wallet: test_instructions checks the instructions against the official SDK's builders"
)
FEE_ACCOUNT = "run apart without the manager fee account, whose bad bytes mean 'no fee'"


def stake_pool_accounts(name: str) -> tuple[Pubkey, dict[Pubkey, Account | None]]:
    v = variants()[name]
    accounts: dict[Pubkey, Account | None] = {}
    for key in ("pool", "reserve", "manager_fee"):
        k, account = fixture(v[key])
        accounts[k] = account
    accounts[SYSVAR_CLOCK_ID] = clock(v["epoch"])
    return fixture(v["pool"])[0], accounts


def check_stake_pool(pool: Pubkey, accounts: dict[Pubkey, Account | None], **kit: Any) -> None:
    account = accounts[pool]
    assert account is not None
    cls = adapter_for(account)
    skip = {"decode_contract": FEE_ACCOUNT, "swap_instruction": NATIVE_SOL, **kit.pop("skip", {})}
    report = check_adapter(cls, pool, accounts, skip=skip, budget=120, **kit)
    assert all(r.checks for r in report.results if r.skipped is None)
    fee_account = decode_stake_pool(bytes(account.data)).manager_fee_account
    without_fee = {k: a for k, a in accounts.items() if k != fee_account}
    check_adapter(cls, pool, without_fee, laws=["decode_contract"])


@pytest.mark.parametrize(
    ("name", "program"),
    [
        ("jitosol", "spl-stake-pool"),
        ("bsol", "spl-stake-pool"),
        ("lainesol", "spl-stake-pool"),
        ("jupsol", "sanctum-spl-multi"),
    ],
)
def test_stake_pool(name: str, program: str) -> None:
    pool, accounts = stake_pool_accounts(name)
    account = accounts[pool]
    assert account is not None and adapter_for(account).dex == program
    check_stake_pool(pool, accounts)


def test_sanctum_single_validator_pool_as_it_is() -> None:
    pool, accounts = stake_pool_accounts("pwrsol")
    reason = "pwrSOL's WithdrawSol is permissioned: every LST -> SOL quote is refused"
    check_stake_pool(pool, accounts, skip={"quote_exact_in": reason, "quote_exact_out": reason})


def test_sanctum_single_validator_pool_with_open_withdrawals() -> None:
    """Synthetic: pwrSOL with ``sol_withdraw_authority`` cleared (Borsh None, tail shifted)."""
    pool, accounts = stake_pool_accounts("pwrsol")
    account = accounts[pool]
    assert account is not None
    data = bytes(account.data)
    authority = decode_stake_pool(data).sol_withdraw_authority
    assert authority is not None
    field = b"\x01" + bytes(authority)
    at = data.index(field)
    accounts[pool] = with_data(account, data[:at] + b"\x00" + data[at + 33 :] + bytes(32))
    assert decode_stake_pool(bytes(accounts[pool].data)).sol_withdraw_authority is None  # type: ignore[union-attr]
    check_stake_pool(pool, accounts)


@pytest.mark.parametrize("name", ["marinade", "marinade-2024"])
def test_marinade(name: str) -> None:
    v = variants()[name]
    accounts: dict[Pubkey, Account | None] = {}
    for key in ("state", "sol_leg", "msol_leg"):
        k, account = fixture(v[key])
        accounts[k] = account
    reason = (
        "deposit and liquid_unstake move native SOL from and to the trader's wallet and take no "
        "output bound: test_instructions checks them against Marinade's IDL and SDK"
    )
    report = check_adapter(
        MarinadePool,
        fixture(v["state"])[0],
        accounts,
        skip={"swap_instruction": reason},
        budget=120,
    )
    assert all(r.checks for r in report.results if r.skipped is None)
