"""The kill switch's halted state in one process, shared by its services.

Why a state of its own: a halt is a state every service reads, not a flag scattered through
the code (STYLE.md, nautilus_trader's trading states). SYSTEM events feed it today
(:meth:`HaltSwitch.follow`: ``SystemCommandEvent`` KILL_SWITCH halts, RESUME resumes); the
persistent halt in the ``control`` key-value bucket and the control API come later and feed
the same switch through :meth:`HaltSwitch.set`, so no service changes when they land.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from lstarb_runtime import metrics
from lstarb_runtime.bus import Bus, Consumer, Delivery
from lstarb_sdk.events import Command, SystemCommandEvent

log = logging.getLogger("lstarb.halt")

Listener = Callable[[bool, str], None]


class HaltSwitch:
    """Halted or not, why, and since when; listeners hear every change at once."""

    def __init__(self) -> None:
        self.halted = False
        self.reason = ""
        self.since_ns = 0
        self._listeners: list[Listener] = []
        self._consumer: Consumer | None = None

    def listen(self, listener: Listener) -> None:
        """Call ``listener(halted, reason)`` on every change (services register here)."""
        self._listeners.append(listener)

    def set(self, halted: bool, reason: str) -> None:
        """Halt or resume; a no-op when the state does not change."""
        if halted == self.halted:
            return
        self.halted, self.reason, self.since_ns = halted, reason, time.time_ns()
        metrics.set_kill_switch(halted)
        log.warning("%s: %s", "HALTED" if halted else "resumed", reason or "(no reason given)")
        for listener in self._listeners:
            listener(halted, reason)

    def apply(self, event: SystemCommandEvent) -> None:
        """Act on one SYSTEM command; commands this runtime does not know are logged, not fatal."""
        who = f" (by {event.triggered_by})" if event.triggered_by else ""
        if event.command is Command.KILL_SWITCH:
            self.set(True, f"kill switch{who}: {event.reason}")
        elif event.command is Command.RESUME:
            self.set(False, f"resume{who}: {event.reason}")
        else:
            log.warning(
                "SYSTEM command %s (id %s) not understood; ignored", event.command, event.id
            )

    async def follow(self, bus: Bus) -> None:
        """Follow SYSTEM from its start, so the last command sent decides the state now.

        Every follower needs every command from the first, so its durable is its own (host,
        pid and a random part: never shared, never resumed by a later follower). The durable
        stays on the server after the process; the ``control`` bucket's watch will replace it.
        """

        async def handle(delivery: Delivery) -> None:
            if isinstance(delivery.event, SystemCommandEvent):
                self.apply(delivery.event)

        durable = f"halt-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        durable = durable.replace(".", "_")
        self._consumer = await bus.consume("SYSTEM", durable, handle)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
