"""``lstarb explain ID``: the whole story of one opportunity or plan, from the streams and the
ledger.

Where each part comes from:

- the opportunity (OPPORTUNITIES, a day), its plan (EXECUTION, an hour), the planner's
  rejection when there is no plan (METRICS, an hour: ``planner.rejection``, one event per
  rejected opportunity with its reason and detail), the executor's results (EXECUTED, seven
  days) and the ledger's rows (kept for good);
- the pool states the opportunity was computed on: each leg's pool's last state on the tape
  (``md.<dex>.<pool>``) at or before the opportunity's slot, and at the slot it landed;
- each check of the planner, in the order it runs (:data:`~lstarb_runtime.planner.core.REASONS`)
  with its value where the plan records it and the limit of this configuration's ``[risk]``;
- the transaction's instructions: the executor publishes the signature, not the transaction,
  so they are rebuilt from the plan with the executor's own builder on the tape's accounts as
  of the plan's slot, and decoded (the submitter's tip transfer is added at sending: shown as
  the plan's tip);
- the outcome, and in one sentence why the opportunity was rejected, lost or what it made.

Streams are searched by the id's bytes first and only matching messages are decoded, so a
day of opportunities is read in a few seconds.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from nats.aio.client import Client
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_runtime.bus.streams import token
from lstarb_runtime.ledger import Ledger, LedgerError, LedgerNotFound, TradeFilter, TradeRecord
from lstarb_runtime.planner.core import REASONS
from lstarb_runtime.planner.settings import PlannerSettings, RiskSettings
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import (
    AccountEvent,
    EventModel,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    LegEvent,
    MetricEvent,
    OpportunityEvent,
    PoolStateEvent,
    decode_event,
)
from lstarb_sdk.solana import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAMS,
    WSOL_MINT,
)

from .reading import read, stream_infos

REJECTION_METRIC: Final = "planner.rejection"
"""The planner's one event per rejected opportunity (``services/planner.py``)."""


class NotFound(LookupError):
    """Nothing on the streams or in the ledger carries the id."""


@dataclass
class Found:
    """The events of one story, each with the stream sequence it was stored at."""

    opportunity: OpportunityEvent | None = None
    opportunity_seq: int = 0
    plans: list[ExecutionPlanEvent] = field(default_factory=list)
    results: list[tuple[int, ExecutionResultEvent]] = field(default_factory=list)
    rejections: list[MetricEvent] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    ledger_problem: str = ""


async def _search(
    nc: Client, stream: str, subject: str, needle: str, last_seq: int
) -> list[tuple[int, EventModel]]:
    """Every message of ``stream`` holding ``needle`` (decoded), in order."""
    if last_seq <= 0:
        return []
    raw = needle.encode()
    out: list[tuple[int, EventModel]] = []
    async for msg in read(nc, stream, subject, last_seq=last_seq):
        if raw not in msg.data:
            continue
        try:
            out.append((msg.sequence, decode_event(msg.data)))
        except DecodeError:
            continue
    return out


