"""The ``replay`` plugin: a data source that plays back a recorded market.

Two kinds of recording, told apart by what the directory holds:

- a MARKET_DATA recording written by ``lstarb record`` (its MANIFEST.json says
  ``lstarb-recording``): the market tape is played back in order, at the recorded pace
  (``speed = 1``, ``2`` twice as fast) or as fast as possible (``speed = 0``, the default);
- a directory of account JSON dumps (one file per account; the default run replays the
  market recorded from real mainnet pool accounts that ships with the runtime,
  ``lstarb_runtime/data/market``): each account the pools need is played once.

Either can say which accounts it knows to be absent from the chain: a tape holds
``AccountEvent``\\ s with ``exists`` false; a dump directory may hold MANIFEST.json files
listing them (any list under a key containing ``absent``, of base58 keys or objects with a
``pda``/``pubkey``/``address``). ``fetch`` gives None for those (SDK 1.1: the chain has no such
account) and leaves out what the recording does not know (no news).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import click
from pydantic import Field, ValidationError, field_validator
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_runtime.bus.recording import RecordingError, is_recording, read_records
from lstarb_runtime.config import ROLES
from lstarb_sdk import (
    AccountUpdate,
    DataSource,
    DataSourceError,
    PluginConfig,
    PluginContext,
    SlotUpdate,
    hookimpl,
)
from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import AccountEvent
from lstarb_sdk.solana import SYSVAR_CLOCK_ID, Clock, account_from_json

SYSVAR_ID = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")

LSTARB_SDK_API = "1.1"

SLOTS_PER_EPOCH = 432_000
MANIFEST = "MANIFEST.json"

log = logging.getLogger("lstarb.replay")


class ReplayConfig(PluginConfig):
    path: Path | None = Field(
        None,
        description="a recording (lstarb record) or a directory of account JSON files "
        "(default: the bundled market)",
    )
    slot: int = Field(
        410_400_000, ge=0, description="slot stamped on replayed dumps (epoch = slot // 432000)"
    )
    unix_timestamp: int | None = Field(
        None, description="Clock time when the recording has no Clock sysvar (default: now)"
    )
    speed: float = Field(
        0.0,
        ge=0,
        description="recordings: 1 plays at the recorded pace, 2 twice as fast, "
        "0 as fast as possible",
    )

    @field_validator("path")
    @classmethod
    def _a_directory(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        if not value.exists():
            raise ValueError(f"{value} does not exist")
        if not value.is_dir():
            raise ValueError(
                f"{value} is a file; give a directory (a recording, or account JSON files)"
            )
        return value


def clock_account(slot: int, unix_timestamp: int) -> Account:
    """A Clock sysvar for a recording that has none: fees that depend on time
    (DLMM's volatility, Orca's adaptive fee) and on the epoch (Token-2022
    transfer fees) read it."""
    epoch = slot // SLOTS_PER_EPOCH
    clock = Clock(slot, unix_timestamp, epoch, epoch + 1, unix_timestamp)
    return Account(1_169_280, clock.encode(), SYSVAR_ID, False, 0)


def bundled_market() -> Path:
    """The market recorded from real mainnet accounts that ships with lstarb."""
    return Path(str(resources.files("lstarb_runtime") / "data" / "market"))


def load_market(root: Path) -> dict[Pubkey, Account]:
    """Every account file below ``root``; a malformed file is named in the error."""
    accounts: dict[Pubkey, Account] = {}
    for path in sorted(root.rglob("*.json")):
        if path.name == MANIFEST:
            continue
        try:
            key, account = account_from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataSourceError(f"replay file {path}: not an account dump ({exc})") from None
        accounts[key] = account
    return accounts


_KEY_FIELDS = ("pda", "pubkey", "address")


def _absent_keys(doc: Any, where: Path, inside: bool = False) -> set[Pubkey]:
    """Keys listed under any key containing ``absent``: strings, or objects' pda/pubkey."""
    found: set[Pubkey] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            if inside and key in _KEY_FIELDS:
                found |= _absent_keys([value], where, True)
            elif isinstance(value, dict | list):
                found |= _absent_keys(value, where, inside or "absent" in str(key))
    elif isinstance(doc, list):
        for item in doc:
            if inside and isinstance(item, str):
                try:
                    found.add(Pubkey.from_string(item))
                except ValueError:
                    raise DataSourceError(f"{where}: absent {item!r} is not a key") from None
            else:
                found |= _absent_keys(item, where, inside)
    return found


