"""Local delivery: an event published in this process is handed at once to this process's
consumers of its stream, and still published to JetStream.

Why: when every role runs in one process (``lstarb run``, role ``all``) an opportunity went
scanner -> OPPORTUNITIES (file stream: stored before the ack) -> pull fetch -> planner, and its
plan the same way to the executor; each hop cost 2-3 ms of server round trips against a budget
of 0.5 ms from account update to signed transaction. With local delivery the consumers of
MARKET_DATA, OPPORTUNITIES and EXECUTION in the publishing process get the event on the same
event loop, without a copy through the server: the same handler, the same :class:`Delivery`
(the event object as published, its encoded bytes, message id, trace and headers; ``sequence``
is 0, the stream's number being unknown until the server stores it). The server still gets
every event, once encoded: for durability, for other processes, for ``lstarb record`` and
replay. ``[run] local_delivery = false`` turns it off (every event through the server, as
before).

The rules, and why they keep "nothing lost, nothing done twice":

- **Groups.** A consumer group here is what the server calls one consumer: a durable of
  :meth:`Bus.consume` (``planner``; the executor's one consumer per wallet are members of one
  group ``executor``) or one reader of :meth:`Bus.follow` (a tape). A published event whose
  subject a group's filter takes is queued once for that group; one of its members handles it.
- **The server copy.** The server delivers its copy to the group as always. Matched by its
  ``Nats-Msg-Id`` against what the group took locally: handled locally and returned -> the copy
  is acknowledged without being handled (nor decoded); still being handled -> the copy waits
  for the outcome; the local handler raised (or the consumer stopped before handling it) ->
  the copy is handled normally, so redelivery semantics survive: a failing handler gets the
  event again from the server, up to ``MAX_DELIVER`` deliveries, as without local delivery
  (one local attempt comes first). The copy is acknowledged only after the local handler
  returned, so a crash in between leaves the event on the server for the group.
- **Ordering per consumer.** A group's handler runs for one event at a time per member (local
  and server deliveries share the member slots), and the local queue is handled in publish
  order: a one-member group (planner, a tape) sees this process's events in the order they
  were published. Events from other processes (or from before this process started) arrive
  through the server and interleave as two publishers' events always did.
- **At once.** When a group has nothing queued, a member slot free and an idle member, the
  event is not queued: that member's handler starts inside the publish, in the publisher's
  turn of the event loop, and runs until it first waits (:mod:`~lstarb_runtime.bus.eager`);
  the rest of it continues as a task. So in one process an account update, the opportunity
  it set off, the plan and its signature run as one stretch, before the work that became
  ready meanwhile (frames, server copies, acknowledgements, other roles), instead of each
  hop waiting a turn behind it. Order is kept: with anything queued, or the slot taken, the
  event queues behind it.
- **Publish failures.** The event is registered with its groups before it is sent (so its
  server copy can never overtake it), and queued only when the send did not fail at once (too
  large, bus closed): such an event is neither stored nor acted on. A publish the server
  refuses later (or gives up after the stream's max age) was acted on once locally and is not
  stored; the service degrades at its next flush, as before. A publish re-sent after a
  reconnect is stored once (same message id) and its copy is matched like any other.
- **Duplicates.** A message id a group took already (and still remembers) is not handed to it
  again: the server, which de-duplicates by message id, would not have stored it twice
  either, and if it does store it (the earlier publish failed), the copy is matched.
- **Bounded memory.** Each group remembers the last :data:`REMEMBERED` message ids it took; an
  id is forgotten oldest first once it is settled (counted in ``forgotten`` when its server
  copy never came). A copy that comes after its id was forgotten is handled again, which
  every consumer tolerates: a tape's book ignores a state it holds already, a plan id is
  deterministic from its opportunity (EXECUTION stores a plan once; the executor's record in
  the ``plans`` bucket, written before anything is sent, sends it at most once). The queue
  of a group holds at most :data:`QUEUE_SIZE` events; past that the publisher waits
  (back-pressure, as the publisher's own bound on unacknowledged publishes).
- **Split deployments.** Another process in the same group may get the server copy of an
  event this process handled locally and handle it too (it cannot know). Harmless for the same
  reasons: a duplicate opportunity makes the same plan id (stored once on EXECUTION, recorded
  once by the executors); a duplicate plan is recorded once in the ``plans`` bucket (one
  ``create``: the executor that loses drops the transaction it signed), so it is sent exactly
  once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from lstarb_runtime.bus.eager import start_eagerly
from lstarb_runtime.bus.interface import SETTLE_GRACE, ConsumerStats, Delivery, Handler, Settle
from lstarb_runtime.bus.streams import subject_matches
from lstarb_runtime.bus.tracing import TraceContext, current_trace
from lstarb_sdk.events import EventModel

log = logging.getLogger("lstarb.bus.local")

LOCAL_STREAMS: Final = frozenset({"MARKET_DATA", "OPPORTUNITIES", "EXECUTION"})
"""The streams whose events are handed to this process's consumers at once."""
REMEMBERED: Final = 32_768
"""Message ids one group remembers (to match server copies and skip duplicates)."""
QUEUE_SIZE: Final = 4_096
"""Events waiting for one group's local handling, at most; past that, publishing waits."""