async def find(nc: Client, wanted: str, ledger_url: str | None) -> Found:
    """The opportunity, plans, rejections, results and ledger rows of ``wanted`` (an
    opportunity id or a plan id); :class:`NotFound` when nothing carries it."""
    infos = await stream_infos(nc)
    last = {name: info.last_seq if info.exists else 0 for name, info in infos.items()}
    found = Found()
    plans = await _search(nc, "EXECUTION", "exec.plan.>", wanted, last["EXECUTION"])
    by_plan = [e for _, e in plans if isinstance(e, ExecutionPlanEvent) and e.id == wanted]
    opp_id = by_plan[0].opportunity_id if by_plan else wanted
    found.plans = by_plan or [
        e for _, e in plans if isinstance(e, ExecutionPlanEvent) and e.opportunity_id == wanted
    ]
    for seq, event in await _search(nc, "OPPORTUNITIES", "opp.>", opp_id, last["OPPORTUNITIES"]):
        if isinstance(event, OpportunityEvent) and event.id == opp_id:
            found.opportunity, found.opportunity_seq = event, seq
            break
    plan_ids = {p.id for p in found.plans}
    if not plan_ids and wanted != opp_id:
        plan_ids = {wanted}
    needle = next(iter(plan_ids)) if len(plan_ids) == 1 else opp_id
    for seq, event in await _search(nc, "EXECUTED", "exec.result.>", needle, last["EXECUTED"]):
        if isinstance(event, ExecutionResultEvent) and (
            event.plan_id in plan_ids or event.opportunity_id == opp_id
        ):
            found.results.append((seq, event))
            plan_ids.add(event.plan_id)
    for _, event in await _search(nc, "METRICS", "metrics.planner", opp_id, last["METRICS"]):
        if (
            isinstance(event, MetricEvent)
            and event.name == REJECTION_METRIC
            and event.labels.get("opportunity_id") == opp_id
        ):
            found.rejections.append(event)
    if ledger_url is not None:
        ids = tuple(sorted(plan_ids | ({wanted} if not found.opportunity else set())))
        try:
            with Ledger.open(ledger_url, create=False) as ledger:
                found.trades = [
                    t
                    for t in ledger.trades(TradeFilter(plan_ids=ids))
                    if t.plan_id in plan_ids or t.plan_id == wanted
                ]
                if not found.trades and opp_id:
                    found.trades = [
                        t for t in ledger.trades(TradeFilter()) if t.opportunity_id == opp_id
                    ]
        except LedgerNotFound as exc:
            found.ledger_problem = str(exc)
        except LedgerError as exc:
            found.ledger_problem = str(exc)
    if not (found.opportunity or found.plans or found.results or found.rejections or found.trades):
        raise NotFound(
            f"no opportunity or plan {wanted!r} on the streams (OPPORTUNITIES keeps a day, "
            "EXECUTION and METRICS an hour, EXECUTED seven days) nor in the ledger"
        )
    return found


# ---------------------------------------------------------------------- pool states
async def pool_states(
    nc: Client, legs: Sequence[LegEvent], at_slot: int, landed_slot: int | None, last_seq: int
) -> list[dict[str, Any]]:
    """Per leg: its pool's last state at or before ``at_slot`` (and ``landed_slot``)."""
    out = []
    for i, leg in enumerate(legs):
        subject = f"md.{token(leg.dex)}.{leg.pool}"
        computed: tuple[int, PoolStateEvent] | None = None
        landed: tuple[int, PoolStateEvent] | None = None
        seen = 0
        if last_seq > 0:
            async for msg in read(nc, "MARKET_DATA", subject, last_seq=last_seq):
                try:
                    state = decode_event(msg.data)
                except DecodeError:
                    continue
                if not isinstance(state, PoolStateEvent):
                    continue
                seen += 1
                if state.slot <= at_slot:
                    computed = (msg.sequence, state)
                if landed_slot is not None and state.slot <= landed_slot:
                    landed = (msg.sequence, state)
        row: dict[str, Any] = {"leg": i, "pool": str(leg.pool), "dex": leg.dex, "states": seen}
        row["computed_on"] = _state(computed)
        if landed_slot is not None:
            row["at_landing"] = _state(landed)
        out.append(row)
    return out


def _state(found: tuple[int, PoolStateEvent] | None) -> dict[str, Any] | None:
    if found is None:
        return None
    seq, s = found
    return {
        "seq": seq,
        "slot": s.slot,
        "write_version": s.write_version,
        "reserve_a": s.reserve_a,
        "reserve_b": s.reserve_b,
        "mint_a": str(s.mint_a),
        "mint_b": str(s.mint_b),
        "price_human": s.price_human,
        "liquidity": s.liquidity,
        "fee_ppm": s.fee_ppm or s.fee_bps * 100,
        "source": s.source,
    }


