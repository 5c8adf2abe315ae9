"""Exactly once: what the executor did with each plan, in the bus's key-value buckets.

The rule that makes a plan land at most once, across processes, restarts and redeliveries:
**nothing is sent before the signature is durably written.** The executor decides a plan
without the server (checks, build, sign: no I/O), then writes the plan's record **once**,
already in its decided state, with one ``create`` in ``plans``:

    signed    -- the signature, wallet, submitter, costs and the plan itself; listed in
                 ``inflight`` under ``plan.<hash>.<signature>`` in the same round trip (both
                 writes are on the wire together); only now is it sent
    done      -- a rejected plan: at once, with status ``rejected`` and the reason (nothing
                 was sent), then its result is published (a redelivery publishes it again:
                 the stream's de-duplication drops the copy); a signed plan: ``update``d at
                 the signed record's revision with its outcome and the result itself, then
                 the result is published and the ``inflight`` listing deleted

``create`` fails when the key exists: of two executors racing for one plan (a redelivery
while the first still works, two copies of a message) exactly one writes its record, and the
other drops the transaction it signed (never sent) and follows the winner's record: the
signature (getSignatureStatuses, bundle statuses), or in paper the landing simulator. Every
later write is an ``update`` at the revision the writer last saw.

``done`` decides a signed plan's outcome. Several executors may follow one signed record at
once (the signer restarted and following its listing, another one following a redelivery of the
plan, the signer itself still alive past the ack wait): each reaches an outcome, and only the
one whose ``done`` update succeeds publishes and counts it. The others lose that update (Lost),
count nothing, and publish the winner's stored result again (the same message: the stream's
de-duplication drops it), which also covers a winner that died between ``done`` and publishing;
so does a redelivery or a restart that finds the record done with its listing still there.

Why ``inflight`` is keyed by the signature: the loser of a race writes its listing in the same
round trip as its (failing) ``create``, so a listing under the plan's key alone could replace
the winner's. A listing whose signature is not the record's is the trace of a lost race or a
crash between the two writes; a restart skips it. ``inflight`` lists what a restarted executor
must follow before anything else, even when the plan's message is no longer on EXECUTION.

Records of earlier versions: ``claimed`` (written before the build, by the claim the executor
made then) is still read; an executor that finds one decides the plan itself and writes its
record as an ``update`` at the claim's revision (the claimer, if alive, then loses its own
update and sends nothing). Their ``inflight`` listing is under the plan's key (``inflight``
empty in the record).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, Literal

from lstarb_runtime.bus import Bus
from lstarb_runtime.bus.interface import BusError
from lstarb_runtime.bus.kv import KeyExists, KeyValue, WrongRevision
from lstarb_sdk.errors import DecodeError, LstarbError
from lstarb_sdk.events import ExecutionPlanEvent, ExecutionResultEvent

State = Literal["claimed", "signed", "done"]
PLANS: Final = "plans"
INFLIGHT: Final = "inflight"


class Lost(LstarbError):
    """Another executor wrote the plan's record first (or since this one read it): its record
    stands, this executor follows it."""


def plan_key(plan_id: str) -> str:
    """The key of a plan in ``plans`` (plan ids are free text; keys are not)."""
    return "plan." + hashlib.blake2b(plan_id.encode(), digest_size=16).hexdigest()


def inflight_key(plan_id: str, signature: str) -> str:
    """The key of a signed plan in ``inflight``: one per signature (see the module)."""
    return f"{plan_key(plan_id)}.{signature}"


@dataclass(frozen=True)
class PlanRecord:
    """One plan's exactly-once record; ``revision`` is the bucket's, not stored."""

    plan_id: str
    state: State
    owner: str
    claimed_ns: int
    """When the record was written (records of earlier versions: when the plan was claimed)."""
    wallet: str = ""
    signature: str = ""
    bundle_id: str = ""
    submitter: str = ""
    paper: bool = False
    signed_ns: int = 0
    sent_ns: int = 0
    landing_slot: int = 0
    fee_lamports: int = 0
    tip_lamports: int = 0
    loan_fee: int = 0
    created_accounts: tuple[str, ...] = ()
    status: str = ""
    plan_b64: str = ""
    error: str = ""
    """A plan recorded rejected: why (the result's error; records of earlier versions: empty,
    their result was published before they were written)."""
    inflight: str = ""
    """The key of its ``inflight`` listing; empty in records of earlier versions (the plan's
    key)."""
    result_b64: str = ""
    """A signed plan's result as published (the encoded ExecutionResultEvent), written with
    ``done``: whoever finds the record done publishes the very same message again. Empty in
    rejected records and records of earlier versions (their result was published first)."""
    revision: int = field(default=0, compare=False)

    def encode(self) -> bytes:
        # the fields one by one: ``asdict`` deep-copies, several times slower (on the path
        # from the signature to the send)
        doc = {name: getattr(self, name) for name in _STORED}
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes, revision: int) -> PlanRecord:
        try:
            doc: dict[str, Any] = json.loads(value)
            doc["created_accounts"] = tuple(doc.get("created_accounts", ()))
            # a field of a later version is left out: an executor not yet upgraded still
            # reads the records of upgraded ones (as this one reads earlier versions')
            known = {name: doc[name] for name in _STORED if name in doc}
            return cls(**known, revision=revision)
        except (ValueError, TypeError) as exc:
            raise DecodeError(f"plan record: {exc}") from None

    @property
    def listing(self) -> str:
        """Where this record is listed in ``inflight`` while signed."""
        return self.inflight or plan_key(self.plan_id)

    def result(self) -> ExecutionResultEvent | None:
        """The result decided for a signed plan (see ``result_b64``), if recorded."""
        if not self.result_b64:
            return None
        return ExecutionResultEvent.decode(base64.b64decode(self.result_b64))

    def plan(self) -> ExecutionPlanEvent | None:
        """The plan as it was signed (kept so a restart can finish it without the stream)."""
        if not self.plan_b64:
            return None
        return ExecutionPlanEvent.decode(base64.b64decode(self.plan_b64))


_STORED: Final = tuple(f.name for f in fields(PlanRecord) if f.name != "revision")


class PlanStore:
    """The ``plans`` and ``inflight`` buckets, for the executor ``owner`` (host, pid, run)."""

    def __init__(self, bus: Bus, owner: str) -> None:
        self.owner = owner
        self.plans: KeyValue = bus.kv(PLANS)
        self.inflight: KeyValue = bus.kv(INFLIGHT)

    async def get(self, plan_id: str) -> PlanRecord | None:
        entry = await self.plans.get(plan_key(plan_id))
        return None if entry is None else PlanRecord.decode(entry.value, entry.revision)

    async def signed(
        self,
        plan: ExecutionPlanEvent,
        *,
        signature: str,
        over: PlanRecord | None = None,
        plan_data: bytes = b"",
        **facts: Any,
    ) -> PlanRecord:
        """The plan's record, written once as signed and listed in flight, before sending.

        One round trip: the ``create`` (``update`` at the revision of ``over``, a claim of an
        earlier version) and the listing go out together. Lost if another executor recorded
        the plan first: the listing is withdrawn, and nothing may be sent. ``plan_data``: the
        plan as received (kept as it is: encoding it again costs as much as the rest).
        """
        now = time.time_ns()
        record = PlanRecord(
            plan.id,
            "signed",
            self.owner,
            now,
            signature=signature,
            signed_ns=now,
            plan_b64=base64.b64encode(plan_data or plan.encode()).decode(),
            inflight=inflight_key(plan.id, signature),
            **facts,
        )
        value = record.encode()
        written, listed = await asyncio.gather(
            self._record(record, value, over),
            self.inflight.put(record.listing, value),
            return_exceptions=True,
        )
        for outcome in (written, listed):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: the caller decides nothing more
        if isinstance(written, Exception):
            if isinstance(written, Lost) and not isinstance(listed, Exception):
                # a listing of a transaction never sent: a restart would skip it anyway
                with contextlib.suppress(BusError):
                    await self.inflight.delete(record.listing)
            raise written
        assert isinstance(written, int)
        if isinstance(listed, Exception):  # recorded but not listed: a restart needs the list
            await self.inflight.put(record.listing, value)
        return replace(record, revision=written)

    async def rejected(
        self, plan_id: str, reason: str, *, over: PlanRecord | None = None
    ) -> PlanRecord:
        """The plan's record, written once, done and rejected with the reason (nothing was
        sent); Lost if another executor recorded the plan first."""
        record = PlanRecord(
            plan_id, "done", self.owner, time.time_ns(), status="rejected", error=reason
        )
        revision = await self._record(record, record.encode(), over)
        return replace(record, revision=revision)

    async def sent(self, record: PlanRecord, sent_ns: int, bundle_id: str = "") -> PlanRecord:
        """Note when it went out (and the block engine's bundle id)."""
        updated = await self._write(
            replace(record, sent_ns=sent_ns, bundle_id=bundle_id or record.bundle_id)
        )
        await self.inflight.put(record.listing, updated.encode())
        return updated

    async def done(self, record: PlanRecord, status: str, result: bytes) -> PlanRecord:
        """Decide the signed plan's outcome: one ``update`` at the revision of ``record`` with
        the status and ``result`` (the encoded ExecutionResultEvent, to be published next).
        Lost if another executor decided it first (or wrote since): its outcome stands, this
        one is dropped. The ``inflight`` listing stays until the result is published
        (:meth:`forget`), so a restart can publish a result whose publisher died."""
        return await self._write(
            replace(
                record,
                state="done",
                status=status,
                plan_b64="",
                result_b64=base64.b64encode(result).decode(),
            )
        )

    async def in_flight(self) -> list[PlanRecord]:
        """Every listing of a signed plan not finished, by any executor (the record in
        ``plans`` has the last word: see :meth:`forget`)."""
        records = []
        for key in await self.inflight.keys():
            entry = await self.inflight.get(key)
            if entry is not None:
                records.append(PlanRecord.decode(entry.value, 0))
        return records

    async def forget(self, listing: PlanRecord) -> None:
        """Remove a listing that is not (or no longer) the plan's record: a lost race, a
        crash between the record and the listing's removal, a plan done and its result
        published."""
        await self.inflight.delete(listing.listing)

    async def _record(self, record: PlanRecord, value: bytes, over: PlanRecord | None) -> int:
        key = plan_key(record.plan_id)
        try:
            if over is None:
                return await self.plans.create(key, value)
            return await self.plans.update(key, value, over.revision)
        except (KeyExists, WrongRevision):
            raise Lost(f"plan {record.plan_id} was recorded by another executor") from None

    async def _write(self, record: PlanRecord) -> PlanRecord:
        try:
            revision = await self.plans.update(
                plan_key(record.plan_id), record.encode(), record.revision
            )
        except WrongRevision:
            raise Lost(f"plan {record.plan_id} was written by another executor") from None
        return replace(record, revision=revision)