@dataclass
class LocalCounts:
    """What local delivery did for one group (shared by its members)."""

    handled: int = 0
    """Events handled as published in this process."""
    failed: int = 0
    """Local handlings that raised (their server copies were handled normally)."""
    copies_acked: int = 0
    """Server copies of events handled locally, acknowledged without handling."""
    forgotten: int = 0
    """Message ids forgotten (bounded memory) before their server copy came."""


class _Entry:
    """One event a group took locally; ``outcome`` is True once handled, False if not."""

    __slots__ = ("copy_seen", "outcome")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.outcome: asyncio.Future[bool] = loop.create_future()
        self.copy_seen = False


class _Group:
    """The members of one consumer of a stream in this process, their queue and memory."""

    def __init__(self, stream: str, name: str, filter_subject: str) -> None:
        self.stream = stream
        self.name = name
        self.filter = filter_subject
        self.members: list[LocalMember] = []
        self.queue: asyncio.Queue[tuple[Delivery, _Entry]] = asyncio.Queue(QUEUE_SIZE)
        self.slots = asyncio.Semaphore(0)
        """One per member: local and server handlings of the group share them."""
        self.entries: OrderedDict[str, _Entry] = OrderedDict()
        self.counts = LocalCounts()

    @property
    def open(self) -> bool:
        """Whether a member still takes events from the queue."""
        return any(m.taking for m in self.members)

    def ready_member(self) -> LocalMember | None:
        """A member that can handle an event at once, in order: nothing queued before it, a
        member slot free (no server copy or other handling holds it) and the member idle."""
        if not self.queue.empty() or self.slots.locked():
            return None
        return next((m for m in self.members if m.idle), None)

    def takes(self, subject: str) -> bool:
        return self.open and subject_matches(self.filter, subject)

    def register(self, msg_id: str) -> _Entry | None:
        """A new entry for ``msg_id``; None when the group took that id already."""
        if msg_id in self.entries:
            return None
        entry = _Entry(asyncio.get_running_loop())
        self.entries[msg_id] = entry
        if len(self.entries) > REMEMBERED:
            self._forget()
        return entry

    def _forget(self) -> None:
        """Drop settled ids, oldest first, down to :data:`REMEMBERED` (pending ones stay)."""
        kept: list[tuple[str, _Entry]] = []
        while len(self.entries) + len(kept) > REMEMBERED and self.entries:
            msg_id, entry = self.entries.popitem(last=False)
            if not entry.outcome.done():
                kept.append((msg_id, entry))
                continue
            if not entry.copy_seen:
                self.counts.forgotten += 1
        for msg_id, entry in reversed(kept):
            self.entries[msg_id] = entry
            self.entries.move_to_end(msg_id, last=False)

    def abandon(self) -> None:
        """Nobody is left to handle what is queued: its server copies are handled normally
        (by a later run, or another process of the group)."""
        while not self.queue.empty():
            _, entry = self.queue.get_nowait()
            _settle(entry, False)