# ---------------------------------------------------------------------- the planner's checks
_CHECKS: Final[dict[str, str]] = {
    "halted": "the kill switch",
    "unknown_version": "schema version",
    "malformed": "route well formed",
    "unknown_pool": "every pool in the book",
    "too_old_slots": "age in slots",
    "too_old_ms": "age in ms",
    "book_behind": "book caught up with the opportunity",
    "requote_failed": "legs re-quote",
    "stale_pool": "route pools fresh",
    "unpriced_base": "base mint priced in SOL",
    "below_min_trade": "size within the trade bounds",
    "unfunded": "funded (wallet, flash loan)",
    "depth": "depth of every leg",
    "price_impact": "price impact of every leg",
    "fair_value": "every leg near fair value",
    "unpriced_leg": "every leg priced",
    "below_min_profit": "minimum net profit",
    "max_loss": "maximum loss",
    "low_confidence": "strategy confidence",
    "risk": "risk score",
}


def net_lamports(plan: ExecutionPlanEvent) -> int | None:
    """The planner's net profit in lamports (SOL base: exact; other bases: unknown here)."""
    if plan.base_mint != WSOL_MINT:
        return None
    return (
        plan.gross_profit
        - plan.base_fee_lamports
        - plan.priority_fee_lamports
        - plan.tip_lamports
        - plan.loan_fee
        - plan.rent_lamports
    )


def factors(
    opp: OpportunityEvent | None,
    plan: ExecutionPlanEvent | None,
    rejection: MetricEvent | None,
    risk: RiskSettings,
    planner: PlannerSettings,
) -> list[dict[str, Any]]:
    """Each check of the planner in order: passed / failed / not reached, value and limit."""
    values: dict[str, tuple[Any, Any]] = {}
    if plan is not None:
        tape_slot = plan.expiry_slot - planner.expiry_slots
        if opp is not None:
            values["too_old_slots"] = (tape_slot - opp.slot, risk.max_age_slots)
            values["too_old_ms"] = (
                (plan.created_ns - opp.detected_ns) // 1_000_000,
                risk.max_age_ms,
            )
        values["book_behind"] = (f"route state of slot {plan.planned_slot}", None)
        values["below_min_trade"] = (
            plan.amount_in,
            f"{risk.min_trade_lamports}..{risk.max_trade_lamports} (SOL value)",
        )
        values["unfunded"] = (
            f"{plan.amount_in - plan.loan_amount} own"
            + (f" + {plan.loan_amount} from {plan.funding_provider}" if plan.loan_amount else ""),
            None,
        )
        net = net_lamports(plan)
        values["below_min_profit"] = (
            net if net is not None else plan.expected_profit,
            f">= {risk.min_profit_lamports} lamports and {risk.min_profit_bps} bps",
        )
        values["max_loss"] = (plan.max_loss_lamports, risk.max_loss_lamports)
        values["low_confidence"] = (round(plan.confidence, 6), risk.min_confidence)
        values["risk"] = (round(plan.risk_score, 6), risk.max_risk_score)
    failed = rejection.labels.get("reason") if rejection is not None else None
    state = "passed" if plan is not None else ("passed" if failed else "unknown")
    out = []
    for reason in REASONS:
        row: dict[str, Any] = {"check": _CHECKS.get(reason, reason), "reason": reason}
        if reason == failed:
            row["result"] = "failed"
            row["detail"] = rejection.labels.get("detail", "") if rejection else ""
            state = "not reached"
        else:
            row["result"] = state
        if reason in values:
            row["value"], row["limit"] = values[reason]
        out.append(row)
    return out


def costs(plan: ExecutionPlanEvent, result: ExecutionResultEvent | None) -> dict[str, Any]:
    """What the planner expected to pay and gain, and what the result says it did."""
    doc: dict[str, Any] = {
        "amount_in": plan.amount_in,
        "gross_profit": plan.gross_profit,
        "base_fee_lamports": plan.base_fee_lamports,
        "priority_fee_lamports": plan.priority_fee_lamports,
        "compute_unit_limit": plan.compute_unit_limit,
        "compute_unit_price": plan.compute_unit_price,
        "tip_lamports": plan.tip_lamports,
        "loan_fee": plan.loan_fee,
        "loan_amount": plan.loan_amount,
        "rent_lamports": plan.rent_lamports,
        "net_lamports": net_lamports(plan),
        "expected_profit": plan.expected_profit,
        "max_loss_lamports": plan.max_loss_lamports,
        "slippage_bps": plan.slippage_bps,
    }
    if result is not None:
        doc["actual"] = {
            "fee_lamports": result.fee_lamports,
            "tip_lamports": result.tip_lamports,
            "loan_fee": result.loan_fee,
            "out_amount": result.out_amount,
            "realized_profit": result.realized_profit,
            "vs_expected": result.realized_profit - plan.expected_profit,
        }
    return doc


