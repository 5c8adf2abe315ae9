"""The compute-unit limit of a plan's transaction: each leg's swap as its adapter says, plus
the executor's envelope (docs/executor.md "The transaction").

Why the adapters say: each DEX plugin measures its own program on ``solders.litesvm`` (the
program oracle, :mod:`lstarb_sdk.testing.program_oracle`) and publishes the fit as
``PoolAdapter.compute_units``; an adapter whose cost grows with the ticks or bins a swap
crosses counts them on its own quote walk (``PoolAdapter.swap_compute_units``). A table here
would be a second copy of those numbers, out of date the day a plugin re-measures. No
simulation per plan either: that is a round trip to a node on the hot path.

Fallbacks, for what does not say:

- an adapter that sets no ``compute_units`` inherits the SDK's
  ``DEFAULT_SWAP_COMPUTE_UNITS`` (200 000, the runtime's default per-instruction limit);
- an adapter whose ``swap_compute_units`` raises or returns something that is not a positive
  integer gets :data:`FALLBACK_SWAP_UNITS` (the same 200 000), and the fault is counted;
- a funding provider whose ``compute_units`` is None gets :data:`FALLBACK_LOAN_UNITS` for the
  borrow and repay pair.

The envelope is the runtime's own (LiteSVM's built-in System, Compute Budget, SPL Token and
ATA programs, 24 random wallets, the largest kept: the ATA program's bump search costs 1,500
units a try, so it varies with the wallet), measured by ``tests/planner/compute_units/
measure.py`` into ``measured.json`` and held to it by ``tests/planner/test_compute_units.py``:
compute budget pair 300, tip transfer 150, a new token account 26,345, an existing one 10,338,
opening and wrapping wSOL 31,510, wrapping into it 3,195, closing it 2,915. The same script
measured Meteora DLMM and Orca Whirlpool swaps, which the test holds the adapters' own
estimates to (never under).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from solders.pubkey import Pubkey

from lstarb_runtime.executor.instructions import MAX_COMPUTE_UNITS
from lstarb_sdk import FundingProvider, PoolAdapter
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.types import DEFAULT_SWAP_COMPUTE_UNITS

FALLBACK_SWAP_UNITS: Final = DEFAULT_SWAP_COMPUTE_UNITS.base
"""A swap whose adapter could not say (it raised, or answered nonsense): 200 000."""

FALLBACK_LOAN_UNITS: Final = 300_000
"""A flash borrow and repay whose provider publishes no ``compute_units``: about twice the
largest swap measured, each (the loan program was not run here)."""

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


def swap_units(pool: PoolAdapter, amount: int, input_mint: Pubkey) -> int | None:
    """What the adapter says a swap of ``amount`` takes now; None when it raised or answered
    something that is not a positive int (the caller counts it and uses the fallback)."""
    try:
        units = pool.swap_compute_units(amount, input_mint)
    except Exception:  # plugin code: a bug costs a fallback budget, not the plan
        return None
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        return None
    return units


def loan_units(provider: FundingProvider | None) -> int:
    """The borrow and repay pair's units, as the provider says or the fallback."""
    units = None if provider is None else getattr(provider, "compute_units", None)
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        return FALLBACK_LOAN_UNITS
    return units


def route_units(
    swaps: Sequence[int],
    dexes: Sequence[str],
    mints: Iterable[Pubkey],
    *,
    held: frozenset[Pubkey],
    loan: int,
    tip: bool,
) -> int:
    """The units of the whole transaction before the margin.

    ``swaps``: each leg's units (:func:`swap_units`), ``dexes`` their DEX labels (a
    native-SOL program converts SOL around its leg), ``loan`` the flash loan's units (0:
    none). ``mints``: every mint the route touches; each one but SOL gets an idempotent token
    account (``held`` ones exist: cheaper). SOL routes open and close a wSOL account, and a
    leg of a native-SOL program converts once more.
    """
    units = COMPUTE_BUDGET_UNITS + sum(swaps)
    sol = False
    for mint in set(mints):
        if mint == WSOL_MINT:
            sol = True
        else:
            units += TOKEN_ACCOUNT_HELD_UNITS if mint in held else TOKEN_ACCOUNT_NEW_UNITS
    if sol:
        units += WSOL_OPEN_UNITS + WSOL_CLOSE_UNITS
        units += WSOL_CONVERT_UNITS * sum(1 for d in dexes if d in NATIVE_SOL_DEXES)
    units += loan
    if tip:
        units += TIP_UNITS
    return units


def compute_unit_limit(units: int, margin_bps: int) -> int:
    """``units`` plus the margin, rounded up, at most the transaction maximum (1.4 M)."""
    return min(MAX_COMPUTE_UNITS, -(-units * (10_000 + margin_bps) // 10_000))
