"""The compute-unit limit of a plan's transaction: a per-DEX table of what one swap costs,
plus the executor's envelope (docs/executor.md "The transaction").

Why a table and not a simulation per plan: a simulation is a round trip to a node on the hot
path. The numbers are measured once, on ``solders.litesvm`` with the programs themselves where
a public repository ships a binary, by ``tests/planner/compute_units/measure.py``; its output,
``tests/planner/compute_units/measured.json``, names the binary (repository, path, commit,
sha256), the fixture and the amount of every row, and ``tests/planner/test_compute_units.py``
holds this table to it. Each entry rounds the largest measured value up; a DEX whose program
we could not run gets :data:`UNMEASURED_UNITS`, about twice the largest swap measured, so an
unmeasured program is never under-budgeted (the price is a slightly larger priority fee).

How each number was obtained:

- ``meteora-dlmm``: 53,863-70,487 units over 12 swaps (SOL/USDC, both ways, 10^3 to 10^11
  in, up to crossing bin arrays), Meteora's production ``lb_clmm`` build
  (MeteoraAg/dlmm-sdk ``commons/tests/artifacts/lb_clmm_prod.so``) at its mainnet id.
- ``orca-whirlpool``: 44,759-64,233 units over 36 ``swap_v2`` swaps (bSOL/SOL, JitoSOL/SOL,
  mSOL/SOL, both ways, 10^3 to 10^11 in), the Whirlpool program built from the deployed
  source for Orca's immutable deployment (orca-so/whirlpools
  ``legacy-sdk/whirlpool/tests/external_program/whirlpool_immutable.so``), the pools relocated
  to that program id. Each swap's ``other_amount_threshold`` was the adapter's quote, so every
  run also proved the quote exact or under.
- Raydium AMM V4 / CPMM / CLMM, PumpSwap, the SPL and Sanctum stake pools, Marinade, and a
  flash-loan pair: not measured (no binary found in a public repository):
  :data:`UNMEASURED_UNITS` each.
- Envelope (LiteSVM's built-in System, Compute Budget, SPL Token and ATA programs, 24 random
  wallets, the largest kept: the ATA program's bump search costs 1,500 units a try, so it
  varies with the wallet): compute budget pair 300, tip transfer 150, a new token account
  26,345, an existing one 10,338, opening and wrapping wSOL 31,510, wrapping into it 3,195,
  closing it 2,915.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from solders.pubkey import Pubkey

from lstarb_runtime.executor.instructions import MAX_COMPUTE_UNITS
from lstarb_sdk.solana import WSOL_MINT

UNMEASURED_UNITS: Final = 150_000
"""A swap (or loan instruction) of a program we could not run: about twice the largest
measured swap."""

SWAP_UNITS: Final[dict[str, int]] = {
    "meteora-dlmm": 75_000,  # measured 53,863-70,487
    "orca-whirlpool": 70_000,  # measured 44,759-64,233
    "raydium-amm-v4": UNMEASURED_UNITS,
    "raydium-cpmm": UNMEASURED_UNITS,
    "raydium-clmm": UNMEASURED_UNITS,
    "pumpswap": UNMEASURED_UNITS,
    "spl-stake-pool": UNMEASURED_UNITS,
    "sanctum-spl": UNMEASURED_UNITS,
    "sanctum-spl-multi": UNMEASURED_UNITS,
    "marinade": UNMEASURED_UNITS,
}
"""Units one swap of each DEX (``PoolAdapter.dex``) may use; a DEX not listed gets
:data:`UNMEASURED_UNITS`."""

NATIVE_SOL_DEXES: Final = frozenset(
    {"spl-stake-pool", "sanctum-spl", "sanctum-spl-multi", "marinade"}
)
"""Programs that move the wallet's native SOL: the executor unwraps or wraps around them."""

COMPUTE_BUDGET_UNITS: Final = 300  # SetComputeUnitLimit + SetComputeUnitPrice: 150 each
TIP_UNITS: Final = 150  # a System transfer
TOKEN_ACCOUNT_NEW_UNITS: Final = 26_345  # ATA CreateIdempotent, the account is created
TOKEN_ACCOUNT_HELD_UNITS: Final = 10_338  # ATA CreateIdempotent, the account exists
WSOL_OPEN_UNITS: Final = 31_510  # CreateIdempotent + transfer + SyncNative
WSOL_CONVERT_UNITS: Final = 31_510  # around a native-SOL leg: close, or reopen and wrap
WSOL_CLOSE_UNITS: Final = 2_915  # CloseAccount: the unwrap at the end
FLASH_LOAN_UNITS: Final = 2 * UNMEASURED_UNITS  # borrow + repay


def swap_units(dex: str) -> int:
    return SWAP_UNITS.get(dex, UNMEASURED_UNITS)


def route_units(
    dexes: Sequence[str],
    mints: Iterable[Pubkey],
    *,
    held: frozenset[Pubkey],
    loan: bool,
    tip: bool,
) -> int:
    """The units of the whole transaction before the margin.

    ``mints``: every mint the route touches; each one but SOL gets an idempotent token
    account (``held`` ones exist: cheaper). SOL routes open and close a wSOL account, and a
    leg of a native-SOL program converts once more.
    """
    units = COMPUTE_BUDGET_UNITS + sum(swap_units(d) for d in dexes)
    sol = False
    for mint in set(mints):
        if mint == WSOL_MINT:
            sol = True
        else:
            units += TOKEN_ACCOUNT_HELD_UNITS if mint in held else TOKEN_ACCOUNT_NEW_UNITS
    if sol:
        units += WSOL_OPEN_UNITS + WSOL_CLOSE_UNITS
        units += WSOL_CONVERT_UNITS * sum(1 for d in dexes if d in NATIVE_SOL_DEXES)
    if loan:
        units += FLASH_LOAN_UNITS
    if tip:
        units += TIP_UNITS
    return units


def compute_unit_limit(units: int, margin_bps: int) -> int:
    """``units`` plus the margin, rounded up, at most the transaction maximum (1.4 M)."""
    return min(MAX_COMPUTE_UNITS, -(-units * (10_000 + margin_bps) // 10_000))