# ---------------------------------------------------------------------- instructions
def decode_instruction(i: int, ix: Instruction) -> dict[str, Any]:
    """One instruction: program, what it does, its arguments where the layout is known."""
    program = ix.program_id
    data = bytes(ix.data)
    keys = [a.pubkey for a in ix.accounts]
    row: dict[str, Any] = {
        "index": i,
        "program": str(program),
        "accounts": len(keys),
        "data_len": len(data),
    }
    name, args = "", {}
    if program == COMPUTE_BUDGET_PROGRAM_ID and data:
        if data[0] == 2 and len(data) >= 5:
            name, args = "SetComputeUnitLimit", {"units": struct.unpack_from("<I", data, 1)[0]}
        elif data[0] == 3 and len(data) >= 9:
            name = "SetComputeUnitPrice"
            args = {"micro_lamports": struct.unpack_from("<Q", data, 1)[0]}
    elif program == ASSOCIATED_TOKEN_PROGRAM_ID and len(keys) >= 4:
        name = "CreateIdempotent" if data == b"\x01" else "Create"
        args = {"account": str(keys[1]), "owner": str(keys[2]), "mint": str(keys[3])}
    elif program in TOKEN_PROGRAMS and data:
        if data[0] == 17:
            name, args = "SyncNative", {"account": str(keys[0])}
        elif data[0] == 9:
            name, args = "CloseAccount", {"account": str(keys[0]), "to": str(keys[1])}
        elif data[0] == 3 and len(data) >= 9:
            name, args = "Transfer", {"amount": struct.unpack_from("<Q", data, 1)[0]}
    elif (
        program == SYSTEM_PROGRAM_ID
        and len(data) >= 12
        and struct.unpack_from("<I", data, 0)[0] == 2
    ):
        name = "Transfer"
        args = {
            "from": str(keys[0]),
            "to": str(keys[1]),
            "lamports": struct.unpack_from("<Q", data, 4)[0],
        }
    if not name:
        row["data"] = data[:32].hex()
    row["name"] = name or "(unknown program)"
    row["program_name"] = _PROGRAMS.get(program, "")
    if args:
        row["args"] = args
    return row


_PROGRAMS: Final[dict[Pubkey, str]] = {
    COMPUTE_BUDGET_PROGRAM_ID: "Compute Budget",
    ASSOCIATED_TOKEN_PROGRAM_ID: "Associated Token Account",
    SYSTEM_PROGRAM_ID: "System",
    **{p: "SPL Token" if str(p).startswith("Tokenkeg") else "Token-2022" for p in TOKEN_PROGRAMS},
}