def load_absent(root: Path) -> set[Pubkey]:
    """Accounts the MANIFEST.json files below ``root`` list as absent from the chain."""
    absent: set[Pubkey] = set()
    for path in sorted(root.rglob(MANIFEST)):
        try:
            doc = json.loads(path.read_text())
        except ValueError as exc:
            raise DataSourceError(f"replay manifest {path} is not JSON: {exc}") from None
        absent |= _absent_keys(doc, path)
    return absent


class ReplaySource(DataSource):
    """Plays each subscribed account of a snapshot once, then a slot tick; ends when played."""

    name = "replay"

    def __init__(
        self,
        accounts: Mapping[Pubkey, Account],
        *,
        slot: int = 410_400_000,
        unix_timestamp: int | None = None,
        absent: Iterable[Pubkey] = (),
    ) -> None:
        self.accounts = dict(accounts)
        self.absent = set(absent) - set(self.accounts)
        if SYSVAR_CLOCK_ID not in self.accounts:
            now = int(time.time()) if unix_timestamp is None else unix_timestamp
            self.accounts[SYSVAR_CLOCK_ID] = clock_account(slot, now)
        self.slot = slot
        self._queue: asyncio.Queue[Pubkey | None] = asyncio.Queue()
        self._subscribed: set[Pubkey] = set()
        self._closed = False

    async def subscribe(self, accounts: Iterable[Pubkey]) -> None:
        for key in accounts:
            if key not in self._subscribed:
                self._subscribed.add(key)
                await self._queue.put(key)

    def known_accounts(self) -> Iterable[Pubkey]:
        return [*self.accounts, *self.absent]

    def newest_slot(self) -> int:
        return self.slot

    async def fetch(self, accounts: Iterable[Pubkey]) -> Mapping[Pubkey, Account | None]:
        """What the recording holds: an account, None if it says the chain has none; keys it
        knows nothing about are left out (no news)."""
        out: dict[Pubkey, Account | None] = {}
        for key in accounts:
            if key in self.accounts:
                out[key] = self.accounts[key]
            elif key in self.absent:
                out[key] = None
        return out

    def _update(
        self, key: Pubkey, account: Account, slot: int, write_version: int
    ) -> AccountUpdate:
        return AccountUpdate(
            pubkey=key,
            slot=slot,
            owner=account.owner,
            lamports=account.lamports,
            data=bytes(account.data),
            executable=account.executable,
            write_version=write_version,
            source=self.name,
            received_ns=time.time_ns(),
        )

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        while not self._closed:
            if self._queue.empty():
                yield SlotUpdate(self.slot, source=self.name, received_ns=time.time_ns())
                return
            key = await self._queue.get()
            if key is None:
                return
            account = self.accounts.get(key)
            if account is None:
                continue
            yield AccountUpdate(
                pubkey=key,
                slot=self.slot,
                owner=account.owner,
                lamports=account.lamports,
                data=bytes(account.data),
                executable=account.executable,
                write_version=1,  # one update per account and slot: its first write
                source=self.name,
                received_ns=time.time_ns(),
            )

    async def close(self) -> None:
        self._closed = True
        await self._queue.put(None)