class LocalMember:
    """One consumer (a member of its group) as local delivery sees it.

    The bus's consumer asks :meth:`handled` for each server copy, and runs its own handlings
    through :meth:`guarded` (so they take the group's member slots too).
    """

    def __init__(self, group: _Group, handler: Handler, stats: ConsumerStats) -> None:
        self.group = group
        self.handler = handler
        self.stats = stats
        """The bus consumer's counters (``local``, ``copies``, ``failed``)."""
        group.members.append(self)
        group.slots.release()
        self._busy = False
        self._leaving = False
        self._settling: set[asyncio.Future[None]] = set()
        """Local events whose handler returned a :data:`Settle` still outstanding."""
        self._eager: set[asyncio.Task[None]] = set()
        """Handlings started in the publisher's turn that went on to wait (see :meth:`take_now`)."""
        self._task = asyncio.create_task(
            self._work(), name=f"lstarb-local-{group.stream}-{group.name}"
        )

    @property
    def counts(self) -> LocalCounts:
        return self.group.counts

    async def handled(self, msg_id: str | None) -> bool:
        """Whether the server copy ``msg_id`` was handled here already (then acknowledge it
        without handling). Waits while its local handling is in progress."""
        if msg_id is None:
            return False
        group = self.group
        entry = group.entries.get(msg_id)
        if entry is None:
            return False
        entry.copy_seen = True
        if await asyncio.shield(entry.outcome):
            group.counts.copies_acked += 1
            self.stats.copies += 1
            return True
        # not handled here: the copy is handled normally; a copy delivered again (its ack
        # was lost) finds nothing and is handled like any event from the server
        if group.entries.get(msg_id) is entry:
            del group.entries[msg_id]
        return False

    def guarded(self, handler: Handler) -> Handler:
        """``handler`` taking a member slot of the group while it runs."""
        slots = self.group.slots

        async def run(delivery: Delivery) -> Settle | None:
            async with slots:
                return await handler(delivery)

        return run

    async def _work(self) -> None:
        group = self.group
        while not self._leaving:
            delivery, entry = await group.queue.get()
            if entry.outcome.done():  # abandoned meanwhile
                continue
            try:
                await group.slots.acquire()
            except asyncio.CancelledError:  # stopped while it waited: not handled here
                _settle(entry, False)
                raise
            self._busy = True
            try:
                await self._handle(delivery, entry)
            finally:
                group.slots.release()
                self._busy = False

    @property
    def idle(self) -> bool:
        """Taking events and handling none (neither from the queue nor started at once)."""
        return not (self._busy or self._leaving or self._eager)

    def take_now(self, delivery: Delivery, entry: _Entry) -> None:
        """Handle ``delivery`` in the publisher's turn, up to the handler's first wait
        (:func:`~lstarb_runtime.bus.eager.start_eagerly`); the caller checked that this
        member is idle, the group's queue empty and a member slot free, so nothing published
        before it is overtaken."""
        rest = start_eagerly(self._handle_in_slot(delivery, entry))
        if rest is not None:  # waiting (a server round trip): the member stays busy until done
            self._eager.add(rest)
            rest.add_done_callback(self._eager.discard)

    async def _handle_in_slot(self, delivery: Delivery, entry: _Entry) -> None:
        async with self.group.slots:  # free (checked): taken without waiting
            await self._handle(delivery, entry)

    async def _handle(self, delivery: Delivery, entry: _Entry) -> None:
        """One local event, in a member slot: the handler under its trace, the outcome."""
        ok = False
        settle: Settle | None = None
        token = current_trace.set(delivery.trace)
        try:
            settle = await self.handler(delivery)
            ok = True
        except Exception:
            self._failed(delivery, "handler failed")
        finally:
            current_trace.reset(token)
            if ok and settle is not None:  # decided once it completes; next meanwhile
                task = asyncio.ensure_future(self._settle_when(delivery, entry, settle))
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)
            else:
                self._done(entry, ok)

    async def _settle_when(self, delivery: Delivery, entry: _Entry, settle: Settle) -> None:
        """The local event counts as handled (its server copy acknowledged unhandled) once
        what its handler returned completed; otherwise its server copy is handled."""
        ok = False
        try:
            await settle
            ok = True
        except Exception:
            self._failed(delivery, "not settled")
        finally:
            self._done(entry, ok)

    def _done(self, entry: _Entry, ok: bool) -> None:
        if ok:
            self.group.counts.handled += 1
            self.stats.local += 1
        _settle(entry, ok)

    def _failed(self, delivery: Delivery, what: str) -> None:
        self.group.counts.failed += 1
        self.stats.failed += 1
        log.exception(
            "%s/%s: %s on a local event (%s); its server copy will be handled",
            self.group.stream,
            self.group.name,
            what,
            delivery.msg_id,
        )

    def quit(self) -> None:
        """Take nothing more from the queue (the consumer is stopping); the event in hand is
        finished. Once no member of the group takes any, what is queued is left to its
        server copies (handled normally, by this consumer's last fetch or a later one)."""
        self._leaving = True
        if not self._busy:  # waiting for the queue: nothing in hand
            self._task.cancel()
        group = self.group
        if not any(not m._leaving for m in group.members):
            group.abandon()

    async def leave(self) -> None:
        """Done: the event in hand finished. The group keeps what it remembers, so a
        consumer of it started again in this process still matches the copies."""
        self.quit()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._eager:  # handlings started at once finish as the one in hand does
            await asyncio.wait(set(self._eager))
        if self._settling:  # what is not settled in time is left to its server copy
            await asyncio.wait(set(self._settling), timeout=SETTLE_GRACE)
        group = self.group
        if self in group.members:
            group.members.remove(self)
            await group.slots.acquire()  # its slot goes with it (a re-joined group stays bounded)

    @property
    def taking(self) -> bool:
        return not self._leaving