def rebuild_instructions(
    plan: ExecutionPlanEvent,
    payer: Pubkey,
    tape: Iterable[AccountEvent],
    host: Any,
    context: Any,
) -> tuple[list[dict[str, Any]], str]:
    """The plan's instructions as the executor builds them, on the tape's accounts up to the
    plan's slot; ``(rows, "")`` or ``([], why they could not be rebuilt)``."""
    from lstarb_runtime.executor.lookup_tables import LookupTables
    from lstarb_runtime.executor.transaction import TransactionBuilder
    from lstarb_runtime.pool_book import PoolBook
    from lstarb_sdk import FundingProvider

    try:
        book = PoolBook.for_tape(host)
        for event in tape:
            book.apply(event.pubkey, event.account(), (event.slot, event.write_version))
        providers: dict[str, FundingProvider] = {}
        if plan.funding_provider:
            for _, provider in host.collect(
                "lstarb_funding_providers", _is_provider, context=context
            ):
                providers[provider.name] = provider
            chosen = providers.get(plan.funding_provider)
            if chosen is not None:
                keys = list(chosen.accounts_to_update())
                chosen.update({k: book.accounts.get(k) for k in keys})
        builder = TransactionBuilder(book, providers, LookupTables(None))
        assembly = builder.assemble(plan, payer)
    except Exception as exc:  # BuildError, or a plugin's own error: the message says
        return [], f"not rebuilt: {type(exc).__name__}: {exc}"
    rows = [decode_instruction(i, ix) for i, ix in enumerate(assembly.instructions)]
    flash = set()
    borrow = assembly.borrow_index  # absolute: the provider was given the offset
    if borrow is not None and borrow < len(rows):
        flash.add(borrow)
        rows[borrow]["name"] = f"flash borrow ({plan.funding_provider})"
        program = rows[borrow]["program"]
        repay = [k for k in range(borrow + 1, len(rows)) if rows[k]["program"] == program]
        if repay:
            flash.add(repay[-1])
            rows[repay[-1]]["name"] = f"flash repay ({plan.funding_provider})"
    owners: list[Pubkey | None] = []
    for leg in plan.legs:
        account = book.accounts.get(leg.pool)
        owners.append(account.owner if account is not None else None)
    next_leg = 0
    for k, (row, ix) in enumerate(zip(rows, assembly.instructions, strict=True)):
        if k in flash or next_leg >= len(plan.legs) or ix.program_id != owners[next_leg]:
            continue
        leg = plan.legs[next_leg]
        row["name"] = f"swap on {leg.dex} (leg {next_leg})"
        row["program_name"] = leg.dex
        row["args"] = {"in_amount": leg.in_amount, "min_out": leg.min_out}
        row.pop("data", None)
        next_leg += 1
    return rows, ""


def _is_provider(item: object) -> str | None:
    from lstarb_sdk import FundingProvider

    return None if isinstance(item, FundingProvider) else f"{item!r} is not a FundingProvider"


async def tape_until(nc: Client, slot: int, last_seq: int) -> list[AccountEvent]:
    """The tape's account updates of slots up to ``slot``, in apply order."""
    out: list[AccountEvent] = []
    if last_seq <= 0:
        return out
    async for msg in read(nc, "MARKET_DATA", "md.account.>", last_seq=last_seq):
        try:
            event = decode_event(msg.data)
        except DecodeError:
            continue
        if isinstance(event, AccountEvent) and event.slot <= slot:
            out.append(event)
    return out


# ---------------------------------------------------------------------- the verdict
def verdict(found: Found) -> str:
    """Why it was rejected, lost, or what it made: one sentence."""
    results = [r for _, r in found.results]
    final = next((r for r in reversed(results) if r.status != "rejected"), None) or (
        results[-1] if results else None
    )
    if final is not None:
        if final.status in ("landed", "paper"):
            expected = found.plans[0].expected_profit if found.plans else final.expected_profit
            return (
                f"{final.status} at slot {final.slot}: realized {final.realized_profit}, "
                f"expected {expected} ({final.realized_profit - expected:+d})"
                + (" on paper" if final.paper else "")
            )
        if final.status == "rejected":
            return f"refused by the executor, nothing sent: {final.error}"
        if final.status == "failed":
            return (
                f"lost: the transaction failed on chain at slot {final.slot} ({final.error}); "
                f"it paid {final.fee_lamports} lamports of fees"
            )
        return f"lost: {final.status}: {final.error or 'no reason given'}"
    if found.rejections:
        last = found.rejections[-1].labels
        return f"rejected by the planner: {last.get('reason')}: {last.get('detail')}"
    if found.plans:
        return "planned; no result on EXECUTED yet (the executor has not finished it)"
    if found.trades:
        t = found.trades[-1]
        return f"{t.outcome} (from the ledger; the streams no longer hold it): {t.error or ''}"
    return (
        "detected; no plan and no rejection on the streams: the planner has not decided it "
        "yet, or METRICS (an hour) no longer holds its rejection"
    )


def event_json(event: EventModel | None) -> Any:
    return None if event is None else event.model_dump(mode="json")


def trade_json(t: TradeRecord) -> dict[str, Any]:
    return {
        "plan_id": t.plan_id,
        "outcome": t.outcome,
        "realized_profit": t.realized_profit,
        "fee_lamports": t.fee_lamports,
        "tip_lamports": t.tip_lamports,
        "loan_fee": t.loan_fee,
        "signature": t.signature,
        "slot": t.slot,
        "route": t.route,
        "strategy": t.strategy,
        "stream_seq": t.stream_seq,
        "error": t.error,
    }


