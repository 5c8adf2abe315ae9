"""CPU per MARKET_DATA tape event in a tape reader's pool book: pool states computed or not.

    python benchmarks/tape_readers.py [SLOTS]

Every reader of the tape (the planner, the executor, a rebuild) applies each account event to
a pool book of its own; in one ``lstarb run`` they share the scanner's event loop, so their
time per event delays everything else. Their books used to summarise and probe-quote every
pool the event changed (the pool states the scanner publishes, which readers never use);
:meth:`PoolBook.for_tape` books compute none. This feeds both kinds of book the same tape:
the bundled market, then SLOTS slots of the e2e benchmark's stimulus (``e2e_latency.py``):
the Clock sysvar, then the Raydium AMM V4 SOL/USDC pool's USDC vault 1.2% up or down. It
prints the time per event, p50 / p99 and mean, and checks that both books end with the same
accounts, versions and quotes.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Final

from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.builtin.replay import bundled_market, clock_account, load_market
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.simnet.server import installed_adapters
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.solana import SYSVAR_CLOCK_ID

AMM_V4_SOL_USDC: Final = Pubkey.from_string("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2")
USDC: Final = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
MOVE: Final = 0.012
FIRST_SLOT: Final = 300_000_000

Event = tuple[Pubkey, Account, tuple[int, int]]


def tape(slots: int) -> tuple[list[Event], list[Event]]:
    """(the market's accounts, the stimulus's events) as the scanner would put them on the tape."""
    market = load_market(bundled_market())
    start: list[Event] = [
        (SYSVAR_CLOCK_ID, clock_account(FIRST_SLOT, 1_700_000_000), (FIRST_SLOT, 0))
    ]
    start += [(k, a, (FIRST_SLOT, i + 1)) for i, (k, a) in enumerate(market.items())]
    book = PoolBook(installed_adapters(), keep_unwanted=True, states=False)
    for key, account, version in start:
        book.apply(key, account, version)
    vault = next(
        k
        for k in book.pools[AMM_V4_SOL_USDC].accounts_to_update()
        if (a := book.accounts.get(k)) is not None and bytes(a.data[:32]) == bytes(USDC)
    )
    held = book.accounts[vault]
    assert held is not None
    data = bytes(held.data)
    events: list[Event] = []
    up = True
    for n in range(slots):
        slot = FIRST_SLOT + 1 + n
        events.append((SYSVAR_CLOCK_ID, clock_account(slot, 1_700_000_000 + n // 2), (slot, 0)))
        amount = int.from_bytes(data[64:72], "little")
        amount = int(amount * (1 + MOVE) if up else amount / (1 + MOVE)) + n + 1
        data = data[:64] + amount.to_bytes(8, "little") + data[72:]
        moved = Account(held.lamports, data, held.owner, held.executable, held.rent_epoch)
        events.append((vault, moved, (slot, 1)))
        up = not up
    return start, events


def run(states: bool, start: list[Event], events: list[Event]) -> tuple[PoolBook, list[int]]:
    """A reader's book fed the tape; the wall time of each stimulus event's ``apply`` (ns)."""
    book = PoolBook(installed_adapters(), keep_unwanted=True, states=states)
    for key, account, version in start:
        book.apply(key, account, version)
    took: list[int] = []
    clock = time.perf_counter_ns
    for key, account, version in events:
        began = clock()
        book.apply(key, account, version)
        took.append(clock() - began)
    return book, took


def quotes(book: PoolBook) -> dict[tuple[Pubkey, Pubkey], object]:
    out: dict[tuple[Pubkey, Pubkey], object] = {}
    for address, pool in book.pools.items():
        for mint in pool.mints:
            try:
                out[(address, mint)] = book.quote(address, book.whole_token(mint), mint)
            except LstarbError as exc:
                out[(address, mint)] = repr(exc)
    return out


def row(name: str, took: list[int]) -> str:
    ordered = sorted(took)
    p50 = ordered[len(ordered) // 2] / 1e3
    p99 = ordered[int(len(ordered) * 0.99)] / 1e3
    return f"| {name} | {p50:.1f} / {p99:.1f} | {statistics.fmean(took) / 1e3:.1f} |"


def main() -> None:
    slots = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    start, events = tape(slots)
    results: dict[bool, list[list[int]]] = {True: [], False: []}
    for states in (True, False, True, False):  # interleaved: the machine's load moves
        results[states].append(run(states, start, events)[1])
    before, now = (run(s, start, events)[0] for s in (True, False))
    assert before.accounts == now.accounts and before.versions == now.versions
    assert before.pools.keys() == now.pools.keys() and quotes(before) == quotes(now)
    print(f"tape readers' pool book, {len(events)} tape events ({slots} slots), us per event")
    print("\n| book | p50 / p99 | mean |\n|---|---:|---:|")
    for states, label in ((True, "states computed (readers before)"), (False, "for_tape()")):
        both = [t for run_ in results[states] for t in run_]
        print(f"| {label}, every event | | {statistics.fmean(both) / 1e3:.1f} |")
        print(row(f"  Clock sysvar, {label.split(' (')[0]}", both[0::2]))
        print(row(f"  AMM V4 vault, {label.split(' (')[0]}", both[1::2]))
    print(f"\nsame accounts, versions, pools and quotes: {len(now.pools)} pools")


if __name__ == "__main__":
    main()
