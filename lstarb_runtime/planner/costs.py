"""What a plan costs, in lamports, exactly: docs/planner.md "Costs".

- base fee: 5,000 lamports per signature;
- priority fee: ``ceil(compute_unit_limit x compute_unit_price / 10^6)`` (the price is in
  micro-lamports per unit; the limit from :mod:`~lstarb_runtime.planner.compute_units`);
- Jito tip: a configured share of the profit before the tip, at least the minimum (1,000, or
  the submitter's own minimum if higher), at most the cap; none for RPC;
- flash-loan fee: the funding provider's ``fee(mint, amount)``, in the base mint;
- rent: 2,039,280 lamports for each token account the transaction creates and keeps (the
  route's mints other than SOL whose accounts the wallets are not known to hold; the wSOL
  account is opened and closed by the transaction itself).

Net profit = gross - all of these, with amounts of a base mint other than SOL valued at its
fair value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lstarb_runtime.executor.transaction import TOKEN_ACCOUNT_RENT

LAMPORTS_PER_SIGNATURE: Final = 5_000
MICRO_LAMPORTS: Final = 1_000_000
BPS: Final = 10_000


def base_fee(signatures: int) -> int:
    return LAMPORTS_PER_SIGNATURE * signatures


def priority_fee(compute_unit_limit: int, compute_unit_price: int) -> int:
    """Lamports: ``ceil(limit x price / 10^6)``, as the runtime charges it."""
    return -(-compute_unit_limit * compute_unit_price // MICRO_LAMPORTS)


def tip(profit_lamports: int, *, share_bps: int, minimum: int, maximum: int) -> int:
    """The share of ``profit_lamports`` (the profit before the tip), within [minimum, maximum]."""
    wanted = max(0, profit_lamports) * share_bps // BPS
    return max(minimum, min(maximum, wanted))


def rent(new_token_accounts: int) -> int:
    return TOKEN_ACCOUNT_RENT * new_token_accounts


@dataclass(frozen=True, slots=True)
class Costs:
    """Every cost of one plan, in lamports (``loan_fee`` also in the base mint)."""

    base_fee: int
    priority_fee: int
    tip: int
    loan_fee_lamports: int
    rent: int

    @property
    def fees(self) -> int:
        """What the transaction pays whether or not it succeeds (RPC)."""
        return self.base_fee + self.priority_fee

    @property
    def total(self) -> int:
        return self.base_fee + self.priority_fee + self.tip + self.loan_fee_lamports + self.rent