class TapeReplaySource(ReplaySource):
    """Plays a MARKET_DATA recording: the first state of every account as the snapshot
    (``fetch``), then every later update in recorded order, paced by ``speed``."""

    def __init__(
        self,
        snapshot: Sequence[AccountEvent],
        tape: Sequence[tuple[int, AccountEvent]],
        *,
        start_ns: int = 0,
        speed: float = 0.0,
        unix_timestamp: int | None = None,
    ) -> None:
        first_slot = min((e.slot for e in snapshot), default=0)
        super().__init__(
            {e.pubkey: a for e in snapshot if (a := e.account()) is not None},
            slot=first_slot,
            unix_timestamp=unix_timestamp,
            absent=[e.pubkey for e in snapshot if not e.exists],
        )
        self.tape = list(tape)
        self.start_ns = start_ns or (self.tape[0][0] if self.tape else 0)
        self.speed = speed
        self.last_slot = max([first_slot, *(e.slot for _, e in self.tape)])

    @classmethod
    def from_recording(
        cls, path: Path, *, speed: float = 0.0, unix_timestamp: int | None = None
    ) -> TapeReplaySource:
        """Read a recording; records that are not a valid tape event are named and skipped."""
        snapshot: dict[Pubkey, AccountEvent] = {}
        tape: list[tuple[int, AccountEvent]] = []
        start_ns = 0
        skipped = 0
        try:
            for rec in read_records(path):
                start_ns = start_ns or rec.time_ns
                if rec.data[4:8] != AccountEvent.FILE_IDENTIFIER:
                    continue  # pool states: derived, the scanner publishes its own
                try:
                    event = AccountEvent.decode(rec.data)
                except DecodeError as exc:
                    skipped += 1
                    log.warning("%s: record %d skipped: %s", path, rec.sequence, exc)
                    continue
                if event.pubkey in snapshot:
                    tape.append((rec.time_ns, event))
                else:
                    snapshot[event.pubkey] = event
        except RecordingError as exc:
            raise DataSourceError(f"replay: {exc}") from None
        if not snapshot:
            raise DataSourceError(f"replay: recording {path} holds no account updates")
        if skipped:
            log.warning("%s: %d malformed records skipped", path, skipped)
        return cls(
            list(snapshot.values()),
            tape,
            start_ns=start_ns,
            speed=speed,
            unix_timestamp=unix_timestamp,
        )

    def _tape_update(self, event: AccountEvent) -> AccountUpdate:
        """The recorded update, from this source. An account the chain no longer has arrives
        as Solana reports a closed one: no lamports, no data, owned by the system program."""
        return replace(event.to_update(), source=self.name, received_ns=time.time_ns())

    async def stream(self) -> AsyncIterator[AccountUpdate | SlotUpdate]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        slot = self.slot
        for i, (time_ns, event) in enumerate(self.tape):
            if self._closed:
                return
            if self.speed > 0:
                delay = began + (time_ns - self.start_ns) / 1e9 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 256 == 255:
                await asyncio.sleep(0)  # as fast as possible, but let the scanner run
            if event.slot > slot:
                yield SlotUpdate(slot, source=self.name, received_ns=time.time_ns())
                slot = event.slot
            yield self._tape_update(event)
        yield SlotUpdate(max(slot, self.last_slot), source=self.name, received_ns=time.time_ns())


def open_replay(
    path: Path, *, slot: int, unix_timestamp: int | None, speed: float = 0.0
) -> ReplaySource:
    """The replay source for ``path``: a recording, or a directory of account JSON files."""
    if not path.is_dir():
        raise DataSourceError(f"replay path {path} does not exist or is not a directory")
    if is_recording(path):
        return TapeReplaySource.from_recording(path, speed=speed, unix_timestamp=unix_timestamp)
    accounts = load_market(path)
    if not accounts:
        raise DataSourceError(
            f"replay path {path} holds no account files (*.json) and is not a recording "
            "(lstarb record writes one)"
        )
    return ReplaySource(
        accounts, slot=slot, unix_timestamp=unix_timestamp, absent=load_absent(path)
    )


