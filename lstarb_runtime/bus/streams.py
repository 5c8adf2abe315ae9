"""The six JetStream streams of DESIGN.md and the subject each event is published on.

Why one table: the stream set is the wire contract between services (and between processes
on one NATS cluster); start-up creates or updates exactly these, the tests compare the
server's configuration with them, and ``lstarb streams`` lists them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final, Literal

from solders.pubkey import Pubkey

from lstarb_sdk.events import (
    AccountEvent,
    EventModel,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    MetricEvent,
    OpportunityEvent,
    PoolStateEvent,
    SystemCommandEvent,
)

HOUR: Final = 3600.0
DAY: Final = 24 * HOUR


@dataclass(frozen=True)
class StreamSpec:
    """One stream: its subjects, storage and limits (seconds for durations)."""

    name: str
    subjects: tuple[str, ...]
    storage: Literal["memory", "file"]
    max_age: float
    duplicate_window: float
    description: str
    max_bytes: int = -1
    """A cap on memory streams, so an hour of market data cannot exhaust the host's RAM."""


STREAMS: Final[tuple[StreamSpec, ...]] = (
    StreamSpec(
        "MARKET_DATA", ("md.>",), "memory", HOUR, 10.0, "market tape, pool states", 512 * 2**20
    ),
    StreamSpec("OPPORTUNITIES", ("opp.>",), "file", DAY, 120.0, "detected opportunities"),
    StreamSpec("EXECUTION", ("exec.plan.>",), "file", HOUR, 600.0, "validated execution plans"),
    StreamSpec("EXECUTED", ("exec.result.>",), "file", 7 * DAY, 600.0, "execution results, P&L"),
    StreamSpec("METRICS", ("metrics.>",), "memory", HOUR, 10.0, "performance metrics", 64 * 2**20),
    StreamSpec("SYSTEM", ("system.>",), "file", 30 * DAY, 120.0, "kill switch, control plane"),
)
"""DESIGN.md "The six streams". Duplicate windows: short on the hot memory streams (every id in
the window is held by the server), long on EXECUTION/EXECUTED so a plan or result re-sent after
a crash within 10 minutes is stored once."""

STREAM_BY_NAME: Final = {s.name: s for s in STREAMS}

_STREAM_OF_EVENT: Final[dict[type[EventModel], str]] = {
    AccountEvent: "MARKET_DATA",
    PoolStateEvent: "MARKET_DATA",
    OpportunityEvent: "OPPORTUNITIES",
    ExecutionPlanEvent: "EXECUTION",
    ExecutionResultEvent: "EXECUTED",
    MetricEvent: "METRICS",
    SystemCommandEvent: "SYSTEM",
}

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_\-]")


def token(text: str) -> str:
    """A subject token: characters NATS treats specially (``.``, ``*``, ``>``, spaces) -> ``_``."""
    return _UNSAFE.sub("_", text) or "_"


_CACHE_MAX: Final = 65_536
"""Entries a name cache holds before it starts over (accounts followed are a few thousand)."""
_KEY_NAMES: dict[Pubkey, str] = {}
_TOKENS: dict[str, str] = {}


def key_name(key: Pubkey) -> str:
    """``str(key)`` (base58), remembered: why, the scanner names the same few thousand accounts
    in a subject and a message id for every update, and base58 costs about 2 µs a key where a
    dictionary hit costs 0.1."""
    name = _KEY_NAMES.get(key)
    if name is None:
        if len(_KEY_NAMES) >= _CACHE_MAX:
            _KEY_NAMES.clear()
        name = _KEY_NAMES[key] = str(key)
    return name


def _token(text: str) -> str:
    """:func:`token`, remembered (dex names, strategy names: a handful)."""
    tok = _TOKENS.get(text)
    if tok is None:
        if len(_TOKENS) >= _CACHE_MAX:
            _TOKENS.clear()
        tok = _TOKENS[text] = token(text)
    return tok


def stream_of(event: EventModel) -> StreamSpec:
    """The stream an event belongs to."""
    return STREAM_BY_NAME[_STREAM_OF_EVENT[type(event)]]


