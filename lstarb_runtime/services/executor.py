"""The executor service: EXECUTION -> build, sign, submit, follow -> EXECUTED, each plan once.

For each plan (docs/executor.md), nothing waits on the server before the transaction is signed:

1. refuse what must not run: a broken promise of the planner, an expired plan, the kill
   switch thrown (nothing new is sent while halted; what is in flight finishes);
2. take a free wallet (one plan per wallet at a time) with the SOL the trade needs;
3. build the v0 transaction (compute budget, token accounts, wSOL, each leg's swap at its
   min_out, the flash loan, the tip) from cached state, and sign it: keys live here only;
4. write the plan's exactly-once record once, already decided (signed with the signature, or
   rejected with the reason), with one ``create``; if another executor recorded the plan
   first, drop the transaction (never sent) and follow its record instead;
5. send it through the plan's submitter, or in paper mode (the default) hand it to the landing
   simulator, which never sends;
6. follow it to an outcome, mark the plan done with it (the one ``update`` that decides it:
   of several executors following one record, only the one whose update succeeds counts),
   publish the ExecutionResultEvent and wait for the server's acknowledgement; only then is
   the plan's message acknowledged.

A restarted executor first follows what its store says was in flight, then takes new plans.
Several executor processes share the work through one durable consumer (``executor``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from solders.hash import Hash
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from lstarb_runtime import metrics
from lstarb_runtime.bus import Delivery
from lstarb_runtime.bus.jetstream import JetStreamBus
from lstarb_runtime.bus.tracing import TraceContext
from lstarb_runtime.executor.fetcher import AccountFetcher
from lstarb_runtime.executor.fingerprint import state_fingerprint
from lstarb_runtime.executor.landing import LandingTape, Outcome, realized, simulate
from lstarb_runtime.executor.lookup_tables import LookupTableError, LookupTables
from lstarb_runtime.executor.store import Lost, PlanRecord, PlanStore
from lstarb_runtime.executor.transaction import (
    TOKEN_ACCOUNT_RENT,
    Assembly,
    BuildError,
    BuiltTransaction,
    TransactionBuilder,
)
from lstarb_runtime.executor.validation import expired, plan_problem
from lstarb_runtime.executor.wallets import (
    NoWallet,
    Wallet,
    WalletPool,
    load_wallets,
    paper_wallets,
)
from lstarb_runtime.planner.settings import held_token_mints
from lstarb_runtime.pool_book import PoolBook
from lstarb_runtime.services.base import STOP_GRACE, Service
from lstarb_sdk import DataSource, FundingProvider, SubmissionResult, Submitter
from lstarb_sdk.errors import ConfigError, DataSourceError, DecodeError, SubmissionError
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent
from lstarb_sdk.solana import WSOL_MINT
from lstarb_sdk.submitter import (
    FINAL_STATUSES,
    STATUS_ACCEPTED,
    STATUS_FAILED,
    STATUS_INVALID,
    STATUS_LANDED,
    STATUS_REJECTED,
)

log = logging.getLogger("lstarb.executor")

DURABLE: Final = "executor"
PLAN_TO_TAKEN: Final = "plan created -> taken"
"""From the planner making the plan (``created_ns``) to this executor handling it: the
EXECUTION stream's share of the latency (publish, store, deliver), in any process."""
RECEIVED_TO_SIGNED: Final = "update received -> signed"
"""From the account update that set the plan's opportunity off (the trace's origin) to its
transaction signed and ready to send: the pipeline's end-to-end latency, across processes."""
SIGNED_TO_RECORDED: Final = "signed -> recorded"
"""From the signature to the plan's exactly-once record written (the one round trip before
sending: the ``create`` and the ``inflight`` listing, together)."""
DECIDED_AT_STOP: Final = "paper trades decided on the last states (the market stopped first)"
"""Paper trades this process's scanner stopped under, before their landing slot showed: the
newest states decided them at once, and their wait is not observed as the ``land`` stage."""
RECEIVED_TO_SENT: Final = "update received -> sent"
"""From the trace's origin to the transaction handed to its submitter (returned from
``submit``) or, in paper, to the landing simulator: what a live trade waits before it is out."""
PAPER_SUBMITTER: Final = "paper"
"""The built-in paper submitter: plans naming it (or none) are simulated as one transaction."""
PAPER_BLOCKHASH: Final = Hash.hash(b"lstarb paper blockhash")
"""Signs paper transactions when no submitter has a blockhash cache (a recording on replay)."""


