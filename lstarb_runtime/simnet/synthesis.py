"""Accounts the served dumps lack but a pool reads, made up by stated rules at load time.

Public dumps of a pool rarely come with every account around it: Orca's ledger snapshot
holds the Whirlpool program's accounts but not the pools' token vaults, and the stake
pool fixtures come without reserve stake accounts, manager fee accounts or Marinade's
liquidity pool legs. Served as missing, each of them makes an adapter refuse to quote
(a vault the chain says does not exist, a reserve WithdrawSol cannot pay from), so the
peer synthesizes them, only where no dump is served, by one rule each:

- an Orca Whirlpool vault holds the tokens its liquidity implies over the tick arrays
  served around the price (every position's share between the price and the ends of
  the loaded arrays), plus 1% and the protocol fees owed: enough for every swap the
  driver makes inside those arrays, which is where it keeps the price;
- an SPL stake pool's reserve stake account is an Initialized stake account of the
  pool's withdraw authority holding 0.43% of ``total_lamports`` (the share the real bSOL
  reserve held in its dump) above the rent-exempt reserve;
- its manager fee account is an initialized token account of the pool mint owned by
  the manager, with no balance (what the manager held is unknown; the epoch crank
  credits the fees it mints from then on);
- its pool mint, when no dump holds it, is an SPL mint of 9 decimals (the program
  requires SOL's) whose mint authority is the withdraw authority and whose supply is
  ``pool_token_supply``: the scanner reads decimals from it to publish the pool's state;
- Marinade's SOL leg holds ``lp_liquidity_target`` lamports (plus rent), the level at
  which liquid unstakes pay the minimum fee, and its mSOL leg is an empty token account
  (every deposit then mints, as when the leg is empty on chain).

What was made up is listed on :attr:`Simnet.synthetic` and in the start-up output.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_runtime.simnet.clmm_math import ORCA, delta_b
from lstarb_runtime.simnet.clmm_pools import TOKEN_PROGRAM, WHIRLPOOL, Whirlpool
from lstarb_runtime.simnet.stake_pools import MARINADE, StakePool, stake_pool
from lstarb_runtime.simnet.store import SYSTEM_PROGRAM, AccountStore, Entry
from lstarb_sdk.layout import u64
from lstarb_sdk.solana import WSOL_MINT

log = logging.getLogger("lstarb.simnet")

STAKE_PROGRAM = "Stake11111111111111111111111111111111111111"
TOKEN_ACCOUNT_RENT = 2_039_280
STAKE_ACCOUNT_RENT = 2_282_880
SYSTEM_ACCOUNT_RENT = 890_880
MINT_RENT = 1_461_600
RESERVE_SHARE = 0.004292556662933464
"""The real bSOL reserve's lamports over its pool's total_lamports, both dumped at one commit."""
VAULT_MARGIN = 0.01


@dataclass(frozen=True, slots=True)
class Synthetic:
    """One account the peer made up: its kind, what it stands for, the rule that made it."""

    key: str
    kind: str
    what: str
    rule: str


def synthesize(store: AccountStore) -> list[Synthetic]:
    """Add every account a rule knows how to make and the store lacks; returns them."""
    made: list[Synthetic] = []
    for entry in sorted(store.entries(), key=lambda e: e.key):
        for account, synthetic in _for(entry, store):
            if account.key not in store:
                store.load(account)
                made.append(synthetic)
    for synthetic in made:
        log.info("simnet: synthesized %s %s (%s)", synthetic.what, synthetic.key, synthetic.rule)
    return made


def _for(entry: Entry, store: AccountStore) -> Iterator[tuple[Entry, Synthetic]]:
    if entry.owner == WHIRLPOOL and len(entry.data) == 653:
        yield from _whirlpool_vaults(entry, store)
        return
    pool = stake_pool(entry.key, entry.owner, entry.data)
    if pool is not None and pool.family == "spl":
        yield from _spl_accounts(entry, pool)
    elif pool is not None and pool.family == "marinade":
        yield from _marinade_legs(entry)


# ---------------------------------------------------------------- Orca vaults
def _whirlpool_vaults(entry: Entry, store: AccountStore) -> Iterator[tuple[Entry, Synthetic]]:
    pool = Whirlpool(entry.key, entry.data)
    if pool.vault_a in store and pool.vault_b in store:
        return
    amount_a, amount_b = liquidity_amounts(pool, store)
    owed_a, owed_b = u64(entry.data, 85), u64(entry.data, 93)
    rule = (
        "the tokens its liquidity implies over the served tick arrays, plus "
        f"{VAULT_MARGIN:.0%} and the protocol fees owed"
    )
    for side, vault, mint, amount, owed in (
        ("A", pool.vault_a, pool.mint_a, amount_a, owed_a),
        ("B", pool.vault_b, pool.mint_b, amount_b, owed_b),
    ):
        total = int(amount * (1 + VAULT_MARGIN)) + owed
        yield (
            token_account(vault, mint, entry.key, total),
            Synthetic(vault, "Orca vault", f"Orca Whirlpool {entry.key} vault {side}", rule),
        )


def liquidity_amounts(pool: Whirlpool, store: AccountStore) -> tuple[int, int]:
    """Token A above the price and token B below it that the pool's positions hold,
    over the contiguous tick arrays served around the price."""
    data = store.get(pool.address).data  # type: ignore[union-attr]
    price, tick, liquidity = pool.sqrt_price(data), pool.tick(data), pool.liquidity(data)
    low, high = _coverage(pool, store, tick)
    amounts = []
    for a_to_b, last, edge in ((False, high, high + 1), (True, low - 1, low)):
        ticks = pool.ticks_between(store, tick, last, a_to_b)
        total, current, active = 0, price, liquidity
        for at, net in (*ticks, (edge, 0)):
            step = ORCA.sqrt_price_at_tick(at)
            if a_to_b:
                total += delta_b(step, current, active, True)
                active -= net
            else:
                total += ORCA.delta_a(current, step, active, True)
                active += net
            current, active = step, max(active, 0)
        amounts.append(total)
    return amounts[0], amounts[1]


def _coverage(pool: Whirlpool, store: AccountStore, tick: int) -> tuple[int, int]:
    """The first and last tick of the served arrays contiguous with the price's array."""
    start = end = pool.array_start(tick)
    while pool.array_key(start - pool.span) in store:
        start -= pool.span
    while pool.array_key(end + pool.span) in store:
        end += pool.span
    return start, end + pool.span - 1


