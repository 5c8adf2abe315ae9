"""How a plan is sent and paid for: the submitter, the funding, and the most it can lose.

Submitter. A bundle (a submitter with ``supports_bundles``, the jito plugin) lands whole or
not at all, so a failure costs nothing, but it pays the tip when it lands; an RPC transaction
pays its fees even when it fails. With ``p`` the landing rate (``[planner] landing_rate_bps``,
the same for both), a bundle is worth ``p x (gross - fees - tip)`` and a transaction
``p x (gross - fees) - (1 - p) x fees``: the tip pays for itself when ``p x tip <= (1 - p) x
fees``, and then the plan is a bundle. With only one kind loaded, that one; with neither, the
executor's paper submitter (an empty name).

Funding. The wallet puts in what ``[planner] capital`` allows for the base mint; when that
does not cover the size, a flash loan of the rest from the cheapest provider that supports
the mint and can lend that much now (``FundingProvider.fee`` raises when it cannot).

Max loss (``max_loss_lamports``): landed at every leg's minimum output it loses the fees, the
tip and ``max(0, amount_in + loan_fee - min_out)``; not landed, a bundle loses nothing and a
transaction its fees. The larger case is the bound (docs/executor.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey

from lstarb_sdk import FundingProvider, Submitter
from lstarb_sdk.errors import FundingError, LstarbError

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Route:
    """The submitters a plan may name: ``bundle`` and ``direct`` (either may be None)."""

    bundle: str | None
    bundle_min_tip: int
    direct: str | None

    @classmethod
    def of(cls, submitters: Sequence[Submitter]) -> Route:
        bundle = next((s for s in submitters if s.supports_bundles), None)
        direct = next((s for s in submitters if not s.supports_bundles and s.name != "paper"), None)
        return cls(
            bundle.name if bundle else None,
            bundle.min_tip_lamports if bundle else 0,
            direct.name if direct else None,
        )


def tip_pays(tip: int, fees: int, landing_rate_bps: int) -> bool:
    """Whether a bundle's tip costs less, in expectation, than the fees of failed RPC sends."""
    return landing_rate_bps * tip <= (BPS - landing_rate_bps) * fees


@dataclass(frozen=True, slots=True)
class Funding:
    provider: str
    """``""``: self-funded."""
    loan: int
    fee: int


class Unfunded(LstarbError):
    """Neither the wallet nor any provider can fund the size (the message says why)."""


def loan_capacity(providers: Sequence[FundingProvider], mint: Pubkey) -> tuple[bool, int | None]:
    """(some provider lends ``mint``, the largest loan now: None when unbounded/unknown)."""
    any_lends = False
    largest: int | None = 0
    for provider in providers:
        try:
            if not provider.supports(mint):
                continue
            most = provider.max_amount(mint)
        except Exception:
            continue
        any_lends = True
        if most is None:
            largest = None
        elif largest is not None:
            largest = max(largest, most)
    return any_lends, largest


def fund(providers: Sequence[FundingProvider], mint: Pubkey, size: int, own: int) -> Funding:
    """Self-funded when ``own`` covers ``size``; else the cheapest loan of the rest."""
    if own >= size:
        return Funding("", 0, 0)
    loan = size - own
    best: Funding | None = None
    why = []
    for provider in providers:
        try:
            if not provider.supports(mint):
                continue
            fee = provider.fee(mint, loan)
        except FundingError as exc:
            why.append(f"{provider.name}: {exc}")
            continue
        except Exception as exc:  # plugin code: named, never fatal
            why.append(f"{provider.name} raised {exc!r}")
            continue
        if best is None or fee < best.fee:
            best = Funding(provider.name, loan, fee)
    if best is None:
        reasons = "; ".join(why) or "no funding provider lends it"
        raise Unfunded(f"the wallet covers {own} of {size} and no flash loan of {loan} ({reasons})")
    return best


def max_loss(fees: int, tip: int, slippage_lamports: int, *, bundled: bool) -> int:
    """The most the plan can lose (see the module): landed at minimum, or failed."""
    landed_at_minimum = fees + tip + max(0, slippage_lamports)
    failed = 0 if bundled else fees
    return max(landed_at_minimum, failed)
