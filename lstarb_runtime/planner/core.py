"""The planner's decision: one opportunity in, a plan or a rejection with its reason out.

Pure and synchronous: no clock (``now_ns`` is given), no network, no bus. The service
(:mod:`lstarb_runtime.services.planner`), the replay of a recording and the benchmark all call
:meth:`PlanEngine.decide` the same way, so a recording replays to the same plans, byte for byte.

The checks, in order (each rejection names one reason of :data:`REASONS`):

1. the kill switch (``halted``), then the opportunity itself: a version this planner does
   not know, a route that does not chain from the base mint back to it (``malformed``), a
   pool the book does not hold (``unknown_pool``);
2. its age, in slots behind the tape and in ms since it was detected;
3. its state: every leg is re-quoted at the opportunity's own amounts. Equal outputs: the
   book holds the state it was computed on. Different, and the route's newest account on the
   book is older than the opportunity's slot: the book is behind (``book_behind``; the
   service waits for the tape and asks again). Of the same slot: the book may be half way
   through that slot, so a caller that can wait does. Otherwise the state is newer, and the
   opportunity is re-evaluated (re-sized on the book), never trusted;
4. the freshness of every pool of the route, the size (within ``[risk]`` trade bounds and
   what the wallet plus a flash loan can fund), the legs chained at that size (each
   intermediate leg's minimum at ``intermediate_slippage_bps``, the last's at
   ``max_slippage_bps``),
   each leg's depth, price impact and distance from fair value;
5. funding, every cost, the submitter, the minimum net profit, the maximum loss, the
   strategy's confidence and the risk score.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from solders.pubkey import Pubkey

from lstarb_runtime.executor.fingerprint import state_fingerprint
from lstarb_runtime.planner import compute_units, costs
from lstarb_runtime.planner.fees import PriorityFees
from lstarb_runtime.planner.market import Market
from lstarb_runtime.planner.method import (
    Route,
    Unfunded,
    fund,
    loan_capacity,
    max_loss,
    tip_pays,
)
from lstarb_runtime.planner.quotes import (
    BPS,
    Hop,
    RouteError,
    best_size,
    chain,
    gross_of,
    impact_bps,
    quote_at,
)
from lstarb_runtime.planner.risk import RiskFactors, confidence_of, risk_score
from lstarb_runtime.planner.settings import PlannerSettings, RiskSettings
from lstarb_sdk import FundingProvider, Submitter
from lstarb_sdk.errors import LstarbError
from lstarb_sdk.events import ExecutionPlanEvent, LegEvent, OpportunityEvent
from lstarb_sdk.events._schema import SCHEMA_VERSION
from lstarb_sdk.fair_value import FairValue
from lstarb_sdk.solana import WSOL_MINT

HALTED: Final = "halted"
UNKNOWN_VERSION: Final = "unknown_version"
MALFORMED: Final = "malformed"
UNKNOWN_POOL: Final = "unknown_pool"
TOO_OLD_SLOTS: Final = "too_old_slots"
TOO_OLD_MS: Final = "too_old_ms"
BOOK_BEHIND: Final = "book_behind"
REQUOTE_FAILED: Final = "requote_failed"
STALE_POOL: Final = "stale_pool"
UNPRICED_BASE: Final = "unpriced_base"
BELOW_MIN_TRADE: Final = "below_min_trade"
UNFUNDED: Final = "unfunded"
DEPTH: Final = "depth"
PRICE_IMPACT: Final = "price_impact"
FAIR_VALUE: Final = "fair_value"
UNPRICED_LEG: Final = "unpriced_leg"
BELOW_MIN_PROFIT: Final = "below_min_profit"
MAX_LOSS: Final = "max_loss"
LOW_CONFIDENCE: Final = "low_confidence"
RISK: Final = "risk"

REASONS: Final = (
    HALTED,
    UNKNOWN_VERSION,
    MALFORMED,
    UNKNOWN_POOL,
    TOO_OLD_SLOTS,
    TOO_OLD_MS,
    BOOK_BEHIND,
    REQUOTE_FAILED,
    STALE_POOL,
    UNPRICED_BASE,
    BELOW_MIN_TRADE,
    UNFUNDED,
    DEPTH,
    PRICE_IMPACT,
    FAIR_VALUE,
    UNPRICED_LEG,
    BELOW_MIN_PROFIT,
    MAX_LOSS,
    LOW_CONFIDENCE,
    RISK,
)
"""Every rejection reason, in the order the checks run (metric label ``reason``)."""

PLAN_PREFIX: Final = "plan-"


def plan_id(opportunity: OpportunityEvent) -> str:
    """Deterministic from the opportunity and the state it was computed on.

    The id and the strategy's state fingerprint (``metadata["state"]``) are hashed, the slot
    is not: a replayed or duplicated opportunity, or the same state seen a slot later, is the
    same plan (JetStream de-duplicates its message id), never two.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(opportunity.id.encode())
    digest.update(b"|")
    digest.update(opportunity.metadata.get("state", "").encode())
    return PLAN_PREFIX + digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str
    retry: bool = False
    """The tape may not have reached the opportunity's state yet: worth asking again."""