def _check(kind: type[Any]) -> Any:
    def check(item: object) -> str | None:
        if not isinstance(item, kind):
            return f"{item!r} is not a {kind.__name__}"
        if not getattr(item, "name", ""):
            return f"{type(item).__name__} has no name"
        return None

    return check


REASON_KINDS: Final = (
    ("below its min_out", "price moved past min_out"),
    ("expired", "expired before sending"),
    ("halted", "kill switch"),
    ("flash repay", "loan not repaid"),
    ("may lose", "above max_loss_lamports"),
    ("wallet", "no free wallet"),
    ("is not loaded", "submitter not loaded"),
    ("bytes, above", "transaction too large"),
)
"""Counted kinds of the reasons a plan did not land (the summary's "not landed" row)."""


def reason_kind(error: str | None) -> str:
    """A reason's kind for counting; an unknown reason counts under its first clause."""
    if not error:
        return "no reason given"
    for needle, kind in REASON_KINDS:
        if needle in error:
            return kind
    return error.split(":", 1)[0][:60]


def _instance_name(configured: str) -> str:
    return configured or socket.gethostname()


class Executor(Service):
    """Plans in, signed transactions out, one outcome per plan on EXECUTED."""

    role = "executor"
    stream_driven = True
    tape: LandingTape
    """The executor's pool book (the market tape) and the landing simulator's clock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: Counter[str] = Counter()
        self.pnl = 0
        self.pnl_by_strategy: Counter[str] = Counter()
        """Realized (paper: simulated) profit of landed and failed trades, by strategy."""
        self.refusals: Counter[str] = Counter()
        """Why plans were not sent or did not land (rejected, failed, dropped), by kind."""
        self._active: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = False

    # ------------------------------------------------------------------ start and stop
    async def on_start(self) -> None:
        env = self.env
        self.config = cfg = env.settings.executor
        self.paper = env.context.paper
        self.mode = metrics.mode_label(self.paper)
        self.prepared = held_token_mints(env.settings.planner, True) if self.paper else frozenset()
        """Paper: mints whose token accounts the wallets hold from the start, as the planner
        assumes (a prepared trading wallet; no creation, no rent)."""
        self.submitters: dict[str, Submitter] = {
            s.name: s
            for _, s in env.host.collect(
                "lstarb_submitters", _check(Submitter), context=env.context
            )
        }
        self.providers: dict[str, FundingProvider] = {
            p.name: p
            for _, p in env.host.collect(
                "lstarb_funding_providers", _check(FundingProvider), context=env.context
            )
        }
        self.sources: list[DataSource] = [
            s
            for _, s in env.host.collect(
                "lstarb_data_sources", _check(DataSource), context=env.context
            )
        ]
        self.fetcher = AccountFetcher(self.sources)
        self.wallets = WalletPool(self._load_wallets())
        self.tape = tape = LandingTape(self.bus, PoolBook.for_tape(env.host))
        await tape.start()
        self.tables = LookupTables(self.fetcher.fetch if self.fetcher.can_fetch else None)
        extra = [Pubkey.from_string(k) for k in cfg.lookup_tables]
        await self._load_tables(extra)
        self.builder = TransactionBuilder(
            tape.book, self.providers, self.tables, extra_tables=extra
        )
        if not self.paper:
            await self._warm_blockhash()
        await self._refresh_chain_state()
        self.store = PlanStore(self.bus, _instance_name(cfg.name))
        self._stages = {s: metrics.stage(s) for s in ("build", "sign", "submit", "land")}
        await self._recover()
        consumers = len(self.wallets) if isinstance(self.bus, JetStreamBus) else 1
        for _ in range(consumers):  # one plan per wallet at a time, the group shares the rest
            # one plan a pull: a plan never waits in a pull behind another one's landing
            await self.consume("EXECUTION", self.handle, durable=DURABLE, gated=False, batch=1)
        self._spawn(self._refresh_loop(), "refresh")
        self._spawn(self._end_of_market(), "market")

    async def _end_of_market(self) -> None:
        """When this process's scanner stops, no later slot comes from it: paper trades that
        wait for their landing slot are decided on the newest states now (a run's end would
        otherwise wait ``landing_timeout_s`` for each, and report that wait as confirmation).
        """
        await self.env.market_stopped.wait()
        self.tape.end()

    def _load_wallets(self) -> list[Wallet]:
        cfg = self.config
        if self.paper:
            return paper_wallets(cfg.paper_wallets, cfg.paper_balance_lamports)
        paths = [p for p in (self.env.settings.run.keypair, *cfg.keypairs) if p is not None]
        if not paths:
            raise ConfigError("the executor trades live with run.keypair or executor.keypairs")
        return load_wallets(paths)

    async def _load_tables(self, keys: Sequence[Pubkey]) -> None:
        try:
            await self.tables.load(keys)
        except (LookupTableError, DataSourceError) as exc:
            raise ConfigError(f"executor.lookup_tables: {exc}") from None

    def _spawn(self, work: Any, what: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work, name=f"lstarb-executor-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """The base's stop (intake, the plans in hand, flush), then what the executor holds:
        plans followed since a restart get ``grace`` to finish, then the tape, the plugins'
        submitters and data sources are closed."""
        await super().stop(grace)
        if self._released:
            return
        self._released = True
        deadline = time.monotonic() + grace
        while self._active and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for task in list(self._tasks):
            task.cancel()
        if getattr(self, "tape", None) is not None:
            await self.tape.stop()
        for plugin in [*getattr(self, "submitters", {}).values(), *getattr(self, "sources", [])]:
            try:
                await plugin.close()
            except Exception:
                log.exception("%s: close failed", plugin.name)

    # ------------------------------------------------------------------ chain state
    async def _refresh_chain_state(self) -> None:
        """Funding providers' accounts and, live, the wallets' balances and token accounts."""
        if not self.fetcher.can_fetch:
            return
        for provider in self.providers.values():
            keys = list(provider.accounts_to_update())
            if not keys:
                continue
            try:
                provider.update(await self.fetcher.fetch(keys))
            except (DataSourceError, DecodeError) as exc:
                log.warning("funding provider %s: state not refreshed: %s", provider.name, exc)
            except Exception:
                log.exception("funding provider %s: update raised", provider.name)
        if not self.paper:
            try:
                found = await self.fetcher.fetch(w.pubkey for w in self.wallets.wallets)
            except DataSourceError as exc:
                log.warning("wallet balances not refreshed: %s", exc)
                return
            for wallet in self.wallets.wallets:
                account = found.get(wallet.pubkey)
                if not wallet.busy:
                    wallet.set_balance(account.lamports if account is not None else 0)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.balance_refresh_s)
            await self._refresh_chain_state()

    def _blockhash(self) -> Hash:
        """A recent blockhash from a submitter's cache (no I/O); paper falls back to a fixed one."""
        for submitter in self.submitters.values():
            cache = getattr(submitter, "blockhashes", None)
            if cache is None:
                continue
            try:
                blockhash: Hash = cache.current().blockhash
                return blockhash
            except SubmissionError:
                continue
        if self.paper:
            return PAPER_BLOCKHASH
        raise BuildError("no recent blockhash: select the rpc plugin, whose cache provides one")

    async def _warm_blockhash(self) -> None:
        for submitter in self.submitters.values():
            cache = getattr(submitter, "blockhashes", None)
            if cache is not None:
                try:
                    await cache.get()
                except SubmissionError as exc:
                    log.warning("submitter %s: no blockhash: %s", submitter.name, exc)

    # ------------------------------------------------------------------ one plan
    async def handle(self, delivery: Delivery) -> None:
        plan = delivery.event
        if not isinstance(plan, ExecutionPlanEvent):
            return
        consumed_ns = time.perf_counter_ns()
        if plan.created_ns:
            self.observe(PLAN_TO_TAKEN, time.time_ns() - plan.created_ns)
        running = self._active.get(plan.id)
        if running is not None:  # the same plan, delivered twice to this process
            self.count("duplicate plan messages")
            await running
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._active[plan.id] = done
        try:
            record = None
            if delivery.num_delivered > 1:  # delivered before: its record may be written
                record = await self.store.get(plan.id)
            if record is None:  # the first delivery needs no look: create decides
                await self._decide(plan, None, consumed_ns, delivery.data)
            else:
                await self._resume(plan, record, delivery.data)
        finally:
            del self._active[plan.id]
            done.set_result(None)

    async def _decide(
        self, plan: ExecutionPlanEvent, over: PlanRecord | None, consumed_ns: int, data: bytes
    ) -> None:
        """Execute the plan; when another executor recorded it first, follow its record."""
        try:
            await self._execute(plan, over, consumed_ns, data)
        except Lost:  # our transaction was never sent: it is dropped, the winner's stands
            self.count("plans lost to another executor")
            await self._resume(plan, None, data)

    async def _resume(
        self, plan: ExecutionPlanEvent, record: PlanRecord | None, data: bytes
    ) -> None:
        """The plan has a record: follow what it says, or take over an earlier version's claim."""
        for _ in range(3):
            if record is None:
                record = await self.store.get(plan.id)
            if record is None:  # expired from the bucket: older than a day, finished long ago
                self.count("duplicate plan messages")
                return
            if record.state == "done":
                self.count("duplicate plan messages")
                if record.status == STATUS_REJECTED and record.error:
                    # recorded before its result: publish it (again; the stream de-duplicates)
                    outcome = Outcome(STATUS_REJECTED, error=record.error)
                    await self.publish(self._result(plan, record, outcome, None))
                else:  # decided, maybe not published (its publisher died): the same result
                    await self._publish_recorded(record)
                return
            if record.state == "signed":
                self.count("plans followed")
                await self._follow_record(record, plan)
                return
            # "claimed" by an executor of an earlier version that may have died before signing
            try:
                await self._execute(plan, record, time.perf_counter_ns(), data)
            except Lost:
                record = None
                continue
            self.count("plans taken over")
            return

    async def _execute(
        self, plan: ExecutionPlanEvent, over: PlanRecord | None, consumed_ns: int, data: bytes
    ) -> None:
        """Check, take a wallet, build, sign, record once, send; Lost (nothing sent) when
        another executor recorded the plan first. ``over``: a claim of an earlier version;
        ``data``: the plan's message as received (kept in the record as it is)."""
        reason = plan_problem(plan) or self._stale(plan)
        if reason is None and self.halted:
            reason = f"halted: {self.env.halt.reason or 'kill switch'}"
        submitter: Submitter | None = None
        if reason is None:
            submitter, reason = self._submitter_for(plan)
        if reason is not None:
            await self._reject(plan, over, reason)
            return
        assert submitter is not None
        deadline = time.monotonic() + max(0.0, (plan.expiry_ns - time.time_ns()) / 1e9)
        if not plan.expiry_ns:
            deadline = time.monotonic() + self.config.confirm_timeout_s
        try:
            wallet = await self.wallets.acquire(self._lamports_needed(plan), deadline=deadline)
        except NoWallet as exc:
            await self._reject(plan, over, str(exc))
            return
        try:  # a Lost leaves with the wallet released: the winner's record may name it
            await self._trade(plan, over, submitter, wallet, consumed_ns, data)
        finally:
            await self.wallets.release(wallet)

    async def _reject(
        self,
        plan: ExecutionPlanEvent,
        over: PlanRecord | None,
        reason: str,
        wallet: Wallet | None = None,
    ) -> None:
        """Record the plan rejected (one write; Lost if it was recorded first), then publish."""
        record = await self.store.rejected(plan.id, reason, over=over)
        await self._finish(plan, record, Outcome(STATUS_REJECTED, error=reason), None, wallet)

    def _stale(self, plan: ExecutionPlanEvent) -> str | None:
        return expired(plan, slot=self.tape.slot, now_ns=time.time_ns())

    def _submitter_for(self, plan: ExecutionPlanEvent) -> tuple[Submitter | None, str | None]:
        name = plan.submitter or PAPER_SUBMITTER
        submitter = self.submitters.get(name)
        if submitter is None:
            loaded = ", ".join(sorted(self.submitters)) or "none"
            return None, f"submitter {name!r} is not loaded (loaded: {loaded})"
        if not self.paper and name == PAPER_SUBMITTER:
            return None, "a live run does not send through the paper submitter"
        return submitter, None

    def _lamports_needed(self, plan: ExecutionPlanEvent) -> int:
        """SOL the wallet must hold for the trade: fees, tip, rent of new accounts, own capital."""
        need = plan.base_fee_lamports + plan.priority_fee_lamports + plan.tip_lamports
        need += plan.rent_lamports + TOKEN_ACCOUNT_RENT  # the wSOL account while it is open
        if plan.base_mint == WSOL_MINT:
            need += plan.amount_in - plan.loan_amount
        return need

    def _tip(
        self, submitter: Submitter, plan: ExecutionPlanEvent, wallet: Wallet
    ) -> Instruction | None:
        if not (submitter.supports_bundles and plan.tip_lamports):
            return None
        try:
            return submitter.tip_instruction(wallet.pubkey, plan.tip_lamports)
        except ValueError as exc:
            raise BuildError(str(exc)) from None

    async def _trade(
        self,
        plan: ExecutionPlanEvent,
        over: PlanRecord | None,
        submitter: Submitter,
        wallet: Wallet,
        consumed_ns: int,
        data: bytes,
    ) -> None:
        if self.tape.slot < plan.planned_slot:  # built on an older book than the planner's
            self.count("plans built before the tape reached the planned slot")
        try:
            if self.prepared:
                self._prepare(wallet, plan)
            tip = self._tip(submitter, plan, wallet)
            assembly = self.builder.assemble(
                plan,
                wallet.pubkey,
                tip=tip,
                tip_lamports=plan.tip_lamports,
                existing=wallet.token_accounts,
            )
            if not all(self.tables.holds(k) for k in assembly.lookup_tables):
                await self.tables.load(assembly.lookup_tables)
            message = self.builder.compile(assembly, wallet.pubkey, self._blockhash())
            built_ns = time.perf_counter_ns()
            built = self.builder.sign(message, wallet.keypair, assembly, pubkey=wallet.pubkey)
            signed_ns = time.perf_counter_ns()
            problem = self._too_costly(plan, assembly)
        except (BuildError, LookupTableError, DataSourceError) as exc:
            await self._reject(plan, over, str(exc), wallet)
            return
        self._stage("build", built_ns - consumed_ns)
        self._stage("sign", signed_ns - built_ns)
        trace = TraceContext.parse(plan.traceparent)
        origin = trace.origin_ns() if trace is not None else None
        if origin is not None:
            self.observe(RECEIVED_TO_SIGNED, time.time_ns() - origin)
        problem = problem or self._stale(plan)
        if problem is None and self.halted:
            problem = f"halted: {self.env.halt.reason or 'kill switch'}"
        if problem is not None:  # nothing was sent: the signed transaction is dropped
            await self._reject(plan, over, problem, wallet)
            return
        if plan.state_fingerprint and plan.state_fingerprint != state_fingerprint(
            self.tape.book, (leg.pool for leg in plan.legs)
        ):
            self.count("plans built on states other than the planner's")
        landing_slot = max(self.tape.slot, plan.planned_slot) + self.config.landing_delay_slots
        # the one write before sending; Lost (another executor recorded it) leaves from here
        record = await self.store.signed(
            plan,
            signature=str(built.signature),
            over=over,
            plan_data=data,
            wallet=str(wallet.pubkey),
            submitter=submitter.name,
            paper=self.paper,
            sent_ns=time.time_ns() if self.paper else 0,  # paper: handed to the simulator now
            landing_slot=landing_slot,
            fee_lamports=assembly.fee_lamports,
            tip_lamports=assembly.tip_lamports,
            loan_fee=assembly.loan_fee,
            created_accounts=tuple(str(a) for a in assembly.created_accounts),
        )
        self.observe(SIGNED_TO_RECORDED, time.perf_counter_ns() - signed_ns)
        self.count("plans sent")
        at_stop = False
        if self.paper:
            self._observe_sent(origin)
            outcome, at_stop = await self._land_paper(plan, record)
        else:
            outcome, record = await self._send(plan, record, submitter, built, origin)
        if at_stop:
            self.count(DECIDED_AT_STOP)
        else:
            self._stage("land", time.perf_counter_ns() - signed_ns)
        metrics.EXECUTION_DURATION_MS.labels(submitter=submitter.name, mode=self.mode).observe(
            (time.perf_counter_ns() - consumed_ns) / 1e6
        )
        await self._finish(plan, record, outcome, built, wallet)

    def _observe_sent(self, origin: int | None) -> None:
        if origin is not None:
            self.observe(RECEIVED_TO_SENT, time.time_ns() - origin)

    def _too_costly(self, plan: ExecutionPlanEvent, assembly: Assembly) -> str | None:
        """The worst the built transaction can lose, against the plan's max_loss_lamports."""
        worst = assembly.fee_lamports + assembly.tip_lamports
        if plan.base_mint == WSOL_MINT:
            worst += max(0, plan.amount_in + assembly.loan_fee - plan.legs[-1].min_out)
        if worst > plan.max_loss_lamports:
            return (
                f"the transaction may lose {worst} lamports (fees {assembly.fee_lamports}, tip "
                f"{assembly.tip_lamports}, slippage to min_out), above max_loss_lamports "
                f"{plan.max_loss_lamports}"
            )
        return None

    async def _land_paper(
        self, plan: ExecutionPlanEvent, record: PlanRecord
    ) -> tuple[Outcome, bool]:
        """The landing simulator decides (never sent); True when the market had stopped before
        the landing slot showed (the newest states decided)."""
        bundled = (
            self.submitters[record.submitter].supports_bundles
            if record.submitter in self.submitters
            else False
        )
        slot = record.landing_slot
        at_stop = False

        def decide() -> Outcome:
            nonlocal at_stop
            at_stop = self.tape.ended and slot >= self.tape.slot
            return simulate(
                self.tape.book,
                plan,
                slot=max(slot, self.tape.slot),
                bundled=bundled,
                fee_lamports=record.fee_lamports,
                tip_lamports=record.tip_lamports,
                loan_fee=record.loan_fee,
            )

        delay = self.config.landing_delay_slots * self.config.slot_ms / 1000
        timeout = max(self.config.landing_timeout_s, delay)
        outcome = await self.tape.at_end_of(slot, decide, timeout=timeout)
        return outcome, at_stop

    async def _send(
        self,
        plan: ExecutionPlanEvent,
        record: PlanRecord,
        submitter: Submitter,
        built: BuiltTransaction,
        origin: int | None,
    ) -> tuple[Outcome, PlanRecord]:
        t0 = time.perf_counter_ns()
        try:
            sent = await submitter.submit([built.transaction])
        except SubmissionError as exc:
            # unknown whether it reached anyone: follow the signature, never resend
            log.warning("plan %s: %s: %s; following its signature", plan.id, submitter.name, exc)
            sent = SubmissionResult(str(built.signature), True, STATUS_ACCEPTED)
        except Exception as exc:
            log.exception("submitter %s raised", submitter.name)
            sent = SubmissionResult(str(built.signature), True, STATUS_ACCEPTED, error=repr(exc))
        self._stage("submit", time.perf_counter_ns() - t0)
        self._observe_sent(origin)
        metrics.BUNDLES_SUBMITTED.labels(submitter=submitter.name).inc()
        with contextlib.suppress(Lost):  # another executor took over: its record stands
            record = await self.store.sent(record, time.time_ns(), sent.bundle_id or "")
        if not sent.accepted and sent.status == STATUS_REJECTED:
            return Outcome(STATUS_REJECTED, error=f"{submitter.name}: {sent.error}"), record
        return await self._confirm(plan, record, submitter, sent), record

    async def _confirm(
        self,
        plan: ExecutionPlanEvent,
        record: PlanRecord,
        submitter: Submitter,
        sent: SubmissionResult,
    ) -> Outcome:
        """Follow a sent trade until it lands, fails, or can no longer land."""
        give_up = record.signed_ns / 1e9 + self.config.confirm_timeout_s
        result = sent
        while result.status not in FINAL_STATUSES:
            remaining = give_up - time.time()
            if remaining <= 0:
                break
            try:
                result = await submitter.confirm(result, timeout_s=min(remaining, 30.0))
            except SubmissionError as exc:
                log.warning("plan %s: confirming: %s", plan.id, exc)
                await asyncio.sleep(min(1.0, max(remaining, 0)))
        if result.status == STATUS_LANDED:
            metrics.BUNDLES_LANDED.labels(submitter=submitter.name).inc()
            out = plan.legs[-1].out_amount
            return Outcome(
                STATUS_LANDED,
                result.slot or 0,
                plan.legs,
                plan.amount_in,
                out,
                record.fee_lamports,
                record.tip_lamports,
                record.loan_fee,
                realized(plan, out, record.fee_lamports, record.tip_lamports, record.loan_fee),
            )
        if result.status == STATUS_FAILED:
            bundled = submitter.supports_bundles
            fee = 0 if bundled else record.fee_lamports
            return Outcome(
                STATUS_FAILED,
                result.slot or 0,
                plan.legs,
                fee_lamports=fee,
                realized_profit=-fee if plan.base_mint == WSOL_MINT else 0,
                error=result.error,
            )
        if result.status == STATUS_REJECTED:
            return Outcome(STATUS_REJECTED, error=result.error)
        why = result.error or (
            "the peer no longer knows it" if result.status == STATUS_INVALID else "no verdict"
        )
        return Outcome("dropped", error=f"{submitter.name}: {why}")

    async def _follow_record(
        self, record: PlanRecord, plan: ExecutionPlanEvent | None, wallet: Wallet | None = None
    ) -> None:
        """A plan signed before this executor (re)started: its outcome, never a second send."""
        plan = plan or record.plan()
        if plan is None:
            log.error("plan %s: signed but its record has no plan; left in flight", record.plan_id)
            return
        if wallet is None and record.wallet:
            wallet = await self.wallets.claim(Pubkey.from_string(record.wallet))
        try:
            if record.paper:
                outcome, _ = await self._land_paper(plan, record)
            else:
                submitter = self.submitters.get(record.submitter)
                if submitter is None:
                    outcome = Outcome(
                        "dropped", error=f"submitter {record.submitter} is not loaded to follow it"
                    )
                else:
                    sent = SubmissionResult(
                        record.signature, True, STATUS_ACCEPTED, bundle_id=record.bundle_id or None
                    )
                    outcome = await self._confirm(plan, record, submitter, sent)
            await self._finish(plan, record, outcome, None, wallet, signature=record.signature)
        finally:
            if wallet is not None:
                await self.wallets.release(wallet)

    async def _recover(self) -> None:
        """Before taking new plans: follow every plan this executor signed and did not finish.

        Each is registered as in hand and its wallet marked busy before the consumers start,
        so a redelivery of its message waits for it and no new plan takes its wallet."""
        for listed in await self.store.in_flight():
            if listed.owner != self.store.owner or listed.plan_id in self._active:
                continue
            record = await self.store.get(listed.plan_id)
            if record is None:  # a crash between listing and record (or expired): nothing sent
                continue
            if record.state != "signed" or record.signature != listed.signature:
                # finished, or the listing of a transaction that lost its race: never sent;
                # finished and still listed: its result may not be out (died before publishing)
                if record.signature == listed.signature and await self._publish_recorded(record):
                    self.count("results published again after a restart")
                await self.store.forget(listed)
                continue
            wallet = (
                self.wallets.by_key(Pubkey.from_string(record.wallet)) if record.wallet else None
            )
            if wallet is not None:
                if wallet.busy:
                    wallet = None
                else:
                    wallet.busy = True
            self.count("plans followed after a restart")
            log.info("following plan %s, in flight since before this start", record.plan_id)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._active[record.plan_id] = done
            self._spawn(self._recovered(record, wallet, done), f"recover-{record.plan_id}")

    async def _recovered(
        self, record: PlanRecord, wallet: Wallet | None, done: asyncio.Future[None]
    ) -> None:
        try:
            await self._follow_record(record, None, wallet)
        except Exception:
            log.exception("plan %s: following it after a restart failed", record.plan_id)
        finally:
            self._active.pop(record.plan_id, None)
            done.set_result(None)

    # ------------------------------------------------------------------ the result
    def _result(
        self,
        plan: ExecutionPlanEvent,
        record: PlanRecord,
        outcome: Outcome,
        wallet: Wallet | None,
        signature: str | None = None,
    ) -> ExecutionResultEvent:
        """The plan's ExecutionResultEvent (its message id: the plan id and the status)."""
        trace = TraceContext.parse(plan.traceparent)
        return ExecutionResultEvent(
            plan_id=plan.id,
            opportunity_id=plan.opportunity_id,
            status=outcome.status,
            paper=self.paper,
            signature=signature,
            slot=outcome.slot,
            in_amount=outcome.in_amount,
            out_amount=outcome.out_amount,
            fee_lamports=outcome.fee_lamports,
            tip_lamports=outcome.tip_lamports,
            realized_profit=outcome.realized_profit,
            error=outcome.error,
            completed_ns=time.time_ns(),
            strategy=plan.strategy,
            base_mint=plan.base_mint,
            legs=outcome.legs or plan.legs,
            loan_fee=outcome.loan_fee,
            submitter=plan.submitter or PAPER_SUBMITTER,
            funding_provider=plan.funding_provider,
            expected_profit=plan.expected_profit,
            bundle_id=record.bundle_id or None,
            wallet=wallet.pubkey if wallet is not None else (record.wallet or b""),
            traceparent=(trace.child() if trace else TraceContext.new()).header(),
            submitted_ns=record.sent_ns,
        )

    async def _finish(
        self,
        plan: ExecutionPlanEvent,
        record: PlanRecord,
        outcome: Outcome,
        built: BuiltTransaction | None,
        wallet: Wallet | None,
        *,
        signature: str | None = None,
    ) -> None:
        """Decide a signed plan's outcome (``done``: the one executor whose update succeeds),
        publish the result (acknowledged by the server), then count it and tell observers.
        A rejection's record is done already: its writer publishes and counts it. An executor
        that loses ``done`` to another follower of the same record counts nothing."""
        if built is not None and outcome.status != STATUS_REJECTED:
            signature = str(built.signature)
        result = self._result(plan, record, outcome, wallet, signature)
        if record.state == "done":
            await self.publish(result)
        else:
            try:
                finished = await self.store.done(record, outcome.status, result.encode())
            except Lost:
                await self._decided_elsewhere(plan.id, wallet)
                return
            await self.publish(result)
            await self.store.forget(finished)
        self.outcomes[outcome.status] += 1
        self.count(f"plans {outcome.status}")
        if outcome.status == STATUS_REJECTED:
            log.info("plan %s rejected: %s", plan.id, outcome.error)
        if outcome.status in (STATUS_LANDED, STATUS_FAILED):
            self.pnl += outcome.realized_profit
            self.pnl_by_strategy[plan.strategy] += outcome.realized_profit
        if outcome.status != STATUS_LANDED:
            self.refusals[f"{outcome.status}: {reason_kind(outcome.error)}"] += 1
        metrics.EXECUTIONS.labels(
            outcome=outcome.status, submitter=result.submitter, mode=self.mode
        ).inc()
        if outcome.status == STATUS_LANDED:
            metrics.EXECUTIONS_SUCCEEDED.labels(submitter=result.submitter, mode=self.mode).inc()
        if wallet is not None:
            self._settle_wallet(wallet, outcome, record)
        self.env.host.call_each("lstarb_on_execution_result", result=result.to_result())

    async def _decided_elsewhere(self, plan_id: str, wallet: Wallet | None) -> None:
        """Another executor following the same signed record decided its outcome first: ours
        is dropped, nothing is counted. Its result is published again (the same message:
        de-duplicated), in case it died between deciding and publishing, and its listing
        removed; the wallet held here is settled as the decided outcome says (paper: this
        process's view of its balance)."""
        self.count("outcomes decided by another executor")
        record = await self.store.get(plan_id)
        if record is None or record.state != "done":
            return
        decided = record.result()
        if wallet is not None and decided is not None:
            outcome = Outcome(
                decided.status,
                fee_lamports=decided.fee_lamports,
                realized_profit=decided.realized_profit,
            )
            self._settle_wallet(wallet, outcome, record)
        await self._publish_recorded(record)

    async def _publish_recorded(self, record: PlanRecord) -> bool:
        """Publish a done record's stored result again, then drop its ``inflight`` listing;
        False for records without one (rejections, earlier versions: published first)."""
        result = record.result()
        if result is None:
            return False
        await self.publish(result)
        if record.signature:
            await self.store.forget(record)
        return True

    def _prepare(self, wallet: Wallet, plan: ExecutionPlanEvent) -> None:
        """The paper wallet's accounts of the route's prepared mints (known to exist)."""
        for leg in plan.legs:
            for mint in (leg.input_mint, leg.output_mint):
                if mint != WSOL_MINT and mint in self.prepared:
                    wallet.token_accounts.add(self.builder.ata(wallet.pubkey, mint))

    def _settle_wallet(self, wallet: Wallet, outcome: Outcome, record: PlanRecord) -> None:
        """What the trade did to the wallet (paper: the simulated balance; live: until the next
        refresh reads the chain)."""
        if outcome.status == STATUS_LANDED:
            wallet.trades += 1
            wallet.token_accounts.update(Pubkey.from_string(a) for a in record.created_accounts)
            delta = outcome.realized_profit
            delta -= TOKEN_ACCOUNT_RENT * len(record.created_accounts)
            wallet.set_balance(wallet.lamports + delta)
        elif outcome.status == STATUS_FAILED:
            wallet.set_balance(wallet.lamports - outcome.fee_lamports)

    def _stage(self, name: str, ns: int) -> None:
        self.observe(name, ns)
        self._stages[name].observe(ns / 1e9)

    # ------------------------------------------------------------------ reporting
    def summary(self) -> list[tuple[str, str]]:
        total = sum(self.outcomes.values())
        by = ", ".join(f"{n} {s}" for s, n in sorted(self.outcomes.items())) or "none"
        label = "simulated P&L" if self.paper else "realized P&L"
        rows = [
            ("executions", f"{total} ({by})"),
            (label, f"{self.pnl} lamports ({self.pnl / 1e9:.9f} SOL)"),
            ("wallets", f"{len(self.wallets)} ({'paper' if self.paper else 'live'})"),
        ]
        at_stop = self.stats.counters.get(DECIDED_AT_STOP, 0)
        if at_stop:
            rows.append(
                (
                    "decided at stop",
                    f"{at_stop} paper trades waited for their landing slot when the market "
                    "stopped: the last states decided them (not counted as confirmation time)",
                )
            )
        decided = self.stats.counters.get("duplicate plan messages", 0)
        if decided:  # why plans went without executions: said, not left to be guessed
            rows.append(
                (
                    "already decided",
                    f"{decided} plan messages for plans recorded before (earlier in this run, "
                    "or by an earlier run on this bus: the same pool states give the same plan, "
                    "as a repeated --seed does); nothing was sent again",
                )
            )
        return rows
