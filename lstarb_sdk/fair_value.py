"""Fair value of liquid staking tokens: SOL per LST, as exact integers (SDK API 1.1).

An LST's fair value is what its own program pays for it: the stake pool's
``total_lamports / pool_token_supply``, Marinade's virtual staked lamports per
mSOL, Infinity's SOL value per INF. It is kept as a numerator/denominator pair
of integers, never a float, because strategies compare it with exact quotes.

Who provides it: any object with a ``fair_values()`` method returning
:class:`FairValue` items (the ``lst`` plugin's stake-pool adapters do, and its
strategies keep a :class:`FairValueBook` of every LST they price). Who reads
it: strategies (to rank and trust opportunities) and the scanner (to publish
each pool's premium or discount to fair value with its state).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, runtime_checkable

from solders.pubkey import Pubkey

from lstarb_sdk.solana import WSOL_MINT

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class FairValue:
    """``lamports`` of SOL back ``tokens`` units of ``mint`` (both in smallest units).

    ``epoch`` is the epoch the rate was computed for (a stake pool's
    ``last_update_epoch``; None where the program prices continuously).
    ``stale`` says the program will not mint or redeem at this rate now (a
    stake pool not yet updated for the current epoch: its rate lacks the
    epoch's rewards). ``source`` is the account the rate was read from.
    """

    mint: Pubkey
    lamports: int
    tokens: int
    epoch: int | None
    stale: bool
    source: Pubkey

    @property
    def ratio(self) -> Fraction:
        """SOL per token, exactly (1 when the program has no supply yet, as it mints 1:1)."""
        return Fraction(*self.rate)

    @property
    def rate(self) -> tuple[int, int]:
        """``ratio`` as (lamports, tokens): integer math on hot paths needs no Fraction."""
        if self.tokens == 0 or self.lamports == 0:
            return 1, 1
        return self.lamports, self.tokens

    def sol_value(self, amount: int) -> int:
        """Lamports ``amount`` tokens are worth, rounded down."""
        if self.tokens == 0 or self.lamports == 0:
            return amount
        return amount * self.lamports // self.tokens

    def token_value(self, lamports: int) -> int:
        """Tokens ``lamports`` are worth, rounded down."""
        if self.tokens == 0 or self.lamports == 0:
            return lamports
        return lamports * self.tokens // self.lamports


def premium_ppm(paid: FairValue, in_amount: int, got: FairValue, out_amount: int) -> int:
    """:meth:`FairValueBook.premium_ppm` for two fair values at hand (``in_amount > 0``)."""
    (lp, tp), (lg, tg) = paid.rate, got.rate
    cost = in_amount * lp * tg  # both sides in lamports, times tp * tg
    return (out_amount * lg * tp - cost) * PPM // cost


#: SOL itself (the wSOL mint): one lamport per lamport, never stale.
SOL_FAIR_VALUE = FairValue(WSOL_MINT, 1, 1, None, False, WSOL_MINT)


@runtime_checkable
class FairValueSource(Protocol):
    """Anything that prices LSTs from chain state (a stake-pool adapter, a pricer)."""

    def fair_values(self) -> Sequence[FairValue]:
        """The fair values it can give now (empty while its accounts are not loaded)."""
        ...


class FairValueBook:
    """The newest fair value of each mint, and comparisons of trades with it.

    wSOL is always present at 1:1. ``put`` replaces a mint's value; a value
    read from a newer source state simply overwrites the older one.
    """

    __slots__ = ("_by_mint",)

    def __init__(self, values: Iterable[FairValue] = ()) -> None:
        self._by_mint: dict[Pubkey, FairValue] = {WSOL_MINT: SOL_FAIR_VALUE}
        for value in values:
            self.put(value)

    def put(self, value: FairValue) -> None:
        self._by_mint[value.mint] = value

    def absorb(self, source: object) -> bool:
        """Take the fair values of ``source`` if it is a :class:`FairValueSource`.

        Strategies call this on every pool update, so it looks the method up
        directly: ``isinstance`` against a runtime-checkable protocol costs
        tens of microseconds.
        """
        fair_values = getattr(source, "fair_values", None)
        if not callable(fair_values):
            return False
        values: Sequence[FairValue] = fair_values()
        for value in values:
            self.put(value)
        return bool(values)

    def get(self, mint: Pubkey) -> FairValue | None:
        return self._by_mint.get(mint)

    def __contains__(self, mint: object) -> bool:
        return mint in self._by_mint

    def __iter__(self) -> Iterator[FairValue]:
        return iter(self._by_mint.values())

    def __len__(self) -> int:
        return len(self._by_mint)

    def sol_value(self, mint: Pubkey, amount: int) -> int | None:
        """Lamports ``amount`` of ``mint`` are worth at fair value (None: not priced)."""
        value = self._by_mint.get(mint)
        return None if value is None else value.sol_value(amount)

    def fair_price(self, base: Pubkey, quote: Pubkey) -> Fraction | None:
        """Fair units of ``quote`` per unit of ``base`` (None unless both are priced)."""
        a, b = self._by_mint.get(base), self._by_mint.get(quote)
        if a is None or b is None:
            return None
        return a.ratio / b.ratio

    def premium_ppm(
        self, in_mint: Pubkey, in_amount: int, out_mint: Pubkey, out_amount: int
    ) -> int | None:
        """How much more a trade pays than fair value, in millionths (negative: less).

        ``(value of out_amount / value of in_amount - 1) * 10^6`` at fair
        values, rounded toward minus infinity. For a pool's price of mint_a in
        mint_b, pass a quote that sells mint_a: a positive result means mint_a
        trades above its fair value there (a premium), negative a discount.
        """
        a, b = self._by_mint.get(in_mint), self._by_mint.get(out_mint)
        if a is None or b is None or in_amount <= 0:
            return None
        return premium_ppm(a, in_amount, b, out_amount)
