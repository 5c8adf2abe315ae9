"""The kill switch's state in the ``control`` bucket, and the one way to change it.

Why a key-value entry and not only SYSTEM events: a service that starts while halted must
start halted without replaying a month of SYSTEM, and every process must hear a change at
once. The bucket's ``halted`` key holds the current state (JSON, below); every process watches
it (:class:`~lstarb_runtime.services.halt.HaltSwitch`). SYSTEM still carries each command as
a ``SystemCommandEvent`` (who and why, kept 30 days): the audit trail.

:func:`command` writes the key first (that is what stops the services) and then publishes the
audit event with the same id; a SYSTEM command published by some other tool is applied to the
key by the system manager (:meth:`HaltState.superseded_by` decides whether it is newer).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Final

from lstarb_runtime.bus import Bus
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import Command, SystemCommandEvent

BUCKET: Final = "control"
KEY: Final = "halted"


@dataclass(frozen=True)
class HaltState:
    """What the ``halted`` key says: halted or not, why, by whom, since when, by which command."""

    halted: bool = False
    reason: str = ""
    by: str = ""
    since_ns: int = 0
    command_id: str = ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> HaltState:
        """The state a value holds; :class:`DecodeError` naming what is wrong otherwise."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DecodeError(f"{BUCKET}/{KEY} is not JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("halted"), bool):
            raise DecodeError(f"{BUCKET}/{KEY} has no boolean 'halted': {data[:80]!r}")
        return cls(
            halted=doc["halted"],
            reason=str(doc.get("reason", "")),
            by=str(doc.get("by", "")),
            since_ns=int(doc.get("since_ns", 0) or 0),
            command_id=str(doc.get("command_id", "")),
        )

    def describe(self) -> str:
        """One line for people: ``HALTED since ... by ops: reason`` / ``running``."""
        if not self.since_ns and not self.halted:
            return "running (the kill switch was never thrown)"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since_ns / 1e9))
        word = "HALTED" if self.halted else "running"
        by = f" by {self.by}" if self.by else ""
        return f"{word} since {when}{by}: {self.reason or '(no reason given)'}"

    def superseded_by(self, event: SystemCommandEvent) -> bool:
        """Whether a SYSTEM command should replace this state (a tool published it directly).

        Not when it is the command that wrote this state, nor when it is older than it (the
        audit copy of a command already applied, or history replayed)."""
        if event.command not in (Command.KILL_SWITCH, Command.RESUME):
            return False
        if event.id == self.command_id:
            return False
        return not (event.time_ns and event.time_ns <= self.since_ns)

    @classmethod
    def of(cls, event: SystemCommandEvent) -> HaltState:
        return cls(
            halted=event.command is Command.KILL_SWITCH,
            reason=event.reason,
            by=event.triggered_by,
            since_ns=event.time_ns or time.time_ns(),
            command_id=event.id,
        )


def halt_label(state: HaltState) -> str:
    """The reason services see (``HaltSwitch.reason``): what happened, by whom, why."""
    who = f" (by {state.by})" if state.by else ""
    what = "kill switch" if state.halted else "resume"
    return f"{what}{who}: {state.reason}" if state.reason else f"{what}{who}"


async def read(bus: Bus) -> HaltState:
    """The current state (not halted when the key was never written).

    A value that cannot be read raises :class:`DecodeError`: callers that decide whether to
    trade treat it as halted (fail closed)."""
    entry = await bus.kv(BUCKET).get(KEY)
    if entry is None:
        return HaltState()
    return HaltState.decode(entry.value)


async def write(bus: Bus, state: HaltState) -> None:
    await bus.kv(BUCKET).put(KEY, state.encode())


async def command(bus: Bus, *, halted: bool, reason: str, by: str) -> tuple[HaltState, HaltState]:
    """Throw (``halted``) or release the kill switch; returns (before, after).

    The key is written first: every watching service acts on it. Then the command is
    published on SYSTEM with the same id, so the audit trail says who and why; the system
    manager recognises it by its id and does not apply it twice.
    """
    try:
        before = await read(bus)
    except DecodeError:
        before = HaltState(halted=True, reason="unreadable state")
    now = time.time_ns()
    event = SystemCommandEvent(
        id=f"{'kill' if halted else 'resume'}-{now}-{secrets.token_hex(4)}",
        command=Command.KILL_SWITCH if halted else Command.RESUME,
        reason=reason,
        triggered_by=by,
        time_ns=now,
    )
    after = HaltState.of(event)
    await write(bus, after)
    await bus.publish(event)
    return before, after
