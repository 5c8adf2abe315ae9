"""The executor's transactions run on solders.litesvm: compute budget, token account creation,
wrapping and unwrapping SOL (native SOL legs included), a flash loan around the swaps, the tip
last. Swaps and loans are SPL Token / System transfers (tests/executor/vault_pools.py), so
every balance afterwards is known to the lamport."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from lstarb_jito.submitter import JitoSubmitter
from lstarb_runtime.executor.instructions import priority_fee
from lstarb_runtime.executor.lookup_tables import LookupTables
from lstarb_runtime.executor.transaction import (
    TOKEN_ACCOUNT_RENT,
    BuiltTransaction,
    TransactionBuilder,
)
from lstarb_runtime.pool_book import PoolBook
from lstarb_sdk import FundingProvider
from lstarb_sdk.solana import TOKEN_PROGRAM_ID, WSOL_MINT, associated_token_address

from .executor_testlib import make_plan
from .vault_pools import VaultLender, VaultPool, pool_account

SOL = 10**9
TIP = 10_000
LITESVM_FEE = 5_000
"""What LiteSVM charges a one-signature transaction: the base fee only (it does not charge
the priority fee a validator does; the builder's fee, with the priority fee, is asserted
separately, and simnet charges it)."""
X_MINT = Pubkey.create_with_seed(Pubkey.default(), "x-mint", Pubkey.default())


def mint_account(decimals: int = 9, supply: int = 10**18) -> Account:
    data = bytearray(82)
    struct.pack_into("<QB?", data, 36, supply, decimals, True)
    return Account(1_461_600, bytes(data), TOKEN_PROGRAM_ID)


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> Account:
    data = bytearray(165)
    data[0:32], data[32:64] = bytes(mint), bytes(owner)
    struct.pack_into("<Q", data, 64, amount)
    data[108] = 1  # initialized
    lamports = TOKEN_ACCOUNT_RENT
    if mint == WSOL_MINT:  # a native account: is_native = Some(rent), lamports = rent + amount
        struct.pack_into("<IQ", data, 109, 1, TOKEN_ACCOUNT_RENT)
        lamports += amount
    return Account(lamports, bytes(data), TOKEN_PROGRAM_ID)


def amount_of(svm: LiteSVM, key: Pubkey) -> int:
    account = svm.get_account(key)
    assert account is not None, f"{key} does not exist"
    return int.from_bytes(bytes(account.data)[64:72], "little")


@dataclass
class Chain:
    """A LiteSVM with the wallet, the mints, the vault pools and the lender."""

    svm: LiteSVM
    wallet: Keypair
    book: PoolBook
    vaults: dict[str, Pubkey]
    pools: dict[str, Pubkey]
    tip_accounts: list[Pubkey]

    def lamports(self, key: Pubkey | None = None) -> int:
        return self.svm.get_balance(key or self.wallet.pubkey()) or 0


@pytest.fixture
def chain() -> Chain:
    svm = LiteSVM()
    wallet = Keypair()
    me = wallet.pubkey()
    svm.airdrop(me, 100 * SOL)
    svm.set_account(WSOL_MINT, mint_account(supply=0))
    svm.set_account(X_MINT, mint_account())
    vaults = {name: Pubkey.new_unique() for name in ("sol1", "x1", "x2", "sol2", "x3", "lend")}
    for name, key in vaults.items():
        mint = WSOL_MINT if name.startswith(("sol", "lend")) else X_MINT
        svm.set_account(key, token_account(mint, me, 50 * SOL))
    native_sol = Pubkey.new_unique()  # the native pool's SOL vault: a plain system account
    svm.airdrop(native_sol, SOL)
    pools = {
        "sol-x": pool_account(WSOL_MINT, X_MINT, vaults["sol1"], vaults["x1"], (2, 1)),
        "x-sol": pool_account(X_MINT, WSOL_MINT, vaults["x2"], vaults["sol2"], (51, 100)),
        "native": pool_account(WSOL_MINT, X_MINT, native_sol, vaults["x3"], (2, 1), native=True),
    }
    book = PoolBook([VaultPool], keep_unwanted=True)
    book.apply(WSOL_MINT, mint_account(supply=0), (1, 1))
    book.apply(X_MINT, mint_account(), (1, 1))
    keys = {}
    for name, account in pools.items():
        keys[name] = Pubkey.new_unique()
        book.apply(keys[name], account, (1, 1))
    tips = list(JitoSubmitter(paper=True).tip_accounts())
    for tip in tips:
        svm.airdrop(tip, SOL)  # tip accounts exist on chain (a new account needs rent)
    return Chain(svm, wallet, book, vaults, keys, tips)


def build(
    chain: Chain,
    route: tuple[str, ...],
    *,
    lender: FundingProvider | None = None,
    fee: int = 0,
    cu_limit: int = 300_000,
) -> BuiltTransaction:
    plan = make_plan(
        chain.book,
        tuple(chain.pools[name] for name in route),
        SOL,
        funding=lender.name if lender else "",
        loan_fee=fee,
        cu_limit=cu_limit,
        cu_price=10_000,
    )
    providers = {lender.name: lender} if lender else {}
    builder = TransactionBuilder(chain.book, providers, LookupTables())
    tip = JitoSubmitter(paper=True).tip_instruction(chain.wallet.pubkey(), TIP)
    return builder.build(
        plan, chain.wallet, chain.svm.latest_blockhash(), tip=tip, tip_lamports=TIP
    )


def run(chain: Chain, built: BuiltTransaction) -> None:
    outcome = chain.svm.send_transaction(built.transaction)
    assert hasattr(outcome, "compute_units_consumed"), f"failed: {outcome}"


def tip_paid(chain: Chain, before: dict[Pubkey, int]) -> int:
    return sum(chain.lamports(t) - before[t] for t in chain.tip_accounts)


def shape(built: BuiltTransaction) -> list[str]:
    """Each instruction as program:instruction (cb = compute budget, ata = create idempotent,
    pay/take = the swaps' and loan's token transfers, wrap = System transfer + SyncNative)."""
    names = {2: "limit", 3: "price"}
    message = built.transaction.message
    out = []
    for ix in message.instructions:
        program = message.account_keys[ix.program_id_index]
        data = bytes(ix.data)
        if str(program).startswith("ComputeBudget"):
            out.append(f"cb:{names[data[0]]}")
        elif str(program).startswith("ATokenGP"):
            out.append(
                "ata:" + ("wsol" if message.account_keys[ix.accounts[3]] == WSOL_MINT else "x")
            )
        elif program == TOKEN_PROGRAM_ID:
            out.append({3: "token:transfer", 9: "token:close", 17: "token:sync"}[data[0]])
        else:
            out.append("system:transfer")
    return out


SHAPES = {
    ("wrapped", False): "cb:limit cb:price ata:x ata:wsol system:transfer token:sync "
    "token:transfer token:transfer token:transfer token:transfer token:close system:transfer",
    ("native", False): "cb:limit cb:price ata:x system:transfer token:transfer "
    "ata:wsol token:transfer token:transfer token:close system:transfer",
    ("wrapped", True): "cb:limit cb:price ata:x ata:wsol token:transfer "
    "token:transfer token:transfer token:transfer token:transfer token:transfer "
    "token:close system:transfer",
    ("native", True): "cb:limit cb:price ata:x ata:wsol token:transfer token:close "
    "system:transfer token:transfer ata:wsol token:transfer token:transfer token:transfer "
    "token:close system:transfer",
}
"""Where the SOL is converted: own SOL wrapped before the legs; no wrap before a native leg;
a loan borrowed into the wSOL account, unwrapped (closed) before a native leg and the account
opened again for the wrapped output; the repay before the final close; the tip last."""


@pytest.mark.parametrize(
    ("route", "funded"),
    [
        (("sol-x", "x-sol"), False),  # wrap own SOL, two wrapped legs, unwrap
        (("native", "x-sol"), False),  # native SOL into the first leg, wrapped out of the last
        (("sol-x", "x-sol"), True),  # borrow into the wSOL account, repay from it
        (("native", "x-sol"), True),  # borrow, unwrap for a native leg, wrap back, repay
    ],
    ids=["wrapped", "native-leg", "flash-loan", "flash-loan-native-leg"],
)
def test_the_envelope_runs_and_moves_exactly_what_the_plan_says(
    chain: Chain, route: tuple[str, ...], funded: bool
) -> None:
    lender = VaultLender(chain.vaults["lend"], 1_000) if funded else None
    built = build(chain, route, lender=lender, fee=1_000 if funded else 0)
    plan_out = 2 * SOL * 9_950 // 10_000 * 51 // 100  # leg 2 swaps what leg 1 guarantees
    me = chain.wallet.pubkey()
    x_ata = associated_token_address(me, X_MINT)
    sol_ata = associated_token_address(me, WSOL_MINT)
    tips_before = {t: chain.lamports(t) for t in chain.tip_accounts}
    wallet_before = chain.lamports()
    lend_before = amount_of(chain.svm, chain.vaults["lend"])
    kind = "native" if route[0] == "native" else "wrapped"
    assert " ".join(shape(built)) == SHAPES[kind, funded]
    run(chain, built)
    assembly = built.assembly
    fee = 5_000 + priority_fee(300_000, 10_000, 0)
    assert assembly.fee_lamports == fee
    assert tip_paid(chain, tips_before) == TIP
    loan_cost = 1_000 if funded else 0
    # the wallet gains the route's output less the SOL that went in (its own, or the loan it
    # repaid), the loan fee, the fee, the tip and the rent of the new X account; the wSOL
    # account it opened (twice, around a native leg) is closed again, its rent back
    expected = plan_out - SOL - loan_cost - LITESVM_FEE - TIP - TOKEN_ACCOUNT_RENT
    assert chain.lamports() - wallet_before == expected
    assert chain.svm.get_account(sol_ata) is None or chain.lamports(sol_ata) == 0
    assert amount_of(chain.svm, x_ata) == 2 * SOL - 2 * SOL * 9_950 // 10_000  # the surplus
    if funded:
        assert amount_of(chain.svm, chain.vaults["lend"]) == lend_before + loan_cost
        message = built.transaction.message
        borrow = message.instructions[assembly.borrow_index or 0]
        assert message.account_keys[borrow.program_id_index] == TOKEN_PROGRAM_ID
        assert message.account_keys[borrow.accounts[0]] == chain.vaults["lend"]
    assert built.transaction.message.instructions[-1].data[:4] == bytes([2, 0, 0, 0])  # transfer
    tip_to = built.transaction.message.account_keys[
        built.transaction.message.instructions[-1].accounts[1]
    ]
    assert tip_to in chain.tip_accounts


def test_a_second_trade_reuses_the_token_account_without_paying_rent(chain: Chain) -> None:
    first = build(chain, ("sol-x", "x-sol"))
    run(chain, first)
    x_ata = associated_token_address(chain.wallet.pubkey(), X_MINT)
    chain.svm.expire_blockhash()
    second = build(chain, ("sol-x", "x-sol"))
    before = chain.lamports()
    run(chain, second)  # CreateIdempotent of an existing account: a no-op, no rent
    plan_out = 2 * SOL * 9_950 // 10_000 * 51 // 100
    assert chain.lamports() - before == plan_out - SOL - LITESVM_FEE - TIP
    assert amount_of(chain.svm, x_ata) == 2 * (2 * SOL - 2 * SOL * 9_950 // 10_000)


def test_a_leg_below_its_minimum_fails_the_whole_transaction(chain: Chain) -> None:
    built = build(chain, ("sol-x", "x-sol"))
    # the market moves: the X vault of the first pool cannot pay what the leg takes out
    me = chain.wallet.pubkey()
    chain.svm.set_account(chain.vaults["x1"], token_account(X_MINT, me, 10))
    before = chain.lamports()
    outcome = chain.svm.send_transaction(built.transaction)
    assert not hasattr(outcome, "compute_units_consumed")
    assert chain.lamports() - before == -LITESVM_FEE  # a failed transaction pays its fee
    assert chain.svm.get_account(associated_token_address(me, X_MINT)) is None  # rolled back


def test_the_compute_unit_limit_is_the_plans(chain: Chain) -> None:
    """The limit instruction is honoured: the same trade under a too small limit fails, and
    the limit and price are the plan's."""
    built = build(chain, ("sol-x", "x-sol"), cu_limit=3_000)
    outcome = chain.svm.send_transaction(built.transaction)
    assert "Computational budget exceeded" in " ".join(outcome.meta().logs()), outcome
    message = built.transaction.message
    limit, price = (bytes(ix.data) for ix in message.instructions[:2])
    assert limit == bytes([2]) + (3_000).to_bytes(4, "little")
    assert price == bytes([3]) + (10_000).to_bytes(8, "little")