def when(ns: int) -> str:
    if not ns:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns % 10**9:09d}"[:4]


# ---------------------------------------------------------------------- the story
async def story(
    nc: Client,
    wanted: str,
    *,
    ledger_url: str | None,
    risk: RiskSettings,
    planner: PlannerSettings,
    host: Any = None,
    context: Any = None,
) -> dict[str, Any]:
    """Everything ``lstarb explain`` says about ``wanted``, as one JSON-ready document.

    ``host`` (the plugin host) rebuilds the transaction's instructions; None skips that part.
    """
    found = await find(nc, wanted, ledger_url)
    infos = await stream_infos(nc)
    market_last = infos["MARKET_DATA"].last_seq if infos["MARKET_DATA"].exists else 0
    opp, plan = found.opportunity, (found.plans[0] if found.plans else None)
    results = [r for _, r in found.results]
    final = next((r for r in reversed(results) if r.status != "rejected"), None) or (
        results[-1] if results else None
    )
    rejection = found.rejections[-1] if found.rejections and plan is None else None
    kind = "plan" if plan is not None and plan.id == wanted else "opportunity"
    doc: dict[str, Any] = {
        "id": wanted,
        "kind": kind,
        "opportunity_id": opp.id if opp else (plan.opportunity_id if plan else None),
        "plan_ids": sorted({p.id for p in found.plans} | {r.plan_id for r in results}),
        "verdict": verdict(found),
        "opportunity": event_json(opp),
        "opportunity_seq": found.opportunity_seq or None,
        "decision": None,
        "factors": factors(opp, plan, rejection, risk, planner),
        "costs": costs(plan, final) if plan is not None else None,
        "plan": event_json(plan),
        "pool_states": [],
        "instructions": [],
        "instructions_note": "",
        "results": [{"seq": seq, **event_json(r)} for seq, r in found.results],
        "ledger": [trade_json(t) for t in found.trades],
        "ledger_problem": found.ledger_problem,
    }
    if plan is not None:
        doc["decision"] = {"outcome": "planned", "plan_id": plan.id}
    elif rejection is not None:
        doc["decision"] = {
            "outcome": "rejected",
            "reason": rejection.labels.get("reason"),
            "detail": rejection.labels.get("detail"),
            "at_ns": rejection.time_ns,
        }
    legs = plan.legs if plan is not None else (opp.legs if opp is not None else ())
    at_slot = opp.slot if opp is not None else (plan.opportunity_slot if plan else 0)
    landed = final.slot if final is not None and final.slot else None
    doc["pool_states"] = await pool_states(nc, legs, at_slot, landed, market_last)
    if plan is None:
        doc["instructions_note"] = "no plan: no transaction was built"
    elif host is None:
        doc["instructions_note"] = "not rebuilt (no plugins loaded)"
    else:
        wallet = (final.wallet if final is not None else b"") or b""
        payer = Pubkey.from_bytes(bytes(wallet)) if len(bytes(wallet)) == 32 else Pubkey.default()
        tape = await tape_until(nc, max(plan.planned_slot, at_slot), market_last)
        rows, problem = rebuild_instructions(plan, payer, tape, host, context)
        doc["instructions"] = rows
        doc["instructions_note"] = problem or (
            f"rebuilt from the plan on the tape's {len(tape)} account updates up to slot "
            f"{max(plan.planned_slot, at_slot)}"
            + (f", for wallet {payer}" if payer != Pubkey.default() else "")
            + (
                f"; the submitter adds a tip transfer of {plan.tip_lamports} lamports"
                if plan.tip_lamports
                else ""
            )
        )
    return doc