def subject_of(event: EventModel) -> str:
    """The subject an event is published on; consumers can filter on its tokens."""
    if isinstance(event, AccountEvent):
        return "md.account." + key_name(event.pubkey)
    if isinstance(event, PoolStateEvent):
        return f"md.{_token(event.dex)}.{key_name(event.pool)}"
    if isinstance(event, OpportunityEvent):
        return f"opp.{token(event.strategy)}"
    if isinstance(event, ExecutionPlanEvent):
        return f"exec.plan.{token(event.strategy)}"
    if isinstance(event, ExecutionResultEvent):
        return f"exec.result.{token(event.status)}"
    if isinstance(event, MetricEvent):
        return f"metrics.{token(event.name.split('.', 1)[0])}"
    if isinstance(event, SystemCommandEvent):
        return "system.control"
    raise TypeError(f"no stream carries {type(event).__name__}")


_POOL_STATE_SUMMARY: Final = struct.Struct("<QQddIdBBIdQ?d")


def _digest(data: bytes) -> str:
    return blake2b(data, digest_size=8).hexdigest()


def msg_id_of(event: EventModel) -> str:
    """The de-duplication id (Nats-Msg-Id): the same event published twice is stored once.

    The one definition for every publish path (``publish``, ``publish_nowait``, tools), so two
    paths, two scanners or two data sources that saw the same thing store it once:

    - AccountEvent ``acct:<pubkey>:<slot>:<write_version>:<blake2b-8 of data, hex>``: the data
      is part of it, so two different states that a source numbered alike are both kept;
    - PoolStateEvent ``md:<pool>:<slot>:<write_version>:<blake2b-8 of the state>``: the state
      (reserves, prices, liquidity, fees, decimals, fair value and premium) stands in for the
      account that changed, so two accounts of one pool changing in one slot are two states,
      and the same state seen by two sources (which differ only in ``source`` and
      ``received_ns``) is one.
    """
    if isinstance(event, AccountEvent):
        key = key_name(event.pubkey)
        return f"acct:{key}:{event.slot}:{event.write_version}:{_digest(event.data)}"
    if isinstance(event, PoolStateEvent):
        state = _POOL_STATE_SUMMARY.pack(
            event.reserve_a,
            event.reserve_b,
            event.price,
            event.liquidity,
            event.fee_bps,
            event.price_human,
            event.decimals_a,
            event.decimals_b,
            event.fee_ppm,
            event.fair_value,
            event.fair_value_epoch,
            event.fair_value_stale,
            event.premium_bps,
        )
        return f"md:{key_name(event.pool)}:{event.slot}:{event.write_version}:{_digest(state)}"
    if isinstance(event, OpportunityEvent | ExecutionPlanEvent | SystemCommandEvent):
        return f"{stream_of(event).name}:{event.id}"
    if isinstance(event, ExecutionResultEvent):
        return f"EXECUTED:{event.plan_id}:{event.status}"
    if isinstance(event, MetricEvent):
        labels = ",".join(f"{k}={v}" for k, v in sorted(event.labels.items()))
        return f"metric:{event.name}:{labels}:{event.time_ns}"
    raise TypeError(f"no stream carries {type(event).__name__}")


_STREAM_OF_SUBJECT: dict[str, StreamSpec | None] = {}


def stream_for_subject(subject: str) -> StreamSpec | None:
    """The stream whose subjects match ``subject`` (None if none does); remembered per subject
    (every publish asks, and the subjects are one per account, pool or strategy)."""
    try:
        return _STREAM_OF_SUBJECT[subject]
    except KeyError:
        pass
    if len(_STREAM_OF_SUBJECT) >= _CACHE_MAX:
        _STREAM_OF_SUBJECT.clear()
    spec = _STREAM_OF_SUBJECT[subject] = _match_stream(subject)
    return spec


def _match_stream(subject: str) -> StreamSpec | None:
    for spec in STREAMS:
        for pattern in spec.subjects:
            prefix = pattern.removesuffix(">")
            if subject.startswith(prefix) and len(subject) > len(prefix):
                return spec
    return None


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether ``subject`` matches ``pattern`` (``*`` one token, ``>`` one or more at the end)."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def subject_within(subject: str, pattern: str) -> bool:
    """Whether every subject ``subject`` matches is matched by ``pattern`` (NATS wildcards).

    ``md.account.>`` is within ``md.>``; ``nomatch.>`` and ``*.x`` are not. Why: a consumer
    filter outside its stream is refused by the server with a bare "bad request"; checking
    first lets ``lstarb tail`` say what is wrong.
    """
    want, have = subject.split("."), pattern.split(".")
    for i, tok in enumerate(have):
        if tok == ">":
            return len(want) > i
        if i >= len(want) or want[i] == ">" or (tok != "*" and tok != want[i]):
            return False
    return len(want) == len(have)