def _settle(entry: _Entry, ok: bool) -> None:
    if not entry.outcome.done():
        entry.outcome.set_result(ok)


@dataclass(slots=True)
class Offer:
    """An event registered with the groups that will take it, before it is sent."""

    msg_id: str
    takers: list[tuple[_Group, _Entry]]


class LocalRelay:
    """The groups of one bus (one per process in ``lstarb run``), by stream."""

    def __init__(self, streams: frozenset[str] = LOCAL_STREAMS) -> None:
        self.streams = streams
        self._groups: dict[tuple[str, str], _Group] = {}
        self._by_stream: dict[str, list[_Group]] = {s: [] for s in streams}

    def join(
        self, stream: str, name: str, handler: Handler, filter_subject: str, stats: ConsumerStats
    ) -> LocalMember:
        """A member of group ``name`` on ``stream`` (created on the first join)."""
        group = self._groups.get((stream, name))
        if group is None:
            group = self._groups[(stream, name)] = _Group(stream, name, filter_subject)
            self._by_stream[stream].append(group)
        return LocalMember(group, handler, stats)

    def counts(self) -> dict[str, LocalCounts]:
        """``<stream>/<group>`` -> its counts."""
        return {f"{s}/{n}": g.counts for (s, n), g in self._groups.items()}

    def offer(self, stream: str, subject: str, msg_id: str) -> Offer | None:
        """Register the event with every group that takes it (before it is sent)."""
        groups = self._by_stream.get(stream)
        if not groups:
            return None
        takers = []
        for group in groups:
            if group.takes(subject):
                entry = group.register(msg_id)
                if entry is not None:
                    takers.append((group, entry))
        return Offer(msg_id, takers) if takers else None

    @staticmethod
    def withdraw(offer: Offer) -> None:
        """The send failed at once: nothing is stored, nothing is handled."""
        for group, entry in offer.takers:
            _settle(entry, False)
            if group.entries.get(offer.msg_id) is entry:
                del group.entries[offer.msg_id]

    @staticmethod
    async def deliver(
        offer: Offer,
        stream: str,
        subject: str,
        event: EventModel,
        data: bytes,
        msg_id: str,
        trace: TraceContext,
        headers: Mapping[str, str],
    ) -> None:
        """Queue the event for each group of ``offer`` (waiting while a queue is full)."""
        delivery = Delivery(stream, subject, event, data, msg_id, trace, 0, 1, headers)
        for group, entry in offer.takers:
            if not group.open:  # its consumers stopped meanwhile
                _settle(entry, False)
                continue
            member = group.ready_member()
            if member is not None:
                member.take_now(delivery, entry)
                continue
            await group.queue.put((delivery, entry))
            if not group.open:  # every member quit while this waited for room
                group.abandon()