def render_story(doc: dict[str, Any]) -> list[str]:
    """The story for people, section by section."""
    out = [f"{doc['kind']} {doc['id']}", f"  verdict: {doc['verdict']}"]
    opp = doc["opportunity"]
    if opp is not None:
        route = " > ".join(f"{leg['dex']}:{leg['pool'][:8]}…" for leg in opp["legs"])
        out += [
            "",
            f"opportunity {opp['id']} (OPPORTUNITIES #{doc['opportunity_seq']})",
            f"  strategy {opp['strategy']}, slot {opp['slot']}, "
            f"detected {when(opp['detected_ns'])}",
            f"  route {route}",
            f"  size {opp['legs'][0]['in_amount']}, expected profit {opp['expected_profit']}",
        ]
    else:
        out += ["", "opportunity: no longer on OPPORTUNITIES (kept a day)"]
    out += ["", "pool states (the tape's last state at the opportunity's slot; at landing)"]
    for row in doc["pool_states"]:
        out.append(f"  leg {row['leg']} {row['dex']} {row['pool']}  ({row['states']} states)")
        for label in ("computed_on", "at_landing"):
            if label not in row:
                continue
            s = row[label]
            if s is None:
                out.append(f"    {label:<12} none on the tape")
                continue
            out.append(
                f"    {label:<12} slot {s['slot']} (#{s['seq']}): reserves {s['reserve_a']} / "
                f"{s['reserve_b']}, price {s['price_human']:.9g}, fee {s['fee_ppm']} ppm"
            )
    decision = doc["decision"]
    out += ["", "planner"]
    if decision is None:
        out.append("  no decision on the streams")
    elif decision["outcome"] == "planned":
        out.append(f"  planned: {decision['plan_id']}")
    else:
        out.append(f"  rejected: {decision['reason']}: {decision['detail']}")
    for f in doc["factors"]:
        value = ""
        if "value" in f:
            value = f"  value {f['value']}" + (
                f", limit {f['limit']}" if f.get("limit") is not None else ""
            )
        detail = f"  ({f['detail']})" if f.get("detail") else ""
        out.append(f"  {f['result']:<11} {f['check']:<38}{value}{detail}")
    if doc["costs"] is not None:
        c = doc["costs"]
        out += [
            "",
            "costs (lamports)",
            f"  gross {c['gross_profit']} - base fee {c['base_fee_lamports']} - priority fee "
            f"{c['priority_fee_lamports']} ({c['compute_unit_limit']} CU x "
            f"{c['compute_unit_price']} µlamports) - tip {c['tip_lamports']} - loan fee "
            f"{c['loan_fee']} - rent {c['rent_lamports']} = net {c['net_lamports']}",
            f"  expected profit {c['expected_profit']}, max loss {c['max_loss_lamports']}, "
            f"slippage {c['slippage_bps']} bps",
        ]
        if "actual" in c:
            a = c["actual"]
            out.append(
                f"  actual: fees {a['fee_lamports']}, tip {a['tip_lamports']}, loan fee "
                f"{a['loan_fee']}, realized {a['realized_profit']} ({a['vs_expected']:+d})"
            )
    out += ["", "transaction"]
    if doc["instructions_note"]:
        out.append(f"  {doc['instructions_note']}")
    for ix in doc["instructions"]:
        args = ", ".join(f"{k}={v}" for k, v in ix.get("args", {}).items())
        program = ix["program_name"] or ix["program"]
        out.append(f"  #{ix['index']:<2} {program}: {ix['name']}" + (f" ({args})" if args else ""))
    out += ["", "executor"]
    if not doc["results"]:
        out.append("  no result on EXECUTED")
    for r in doc["results"]:
        out.append(
            f"  EXECUTED #{r['seq']}: {r['status']}"
            + (" (paper)" if r["paper"] else "")
            + f", slot {r['slot']}, signature {r['signature'] or '-'}"
            + (f", error: {r['error']}" if r["error"] else "")
        )
    out += ["", "ledger"]
    if doc["ledger_problem"]:
        out.append(f"  {doc['ledger_problem']}")
    elif not doc["ledger"]:
        out.append("  no row (the auditor has not recorded a result of it)")
    for t in doc["ledger"]:
        out.append(
            f"  {t['outcome']}: realized {t['realized_profit']}, fees {t['fee_lamports']}, "
            f"tip {t['tip_lamports']}, loan fee {t['loan_fee']} (EXECUTED #{t['stream_seq']})"
        )
    return out
