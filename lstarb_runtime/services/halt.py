"""The kill switch's halted state in one process, shared by its services.

Why a state of its own: a halt is a state every service reads, not a flag scattered through
the code (STYLE.md, nautilus_trader's trading states). Its source of truth is the ``halted``
key of the ``control`` key-value bucket (:mod:`lstarb_runtime.control.state`):
:meth:`HaltSwitch.follow` reads it before any service starts (a process started while halted
starts halted) and then watches it, so every process on the cluster hears a change as soon as
the server stores it. ``lstarb kill``, the control API and the system manager's breakers write
the key (and audit the command on SYSTEM); nothing else changes it.

A value that cannot be read halts (fail closed): a process that cannot tell whether it may
trade does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Final

from lstarb_runtime import metrics
from lstarb_runtime.bus import Bus
from lstarb_runtime.bus.kv import Entry
from lstarb_runtime.control.state import BUCKET, KEY, HaltState, halt_label
from lstarb_sdk.errors import DecodeError, LstarbError
from lstarb_sdk.events import Command, SystemCommandEvent

log = logging.getLogger("lstarb.halt")

Listener = Callable[[bool, str], None]

RETRY_S: Final = 1.0
"""Wait before watching the key again after the watch broke (the connection dropped)."""
CANCEL_WAIT_S: Final = 1.0
"""Longest wait for a cancelled watch to end (see :func:`_cancel`)."""
CHECK_S: Final = 1.0
"""How often the key is also read directly: a watch that silently lost its subscription (the
server restarted: the client notices only after missed heartbeats, seconds later) is
replaced, and the change it missed applied, within this."""


class HaltSwitch:
    """Halted or not, why, and since when; listeners hear every change at once."""

    def __init__(self) -> None:
        self.halted = False
        self.reason = ""
        self.since_ns = 0
        self.state = HaltState()
        """The last state read from the bucket (who, why, which command)."""
        self.changes = 0
        """Changes seen since this process started (the first read included)."""
        self._listeners: list[Listener] = []
        self._watch: asyncio.Task[None] | None = None
        self._check: asyncio.Task[None] | None = None
        self._revision = 0
        self._stopped = False

    def listen(self, listener: Listener) -> None:
        """Call ``listener(halted, reason)`` on every change (services register here)."""
        self._listeners.append(listener)

    def set(self, halted: bool, reason: str) -> None:
        """Halt or resume; a no-op when the state does not change."""
        if halted == self.halted:
            return
        self.halted, self.reason, self.since_ns = halted, reason, time.time_ns()
        self.changes += 1
        metrics.set_kill_switch(halted)
        log.warning("%s: %s", "HALTED" if halted else "resumed", reason or "(no reason given)")
        for listener in self._listeners:
            listener(halted, reason)

    def apply(self, event: SystemCommandEvent) -> None:
        """Act on one SYSTEM command in this process only (tests, tools without a bus).

        Commands this runtime does not know are logged, not fatal."""
        if event.command in (Command.KILL_SWITCH, Command.RESUME):
            self._adopt(HaltState.of(event))
        else:
            log.warning(
                "SYSTEM command %s (id %s) not understood; ignored", event.command, event.id
            )

    def _adopt(self, state: HaltState) -> None:
        self.state = state
        self.set(state.halted, halt_label(state))

    def _entry(self, entry: Entry | None) -> None:
        if entry is not None:
            if entry.revision and entry.revision < self._revision:
                return  # older than what was applied (the watch and the check crossed)
            self._revision = max(self._revision, entry.revision)
        if entry is None or entry.deleted:
            self._adopt(HaltState(reason=f"{BUCKET}/{KEY} deleted"))
            return
        try:
            self._adopt(HaltState.decode(entry.value))
        except DecodeError as exc:
            self._adopt(HaltState(halted=True, reason=f"unreadable: {exc}", by="halt switch"))

    async def follow(self, bus: Bus) -> None:
        """Read the state now, then follow every change of it until :meth:`stop`.

        Returns once the current state is applied, so services started after it start in it.
        """
        try:
            entry = await bus.kv(BUCKET).get(KEY)
        except DecodeError as exc:  # pragma: no cover - get never decodes
            raise LstarbError(str(exc)) from None
        if entry is not None:
            self._entry(entry)
        self._watch = asyncio.create_task(self._follow(bus), name="lstarb-halt-watch")
        self._check = asyncio.create_task(self._checking(bus), name="lstarb-halt-check")

    async def _checking(self, bus: Bus) -> None:
        kv = bus.kv(BUCKET)
        while not self._stopped:
            await asyncio.sleep(CHECK_S)
            try:
                entry = await kv.get(KEY)
            except Exception as exc:
                log.debug("reading %s/%s: %s", BUCKET, KEY, exc)
                continue
            if entry is None or entry.revision <= self._revision:
                continue
            await asyncio.sleep(CHECK_S / 4)  # the watch may be delivering it right now
            if entry.revision <= self._revision:
                continue
            log.warning("%s/%s changed unseen by the watch; watching again", BUCKET, KEY)
            self._entry(entry)
            if self._watch is not None:
                await _cancel(self._watch)
            self._watch = asyncio.create_task(self._follow(bus), name="lstarb-halt-watch")

    async def _follow(self, bus: Bus) -> None:
        """Watch until stopped. Why the checks of ``_stopped`` and ``cancelling()``: nats-py
        can turn the cancellation of a watch being set up into an error of its own, and a
        loop that took that for a broken watch would never end (the run would not exit)."""
        kv = bus.kv(BUCKET)
        me = asyncio.current_task()
        while not self._stopped:
            try:
                async for entry in kv.watch(KEY):
                    self._entry(entry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopped or (me is not None and me.cancelling()):
                    return
                log.warning("watching %s/%s broke (%s); watching again", BUCKET, KEY, exc)
            await asyncio.sleep(RETRY_S)

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._check, self._watch):
            if task is not None:
                await _cancel(task)
        self._watch = self._check = None


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel until it ends, for a while, never forever: nats-py can swallow the cancellation
    of a watch it is setting up (the watch then waits for entries as if nothing happened), so
    one ``cancel()`` is not always enough."""
    deadline = asyncio.get_running_loop().time() + CANCEL_WAIT_S
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
        if asyncio.get_running_loop().time() > deadline:
            log.debug("%s did not end within %.1fs of cancelling", task.get_name(), CANCEL_WAIT_S)
            return
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
