"""Exactly once: what the executor did with each plan, in the bus's key-value buckets.

The rule that makes a plan land at most once, across processes, restarts and redeliveries:
**nothing is sent before the signature is durably written.** A plan goes through

    claimed  -- ``plans`` bucket, ``create``: the first executor to claim a plan owns it
    signed   -- the signed transaction's signature (and the plan) written, revision-checked,
                and the same record put in ``inflight``; only now is it sent
    done     -- the result is on EXECUTED; the ``inflight`` entry is deleted

Every write after the claim is an ``update`` at the revision the writer last saw, so when two
executors race for one plan (a redelivery while the first still works, a restart that takes
over) exactly one of them writes ``signed``, and only that one sends. An executor that finds a
plan claimed but not signed takes it over the same way; one that finds it signed follows the
signature (getSignatureStatuses, bundle statuses) or, in paper, the landing simulator, and
never sends again. ``inflight`` lists what a restarted executor must follow before anything
else, even when the plan's message is no longer on EXECUTION.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

from lstarb_runtime.bus import Bus
from lstarb_runtime.bus.kv import KeyExists, KeyValue, WrongRevision
from lstarb_sdk.errors import DecodeError, LstarbError
from lstarb_sdk.events import ExecutionPlanEvent

State = Literal["claimed", "signed", "done"]
PLANS: Final = "plans"
INFLIGHT: Final = "inflight"


class Lost(LstarbError):
    """Another executor wrote the plan's record since this one read it: it owns the plan now."""


def plan_key(plan_id: str) -> str:
    """The key of a plan in both buckets (plan ids are free text; keys are not)."""
    return "plan." + hashlib.blake2b(plan_id.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class PlanRecord:
    """One plan's exactly-once record; ``revision`` is the bucket's, not stored."""

    plan_id: str
    state: State
    owner: str
    claimed_ns: int
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
    revision: int = field(default=0, compare=False)

    def encode(self) -> bytes:
        doc = asdict(self)
        doc.pop("revision")
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes, revision: int) -> PlanRecord:
        try:
            doc: dict[str, Any] = json.loads(value)
            doc["created_accounts"] = tuple(doc.get("created_accounts", ()))
            return cls(**doc, revision=revision)
        except (ValueError, TypeError) as exc:
            raise DecodeError(f"plan record: {exc}") from None

    def plan(self) -> ExecutionPlanEvent | None:
        """The plan as it was signed (kept so a restart can finish it without the stream)."""
        if not self.plan_b64:
            return None
        return ExecutionPlanEvent.decode(base64.b64decode(self.plan_b64))


class PlanStore:
    """The ``plans`` and ``inflight`` buckets, for the executor ``owner`` (host, pid, run)."""

    def __init__(self, bus: Bus, owner: str) -> None:
        self.owner = owner
        self.plans: KeyValue = bus.kv(PLANS)
        self.inflight: KeyValue = bus.kv(INFLIGHT)

    async def get(self, plan_id: str) -> PlanRecord | None:
        entry = await self.plans.get(plan_key(plan_id))
        return None if entry is None else PlanRecord.decode(entry.value, entry.revision)

    async def claim(self, plan_id: str) -> PlanRecord | None:
        """Claim a new plan; None when it has a record already (:meth:`get` it)."""
        record = PlanRecord(plan_id, "claimed", self.owner, time.time_ns())
        try:
            revision = await self.plans.create(plan_key(plan_id), record.encode())
        except KeyExists:
            return None
        return replace(record, revision=revision)

    async def take_over(self, record: PlanRecord) -> PlanRecord:
        """Own a plan another executor claimed and never signed; Lost if it moved on."""
        return await self._write(replace(record, owner=self.owner, claimed_ns=time.time_ns()))

    async def signed(
        self, record: PlanRecord, plan: ExecutionPlanEvent, **facts: Any
    ) -> PlanRecord:
        """Record the signature before sending; Lost if another executor got there first."""
        signed = replace(
            record,
            state="signed",
            signed_ns=time.time_ns(),
            plan_b64=base64.b64encode(plan.encode()).decode(),
            **facts,
        )
        signed = await self._write(signed)
        await self.inflight.put(plan_key(record.plan_id), signed.encode())
        return signed

    async def sent(self, record: PlanRecord, sent_ns: int, bundle_id: str = "") -> PlanRecord:
        """Note when it went out (and the block engine's bundle id)."""
        updated = await self._write(
            replace(record, sent_ns=sent_ns, bundle_id=bundle_id or record.bundle_id)
        )
        await self.inflight.put(plan_key(record.plan_id), updated.encode())
        return updated

    async def done(self, record: PlanRecord, status: str) -> PlanRecord:
        """The result is recorded on EXECUTED: the plan is finished, nothing left in flight."""
        finished = await self._write(replace(record, state="done", status=status, plan_b64=""))
        if record.state == "signed":
            await self.inflight.delete(plan_key(record.plan_id))
        return finished

    async def in_flight(self) -> list[PlanRecord]:
        """Every plan signed and not finished, by any executor."""
        records = []
        for key in await self.inflight.keys():
            entry = await self.inflight.get(key)
            if entry is not None:
                records.append(PlanRecord.decode(entry.value, 0))
        return records

    async def _write(self, record: PlanRecord) -> PlanRecord:
        try:
            revision = await self.plans.update(
                plan_key(record.plan_id), record.encode(), record.revision
            )
        except WrongRevision:
            raise Lost(f"plan {record.plan_id} was written by another executor") from None
        return replace(record, revision=revision)