@hookimpl
def lstarb_config_model() -> type[PluginConfig]:
    return ReplayConfig


@hookimpl
def lstarb_data_sources(context: PluginContext) -> list[DataSource]:
    config = context.config("replay")
    assert config is None or isinstance(config, ReplayConfig)
    config = config or ReplayConfig()
    path = config.path if config.path is not None else bundled_market()
    return [
        open_replay(
            path, slot=config.slot, unix_timestamp=config.unix_timestamp, speed=config.speed
        )
    ]


@hookimpl
def lstarb_register_commands(cli: Any) -> None:
    cli.add_command(replay_command)


@click.command(
    "replay", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    help="recordings: 1 the recorded pace, 2 twice as fast, 0 as fast as possible (default)",
)
@click.option("--role", type=click.Choice(ROLES), help="run one service (default: all)")
@click.option(
    "--tape",
    type=click.Path(path_type=Path),
    help="with --role planner: play this recording of MARKET_DATA and OPPORTUNITIES through "
    "the planner, offline (--out DIR writes the plans, --json the summary)",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="with --tape: write the plans to this new directory (a recording of EXECUTION)",
)
@click.option("--json", "as_json", is_flag=True, help="with --tape: the summary as JSON")
@click.option("--plugins", "plugins", help="comma-separated plugin names (default: all installed)")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file")
@click.pass_context
def replay_command(
    ctx: click.Context,
    path: Path | None,
    speed: float | None,
    role: str | None,
    tape: Path | None,
    out: Path | None,
    as_json: bool,
    plugins: str | None,
    config_path: Path | None,
) -> None:
    """Run on a recording (lstarb record) or a directory of account JSON files.

    ``lstarb run`` with ``[plugins.replay] path = PATH`` and ``speed``; every other option is
    passed to ``lstarb run`` (``--plugins``, ``--duration``, ...).

    ``lstarb replay --role planner --tape DIR`` instead plays a recording of MARKET_DATA and
    OPPORTUNITIES through the planner alone, without a bus: the same recording gives the same
    plans, byte for byte.
    """
    if tape is not None:
        if path is not None:
            raise click.UsageError("give a PATH to run on, or --tape DIR with --role planner")
        if role != "planner":
            raise click.UsageError(
                f"--tape plays a recording through one role: --role planner (not {role or 'all'})"
            )
        from lstarb_runtime.planner.replay import planner_replay

        args = ["--tape", str(tape), *_given(out=out, plugins=plugins, config=config_path)]
        with planner_replay.make_context(
            "replay", [*args, *(["--json"] if as_json else []), *ctx.args], parent=ctx.parent
        ) as sub:
            planner_replay.invoke(sub)
        return
    if out is not None or as_json:
        raise click.UsageError("--out and --json go with --tape (a replay through the planner)")
    if path is None:
        raise click.UsageError(
            "give a PATH (a recording or account JSON files), or --tape DIR with --role planner"
        )
    try:
        ReplayConfig(path=path, speed=speed or 0.0)
    except ValidationError as exc:
        raise click.UsageError(f"replay path: {exc.errors()[0]['msg']}") from None
    os.environ["LSTARB_PLUGINS__REPLAY__PATH"] = str(path.absolute())
    if speed is not None:
        os.environ["LSTARB_PLUGINS__REPLAY__SPEED"] = repr(speed)
    root = ctx.find_root().command
    run = root.get_command(ctx, "run") if isinstance(root, click.Group) else None
    if run is None:
        raise click.UsageError("this lstarb has no run command")
    args = [*_given(role=role, plugins=plugins, config=config_path), *ctx.args]
    with run.make_context("run", args, parent=ctx.parent) as sub:
        run.invoke(sub)


def _given(**options: object) -> list[str]:
    """``--name value`` for each option that was given."""
    return [a for k, v in options.items() if v is not None for a in (f"--{k}", str(v))]