# ---------------------------------------------------------------- stake pools
def _spl_accounts(entry: Entry, pool: StakePool) -> Iterator[tuple[Entry, Synthetic]]:
    data = entry.data
    program = Pubkey.from_string(entry.owner)
    authority = Pubkey.find_program_address(
        [bytes(Pubkey.from_string(entry.key)), b"withdraw"], program
    )[0]
    reserve = str(Pubkey.from_bytes(data[130:162]))
    lamports = STAKE_ACCOUNT_RENT + round(u64(data, 258) * RESERVE_SHARE)
    meta = (
        (1).to_bytes(4, "little")  # StakeStateV2::Initialized
        + STAKE_ACCOUNT_RENT.to_bytes(8, "little")
        + bytes(authority) * 2  # staker, withdrawer
        + bytes(48)  # no lockup
    )
    yield (
        Entry(reserve, lamports, meta.ljust(200, b"\0"), STAKE_PROGRAM),
        Synthetic(
            reserve,
            "reserve stake account",
            f"reserve stake account of stake pool {entry.key}",
            f"Initialized, withdraw authority {authority}, {RESERVE_SHARE:.2%} of "
            "total_lamports above rent (the real bSOL reserve's share)",
        ),
    )
    supply = u64(data, 266)
    mint = (
        (1).to_bytes(4, "little")  # COption::Some(mint authority)
        + bytes(authority)
        + supply.to_bytes(8, "little")
        + bytes([9, 1])  # decimals, initialized
        + bytes(36)  # no freeze authority
    )
    token_program = str(Pubkey.from_bytes(data[226:258]))
    yield (
        Entry(pool.mint, MINT_RENT, mint, token_program),
        Synthetic(
            pool.mint,
            "pool mint",
            f"pool mint of stake pool {entry.key}",
            "9 decimals, minted by the withdraw authority, supply pool_token_supply",
        ),
    )
    fee_account = str(Pubkey.from_bytes(data[194:226]))
    manager = str(Pubkey.from_bytes(data[1:33]))
    yield (
        token_account(fee_account, pool.mint, manager, 0, program=token_program),
        Synthetic(
            fee_account,
            "manager fee account",
            f"manager fee account of stake pool {entry.key}",
            "initialized token account of the pool mint owned by the manager, balance 0",
        ),
    )


def _marinade_legs(entry: Entry) -> Iterator[tuple[Entry, Synthetic]]:
    data = entry.data
    state = Pubkey.from_string(entry.key)
    program = Pubkey.from_string(MARINADE)
    sol_leg = str(Pubkey.find_program_address([bytes(state), b"liq_sol"], program)[0])
    target = u64(data, 452)
    yield (
        Entry(sol_leg, target + SYSTEM_ACCOUNT_RENT, b"", SYSTEM_PROGRAM),
        Synthetic(
            sol_leg,
            "Marinade SOL leg",
            "Marinade liquidity pool SOL leg",
            f"lp_liquidity_target ({target} lamports) plus rent",
        ),
    )
    msol_leg = str(Pubkey.from_bytes(data[420:452]))
    authority = Pubkey.find_program_address([bytes(state), b"liq_st_sol_authority"], program)[0]
    yield (
        token_account(msol_leg, str(Pubkey.from_bytes(data[8:40])), str(authority), 0),
        Synthetic(
            msol_leg, "Marinade mSOL leg", "Marinade liquidity pool mSOL leg", "empty token account"
        ),
    )


# ---------------------------------------------------------------- token accounts
def token_account(
    key: str, mint: str, owner: str, amount: int, *, program: str = TOKEN_PROGRAM
) -> Entry:
    """An initialized SPL token account (wSOL ones are native, lamports = rent + amount)."""
    native = mint == str(WSOL_MINT)
    data = (
        bytes(Pubkey.from_string(mint))
        + bytes(Pubkey.from_string(owner))
        + amount.to_bytes(8, "little")
        + bytes(36)  # no delegate
        + b"\x01"  # Initialized
        + (
            (1).to_bytes(4, "little") + TOKEN_ACCOUNT_RENT.to_bytes(8, "little")
            if native
            else bytes(12)
        )
        + bytes(8)  # delegated amount
        + bytes(36)  # no close authority
    )
    lamports = TOKEN_ACCOUNT_RENT + (amount if native else 0)
    return Entry(key, lamports, data, program)