@dataclass(frozen=True, slots=True)
class Planned:
    plan: ExecutionPlanEvent
    reevaluated: bool
    """The state was newer than the opportunity's, or the size was capped: re-sized."""
    net_profit_lamports: int


Decision = Planned | Rejection


class _Value:
    """Amounts of the base mint in lamports and back, at its fair value (SOL: 1:1)."""

    __slots__ = ("fv",)

    def __init__(self, fv: FairValue | None) -> None:
        self.fv = fv

    def lamports(self, amount: int) -> int:
        if self.fv is None:
            return amount
        value = self.fv.sol_value(abs(amount))
        return value if amount >= 0 else -value

    def units(self, lamports: int) -> int:
        if self.fv is None:
            return lamports
        value = self.fv.token_value(abs(lamports))
        return value if lamports >= 0 else -value


class PlanEngine:
    """Decides on opportunities against a :class:`~lstarb_runtime.planner.market.Market`."""

    def __init__(
        self,
        market: Market,
        settings: PlannerSettings,
        risk: RiskSettings,
        *,
        fees: PriorityFees,
        submitters: Sequence[Submitter] = (),
        providers: Sequence[FundingProvider] = (),
        capital: Mapping[Pubkey, int] | None = None,
        held: Collection[Pubkey] | None = None,
    ) -> None:
        """``held``: the mints whose token accounts the wallets hold (no rent); None: the
        configured ``token_accounts`` (:func:`~lstarb_runtime.planner.settings.held_token_mints`
        gives a paper run's default)."""
        self.market = market
        self.settings = settings
        self.risk = risk
        self.fees = fees
        self.route = Route.of(submitters)
        self.providers = list(providers)
        self.capital = dict(capital or {})
        self.held = frozenset(
            held
            if held is not None
            else (Pubkey.from_string(m) for m in settings.token_accounts or ())
        )

    # ------------------------------------------------------------------ the decision
    def decide(
        self,
        opp: OpportunityEvent,
        *,
        now_ns: int,
        traceparent: str = "",
        halted: bool = False,
        patient: bool = False,
    ) -> Decision:
        """Plan ``opp`` or say why not.

        ``patient``: the caller can still wait for the tape. A route whose newest state on
        the book is of the opportunity's own slot but quotes differently may be half way
        through that slot's updates: a patient caller is told ``book_behind`` (retry) and
        waits; otherwise the book's state is taken as the newer one and re-evaluated.
        """
        if halted:
            return Rejection(HALTED, "the kill switch is thrown: nothing is planned")
        problem = _malformed(opp)
        if problem is not None:
            return problem
        market, risk = self.market, self.risk
        book = market.book
        hops = [Hop(x.pool, x.dex, x.input_mint, x.output_mint) for x in opp.legs]
        pools = [h.pool for h in hops]
        for hop in hops:
            pool = book.pools.get(hop.pool)
            if pool is None:
                return Rejection(
                    UNKNOWN_POOL, f"pool {hop.pool} ({hop.dex}) is not in the book", retry=True
                )
            if pool.dex != hop.dex:
                return Rejection(MALFORMED, f"pool {hop.pool} is {pool.dex}, not {hop.dex}")

        age_slots = market.slot - opp.slot
        if age_slots > risk.max_age_slots:
            return Rejection(
                TOO_OLD_SLOTS,
                f"{age_slots} slots behind the tape (slot {market.slot}), at most "
                f"{risk.max_age_slots}",
            )
        age_ms = (now_ns - opp.detected_ns) // 1_000_000
        if age_ms > risk.max_age_ms:
            return Rejection(TOO_OLD_MS, f"detected {age_ms} ms ago, at most {risk.max_age_ms}")

        newest, oldest = market.route_slot(pools)
        try:
            requoted = quote_at(book, hops, [x.in_amount for x in opp.legs])
        except RouteError as exc:
            if newest < opp.slot:
                return Rejection(BOOK_BEHIND, f"{exc} (the book is behind)", retry=True)
            return Rejection(REQUOTE_FAILED, str(exc))
        same = all(
            out == x.out_amount and fee == x.fee_amount
            for (out, fee), x in zip(requoted, opp.legs, strict=True)
        )
        if not same and (newest < opp.slot or (newest == opp.slot and patient)):
            return Rejection(
                BOOK_BEHIND,
                f"the route's newest state on the book is of slot {newest}, the opportunity's "
                f"{opp.slot}",
                retry=True,
            )
        pool_age = market.slot - oldest
        if pool_age > risk.max_pool_age_slots:
            return Rejection(
                STALE_POOL,
                f"a route pool's newest state is {pool_age} slots old, at most "
                f"{risk.max_pool_age_slots}",
            )

        base = opp.base_mint
        fv = market.fair.get(base) if base != WSOL_MINT else None
        if base != WSOL_MINT and fv is None:
            return Rejection(UNPRICED_BASE, f"base mint {base} has no fair value in SOL")
        value = _Value(fv)
        return self._size_and_price(
            opp,
            hops,
            pools,
            requoted if same else None,
            value,
            newest,
            pool_age,
            traceparent,
            now_ns,
        )

    def _size_and_price(
        self,
        opp: OpportunityEvent,
        hops: list[Hop],
        pools: list[Pubkey],
        requoted: list[tuple[int, int]] | None,
        value: _Value,
        planned_slot: int,
        pool_age: int,
        traceparent: str,
        now_ns: int,
    ) -> Decision:
        market, risk, settings = self.market, self.risk, self.settings
        book = market.book
        base = opp.base_mint
        slippage, intermediate = risk.max_slippage_bps, risk.intermediate_slippage_bps
        min_trade = max(1, value.units(risk.min_trade_lamports))
        max_trade = value.units(risk.max_trade_lamports)
        own = min(self.capital.get(base, 0), max_trade)
        lends, most = loan_capacity(self.providers, base)
        fundable = own + (most if most is not None else max_trade) if lends else own
        cap = min(max_trade, fundable)
        if cap < min_trade:
            return Rejection(
                UNFUNDED,
                f"the wallet holds {own} of {base} for a trade and no provider lends it",
            )
        same = requoted is not None
        size = opp.legs[0].in_amount
        reevaluated = not same or size > cap
        if not same:
            found = best_size(
                gross_of(book, hops, slippage, intermediate_bps=intermediate),
                min_trade,
                cap,
                tolerance=max(1, cap >> 13),
            )
            if found is None:
                return Rejection(BELOW_MIN_PROFIT, "re-evaluated on the newer state: no size gains")
            size = found[0]
        elif size > cap:
            size = cap  # gross profit rises up to the opportunity's size: the cap is best
        if size < min_trade:
            return Rejection(
                BELOW_MIN_TRADE, f"size {size} is below the minimum trade ({min_trade})"
            )
        first = requoted[0] if requoted and size == opp.legs[0].in_amount else None
        try:
            legs = chain(book, hops, size, slippage, first, intermediate_bps=intermediate)
        except RouteError as exc:
            return Rejection(REQUOTE_FAILED, str(exc))

        impact_total = 0
        for i, leg in enumerate(legs):
            problem = self._leg_problem(i, leg)
            if isinstance(problem, Rejection):
                return problem
            impact_total += problem

        try:
            funding = fund(self.providers, base, size, own)
        except Unfunded as exc:
            return Rejection(UNFUNDED, str(exc))

        gross = legs[-1].out_amount - size
        mints = {x.input_mint for x in legs} | {x.output_mint for x in legs}
        new_accounts = sum(1 for m in mints if m != WSOL_MINT and m not in self.held)
        rent = costs.rent(new_accounts)
        base_fee = costs.base_fee(settings.signatures)
        price = self.fees.price
        loan_fee_l = value.lamports(funding.fee)
        gross_l = value.lamports(gross)
        dexes = [h.dex for h in hops]
        swaps = [self._swap_units(leg) for leg in legs]
        loan = compute_units.loan_units(self._provider(funding.provider)) if funding.loan > 0 else 0

        def fees_with(tip: bool) -> tuple[int, int]:
            units = compute_units.route_units(
                swaps, dexes, mints, held=self.held, loan=loan, tip=tip
            )
            limit = compute_units.compute_unit_limit(units, settings.compute_unit_margin_bps)
            return limit, costs.priority_fee(limit, price)

        route = self.route
        submitter, tip = route.direct or "", 0
        limit, prio = fees_with(False)
        if route.bundle is not None:
            b_limit, b_prio = fees_with(True)
            before_tip = gross_l - loan_fee_l - rent - base_fee - b_prio
            b_tip = costs.tip(
                before_tip,
                share_bps=settings.tip_share_bps,
                minimum=max(settings.tip_min_lamports, route.bundle_min_tip),
                maximum=settings.tip_max_lamports,
            )
            if route.direct is None or tip_pays(b_tip, base_fee + prio, settings.landing_rate_bps):
                submitter, tip, limit, prio = route.bundle, b_tip, b_limit, b_prio
        cost = costs.Costs(base_fee, prio, tip, loan_fee_l, rent)
        net = gross_l - cost.total
        size_l = value.lamports(size)
        short_bps = risk.min_profit_bps > 0 and net * BPS < risk.min_profit_bps * size_l
        if net < risk.min_profit_lamports or short_bps:
            return Rejection(
                BELOW_MIN_PROFIT,
                f"net {net} lamports (gross {gross_l}, fees {cost.fees}, tip {tip}, loan fee "
                f"{loan_fee_l}, rent {rent}) on {size_l}: at least {risk.min_profit_lamports} "
                f"and {risk.min_profit_bps} bps",
            )
        slip = value.lamports(size + funding.fee - legs[-1].min_out)
        loss = max_loss(cost.fees, tip, slip, bundled=submitter == route.bundle)
        if loss > risk.max_loss_lamports:
            return Rejection(
                MAX_LOSS, f"may lose {loss} lamports, at most {risk.max_loss_lamports}"
            )
        confidence = confidence_of(opp.metadata)
        if confidence < risk.min_confidence:
            return Rejection(
                LOW_CONFIDENCE, f"confidence {confidence:.4f}, at least {risk.min_confidence}"
            )
        score = risk_score(RiskFactors(impact_total, confidence, pool_age, len(legs)), risk)
        if score > risk.max_risk_score:
            return Rejection(RISK, f"risk score {score:.4f}, at most {risk.max_risk_score}")

        expected = gross - funding.fee - value.units(base_fee + prio + tip)
        plan = ExecutionPlanEvent(
            id=plan_id(opp),
            opportunity_id=opp.id,
            strategy=opp.strategy,
            base_mint=base,
            legs=tuple(legs),
            amount_in=size,
            min_out=legs[-1].min_out,
            expected_profit=expected,
            tip_lamports=tip,
            funding_provider=funding.provider,
            submitter=submitter,
            compute_unit_limit=limit,
            compute_unit_price=price,
            expiry_slot=market.slot + settings.expiry_slots,
            risk_score=score,
            created_ns=now_ns,
            max_loss_lamports=loss,
            gross_profit=gross,
            base_fee_lamports=base_fee,
            priority_fee_lamports=prio,
            loan_fee=funding.fee,
            rent_lamports=rent,
            loan_mint=base if funding.loan else b"",
            loan_amount=funding.loan,
            opportunity_slot=opp.slot,
            planned_slot=planned_slot,
            state_fingerprint=state_fingerprint(book, pools),
            confidence=confidence,
            slippage_bps=slippage,
            expiry_ns=now_ns + settings.expiry_ms * 1_000_000,
            traceparent=traceparent,
        )
        return Planned(plan, reevaluated, net)

    def _swap_units(self, leg: LegEvent) -> int:
        """The leg's compute units as its adapter says (the fallback, counted, otherwise)."""
        pool = self.market.book.pools[leg.pool]
        units = compute_units.swap_units(pool, leg.in_amount, leg.input_mint)
        if units is None:
            self.market.faults[f"{pool.dex}.swap_compute_units"] += 1
            return compute_units.FALLBACK_SWAP_UNITS
        return units

    def _provider(self, name: str) -> FundingProvider | None:
        return next((p for p in self.providers if p.name == name), None)

    def _leg_problem(self, i: int, leg: LegEvent) -> Rejection | int:
        """The leg's rejection, or its price impact in bps (0 when unknown)."""
        risk, market = self.risk, self.market
        pool = market.book.pools[leg.pool]
        try:  # through the book: an adapter bug quarantines the pool, as a quote's would
            summary = market.book.summary(leg.pool)
        except LstarbError as exc:
            return Rejection(REQUOTE_FAILED, f"leg {i} ({leg.dex} {leg.pool}): {exc}")
        if summary is not None:
            reserve = summary.reserve_a if leg.output_mint == pool.mints[0] else summary.reserve_b
            if reserve > 0 and leg.out_amount * BPS > risk.max_reserve_share_bps * reserve:
                return Rejection(
                    DEPTH,
                    f"leg {i} ({leg.dex} {leg.pool}) takes {leg.out_amount} of {reserve} "
                    f"(more than {risk.max_reserve_share_bps} bps)",
                )
        impact = impact_bps(leg, market.marginal(leg.pool, leg.input_mint))
        if impact is not None and impact > risk.max_price_impact_bps:
            return Rejection(
                PRICE_IMPACT,
                f"leg {i} ({leg.dex} {leg.pool}): price impact {impact} bps, at most "
                f"{risk.max_price_impact_bps}",
            )
        premium = market.fair.premium_ppm(
            leg.input_mint, leg.in_amount, leg.output_mint, leg.out_amount
        )
        if premium is None:
            if risk.require_fair_value:
                return Rejection(
                    UNPRICED_LEG, f"leg {i}: no fair value for {leg.input_mint}/{leg.output_mint}"
                )
        elif abs(premium) > risk.max_fair_value_deviation_bps * 100:
            return Rejection(
                FAIR_VALUE,
                f"leg {i} ({leg.dex} {leg.pool}) priced {premium / 100:+.0f} bps from fair "
                f"value, at most {risk.max_fair_value_deviation_bps}",
            )
        return impact or 0


def _malformed(opp: OpportunityEvent) -> Rejection | None:
    if not 1 <= opp.schema_version <= SCHEMA_VERSION:
        return Rejection(
            UNKNOWN_VERSION,
            f"opportunity of schema version {opp.schema_version}; this planner reads 1.."
            f"{SCHEMA_VERSION}",
        )
    legs = opp.legs
    if not legs:
        return Rejection(MALFORMED, "no legs")
    if legs[0].input_mint != opp.base_mint or legs[-1].output_mint != opp.base_mint:
        return Rejection(MALFORMED, "the route does not start and end in the base mint")
    for i, leg in enumerate(legs):
        if leg.in_amount <= 0:
            return Rejection(MALFORMED, f"leg {i} swaps nothing")
        if leg.input_mint == leg.output_mint:
            return Rejection(MALFORMED, f"leg {i} swaps a mint for itself")
        if i and leg.input_mint != legs[i - 1].output_mint:
            return Rejection(MALFORMED, f"leg {i} does not take what leg {i - 1} gives")
    return None
