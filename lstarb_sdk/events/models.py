"""Typed event models (pydantic) with FlatBuffers ``encode()`` / ``decode()``.

Each model mirrors one root table of ``schemas/*.fbs``. Construction validates (ranges of the
integer fields, 32-byte public keys); :meth:`EventModel.decode` verifies the whole buffer and
builds the model without re-validating. Public keys are :class:`solders.pubkey.Pubkey` and
serialize to base58 in JSON (``model_dump_json``).

For the hot path, skip the models: :func:`encode_opportunity` / :func:`decode_opportunity`
work on the SDK dataclasses directly, and :mod:`lstarb_sdk.events.views` reads single fields
without decoding the rest.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Final, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from solders.account import Account
from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import _schema as S
from lstarb_sdk.events._codec import (
    MAX_TABLES,
    Buffer,
    TableSpec,
    compile_encoder,
    encode_root,
    read_root,
)
from lstarb_sdk.types import AccountUpdate, ExecutionResult, Leg, Opportunity

_U64_MAX: Final = 2**64 - 1


def _to_pubkey(v: Any) -> Pubkey:
    if isinstance(v, Pubkey):
        return v
    if isinstance(v, str):
        return Pubkey.from_string(v)
    if isinstance(v, bytes | bytearray) and len(v) == 32:
        return Pubkey.from_bytes(bytes(v))
    raise ValueError(f"not a public key: {v!r}")


PubkeyField = Annotated[
    Pubkey,
    PlainValidator(_to_pubkey),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "base58 public key"}),
]


def _to_bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, bytearray | memoryview):
        return bytes(v)
    if isinstance(v, str):  # JSON: base64, as model_dump_json writes it
        try:
            return base64.b64decode(v, validate=True)
        except ValueError:
            raise ValueError("not base64") from None
    raise ValueError(f"not bytes: {type(v).__name__}")


BytesField = Annotated[
    bytes,
    PlainValidator(_to_bytes),
    PlainSerializer(lambda b: base64.b64encode(b).decode(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Raw bytes; base64 in JSON."""


def _to_optional_key(v: Any) -> bytes:
    if v is None:
        return b""
    if isinstance(v, Pubkey):
        return bytes(v)
    if isinstance(v, str):  # JSON: base58, as model_dump_json writes it; "" for none
        return bytes(Pubkey.from_string(v)) if v else b""
    if isinstance(v, bytes | bytearray | memoryview) and len(v) in (0, 32):
        return bytes(v)
    raise ValueError(f"not a public key or nothing: {v!r}")


OptionalKeyField = Annotated[
    bytes,
    PlainValidator(_to_optional_key),
    PlainSerializer(
        lambda b: str(Pubkey.from_bytes(b)) if b else "", return_type=str, when_used="json"
    ),
    WithJsonSchema({"type": "string", "description": "base58 public key, or empty for none"}),
]
"""An optional public key as the schema stores it: 32 raw bytes, or empty for none (a
``[ubyte]`` field, since ``(required)`` keys can never be absent); base58 or "" in JSON.
:func:`key_of` reads it as a ``Pubkey`` or None."""


def key_of(value: bytes) -> Pubkey | None:
    """The public key an optional key field holds, None when it is empty."""
    return Pubkey.from_bytes(value) if value else None


def _check_optional_keys(spec: TableSpec, d: dict[str, Any], *names: str) -> None:
    """Decoded optional keys must be empty or 32 bytes (the codec reads any ``[ubyte]``)."""
    for name in names:
        if len(d[name]) not in (0, 32):
            raise DecodeError(
                f"malformed {spec.name}: {name} has {len(d[name])} bytes, expected 0 or 32"
            )


U8 = Annotated[int, Field(ge=0, le=255)]
U32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
U64 = Annotated[int, Field(ge=0, le=_U64_MAX)]
I64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Command(IntEnum):
    """System commands (schema enum ``Command``). Unknown values read as ``UNKNOWN``."""

    UNKNOWN = 0
    KILL_SWITCH = 1
    RESUME = 2

    @classmethod
    def _missing_(cls, value: object) -> Command:
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                pass
        return cls.UNKNOWN


CommandField = Annotated[
    Command,
    PlainValidator(lambda v: v if isinstance(v, Command) else Command(v)),
    PlainSerializer(lambda c: c.name.lower(), return_type=str),
    WithJsonSchema({"type": "string", "enum": [c.name.lower() for c in Command]}),
]


_M = TypeVar("_M", bound=BaseModel)
_set = object.__setattr__


def _construct(cls: type[_M], d: dict[str, Any]) -> _M:
    """A model from fields the codec already verified: no pydantic validation.

    With every field present (the codec reads them all) the instance state is set directly,
    as ``model_construct`` would set it, without its per-field default handling, which was a
    third of the decode time; anything else goes through ``model_construct``.
    """
    if d.keys() == cls.model_fields.keys():
        obj = cls.__new__(cls)
        _set(obj, "__dict__", d)
        _set(obj, "__pydantic_fields_set__", set(d))
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj
    return cls.model_construct(**d)


def _encoder_of(cls: type[EventModel]) -> Callable[[Any], bytes]:
    """The compiled writer of ``cls``; the generic one if a spec field that is not a model
    field resolves to something on the class (``getattr`` would then find it)."""
    spec = cls.SPEC
    fields = cls.model_fields.keys()
    if any(f.name not in fields and hasattr(cls, f.name) for f in spec.fields):
        return lambda obj: encode_root(spec, obj)
    return compile_encoder(spec, fields)


_ENCODERS: dict[type, Callable[[Any], bytes]] = {}
"""Each event class's writer, made on its first ``encode()``."""


class EventModel(BaseModel):
    """Base of every event. ``schema_version`` is the version its writer declared.

    ``encode()`` always writes :data:`SCHEMA_VERSION` (the version of this SDK's schema),
    since a re-encoded event holds only the fields this version knows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    SPEC: ClassVar[TableSpec]
    FILE_IDENTIFIER: ClassVar[bytes]
    SUBJECT_PREFIX: ClassVar[str]

    schema_version: int = S.SCHEMA_VERSION

    def encode(self) -> bytes:
        """The event as a FlatBuffer (fast hand-written codec, same wire format as flatc's).

        Through a writer generated once per class (:func:`compile_encoder`): the same bytes as
        ``encode_root(self.SPEC, self)``, in about half the time.
        """
        cls = type(self)
        encoder = _ENCODERS.get(cls)
        if encoder is None:
            encoder = _ENCODERS[cls] = _encoder_of(cls)
        return encoder(self)

    @classmethod
    def decode(cls, buf: Buffer) -> Self:
        """Verify ``buf`` and build the model; :class:`DecodeError` if it is not this event."""
        return cls._from_fields(read_root(cls.SPEC, buf))

    @classmethod
    def unchecked(cls, fields: dict[str, Any]) -> Self:
        """The model of ``fields`` (every field, by name) without validating them.

        For a hot path that checks what it does not trust itself (the scanner's pool states
        check the plugin's summary, and the rest is its own): pydantic's validation of every
        field costs about as much as encoding the event. A value out of range still fails at
        :meth:`encode` (ValueError); nothing checks types, so pass what the fields declare.
        The dict becomes the instance's own: do not use it afterwards.
        """
        return _construct(cls, fields)

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> Self:
        d["schema_version"] = d.pop("version")
        return _construct(cls, d)


class LegEvent(BaseModel):
    """One swap of an opportunity or plan (schema table ``Leg``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool: PubkeyField
    dex: str
    input_mint: PubkeyField
    output_mint: PubkeyField
    in_amount: U64
    out_amount: U64
    fee_amount: U64 = 0
    min_out: U64 = 0
    """Plans: the least ``out_amount`` the leg's instruction accepts (schema version 3)."""

    @classmethod
    def from_leg(cls, leg: Leg) -> LegEvent:
        return cls(
            pool=leg.pool,
            dex=leg.dex,
            input_mint=leg.input_mint,
            output_mint=leg.output_mint,
            in_amount=leg.in_amount,
            out_amount=leg.out_amount,
            fee_amount=leg.fee_amount,
        )

    def to_leg(self) -> Leg:
        return Leg(
            self.pool,
            self.dex,
            self.input_mint,
            self.output_mint,
            self.in_amount,
            self.out_amount,
            self.fee_amount,
        )


Legs = Annotated[tuple[LegEvent, ...], Field(max_length=S.MAX_LEGS)]
StrMap = Annotated[dict[str, str], Field(max_length=MAX_TABLES)]


def _legs(items: list[dict[str, Any]]) -> tuple[LegEvent, ...]:
    return tuple(_construct(LegEvent, x) for x in items)


class AccountEvent(EventModel):
    """MARKET_DATA, the market tape: one raw account update the scanner applied
    (subject ``md.account.<pubkey>``).

    ``seq`` is the scanner's apply order; (slot, write_version) orders the updates of one
    account. ``exists`` false says the chain has no such account (``account()`` is then None,
    and the adapters get None for it). A planner or executor in another process applies these
    in ``seq`` order and has exactly the scanner's pool book.
    """

    SPEC = S.ACCOUNT
    FILE_IDENTIFIER = b"LSAC"
    SUBJECT_PREFIX = "md.account"

    pubkey: PubkeyField
    owner: PubkeyField
    slot: U64
    write_version: U64 = 0
    lamports: U64 = 0
    data: BytesField = b""
    executable: bool = False
    exists: bool = True
    source: str = ""
    received_ns: U64 = 0
    seq: U64 = 0

    @classmethod
    def from_update(cls, update: AccountUpdate, *, seq: int, exists: bool = True) -> AccountEvent:
        """The tape event of a data source's update (no validation: the hot path).

        An update that says an account is gone (``exists=False``) carries no data or owner.
        Values out of range (a negative slot) fail at ``encode()`` with ValueError.
        """
        if not exists:
            return cls.absent(
                update.pubkey,
                slot=update.slot,
                seq=seq,
                write_version=update.write_version,
                source=update.source,
                received_ns=update.received_ns,
            )
        return _construct(
            cls,
            {
                "schema_version": S.SCHEMA_VERSION,
                "pubkey": update.pubkey,
                "owner": update.owner,
                "slot": update.slot,
                "write_version": update.write_version,
                "lamports": update.lamports,
                "data": bytes(update.data),
                "executable": update.executable,
                "exists": True,
                "source": update.source,
                "received_ns": update.received_ns,
                "seq": seq,
            },
        )

    @classmethod
    def from_account(
        cls,
        pubkey: Pubkey,
        account: Account | None,
        *,
        slot: int,
        seq: int,
        write_version: int = 0,
        source: str = "",
        received_ns: int = 0,
    ) -> AccountEvent:
        """The tape event of a fetched account (a snapshot); None: the chain has none."""
        if account is None:
            return cls.absent(
                pubkey,
                slot=slot,
                seq=seq,
                write_version=write_version,
                source=source,
                received_ns=received_ns,
            )
        return cls(
            pubkey=pubkey,
            owner=account.owner,
            slot=slot,
            write_version=write_version,
            lamports=account.lamports,
            data=bytes(account.data),
            executable=account.executable,
            source=source,
            received_ns=received_ns,
            seq=seq,
        )

    @classmethod
    def absent(
        cls,
        pubkey: Pubkey,
        *,
        slot: int,
        seq: int,
        write_version: int = 0,
        source: str = "",
        received_ns: int = 0,
    ) -> AccountEvent:
        """The chain has no account at ``pubkey`` (owner all zero, no lamports, no data)."""
        return cls(
            pubkey=pubkey,
            owner=Pubkey.default(),
            slot=slot,
            write_version=write_version,
            exists=False,
            source=source,
            received_ns=received_ns,
            seq=seq,
        )

    def to_update(self) -> AccountUpdate:
        """The SDK update this event carries (an absent account: lamports 0, no data)."""
        return AccountUpdate(
            pubkey=self.pubkey,
            slot=self.slot,
            owner=self.owner,
            lamports=self.lamports,
            data=self.data,
            executable=self.executable,
            write_version=self.write_version,
            source=self.source,
            received_ns=self.received_ns,
        )

    def account(self) -> Account | None:
        """The account as ``PoolAdapter.update`` takes it; None when the chain has none."""
        if not self.exists:
            return None
        return Account(self.lamports, self.data, self.owner, self.executable, 0)


class PoolStateEvent(EventModel):
    """MARKET_DATA: one pool's state after an account update (subject ``md.<dex>.<pool>``).

    ``price`` is the raw ratio (mint_b per mint_a in smallest units); ``price_human`` the same
    with decimals applied (mint_b per whole mint_a). Both are summaries for dashboards and
    ``lstarb tail``, never inputs to trading: strategies quote the adapters, exactly.

    ``fair_value`` (schema 4) is SOL per whole LST as the LST's own program pays, for a pool
    that pairs an LST with SOL (0 when unknown or not such a pool), and ``premium_bps`` how far
    the pool's price sits above (positive) or below it, so a dashboard shows each pool's
    premium or discount without pricing stake pools itself.
    """

    SPEC = S.POOL_STATE
    FILE_IDENTIFIER = b"LSMD"
    SUBJECT_PREFIX = "md"

    pool: PubkeyField
    dex: str
    slot: U64
    mint_a: PubkeyField
    mint_b: PubkeyField
    reserve_a: U64 = 0
    reserve_b: U64 = 0
    price: float = 0.0
    liquidity: float = 0.0
    fee_bps: U32 = 0
    write_version: U64 = 0
    source: str = ""
    received_ns: U64 = 0
    price_human: float = 0.0
    decimals_a: U8 = 0
    decimals_b: U8 = 0
    fee_ppm: U32 = 0
    fair_value: float = 0.0
    fair_value_epoch: U64 = 0
    fair_value_stale: bool = False
    premium_bps: float = 0.0


class OpportunityEvent(EventModel):
    """OPPORTUNITIES: a detected N-leg arbitrage (subject ``opp.<strategy>``)."""

    SPEC = S.OPPORTUNITY
    FILE_IDENTIFIER = b"LSOP"
    SUBJECT_PREFIX = "opp"

    id: str
    strategy: str
    base_mint: PubkeyField
    legs: Legs
    expected_profit: I64
    slot: U64
    detected_ns: U64
    metadata: StrMap = Field(default_factory=dict)

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> Self:
        d["legs"] = _legs(d["legs"])
        return super()._from_fields(d)

    @classmethod
    def from_opportunity(cls, opp: Opportunity) -> OpportunityEvent:
        return cls(
            id=opp.id,
            strategy=opp.strategy,
            base_mint=opp.base_mint,
            legs=tuple(LegEvent.from_leg(leg) for leg in opp.legs),
            expected_profit=opp.expected_profit,
            slot=opp.slot,
            detected_ns=opp.detected_ns,
            metadata=dict(opp.metadata),
        )

    def to_opportunity(self) -> Opportunity:
        return Opportunity(
            id=self.id,
            strategy=self.strategy,
            base_mint=self.base_mint,
            legs=tuple(leg.to_leg() for leg in self.legs),
            expected_profit=self.expected_profit,
            slot=self.slot,
            detected_ns=self.detected_ns,
            metadata=dict(self.metadata),
        )


class ExecutionPlanEvent(EventModel):
    """EXECUTION: a validated, sized plan (subject ``exec.plan.<strategy>``).

    Fields from ``max_loss_lamports`` on were appended in schema version 3; how the planner
    fills each one is in docs/executor.md. Amounts of the trade are in the smallest
    unit of ``base_mint``; costs named ``_lamports`` are lamports; ``loan_fee`` is in
    ``loan_mint``.
    """

    SPEC = S.EXECUTION_PLAN
    FILE_IDENTIFIER = b"LSPL"
    SUBJECT_PREFIX = "exec.plan"

    id: str
    opportunity_id: str
    strategy: str
    base_mint: PubkeyField
    legs: Legs
    amount_in: U64
    min_out: U64
    expected_profit: I64
    tip_lamports: U64 = 0
    funding_provider: str = ""
    submitter: str = ""
    compute_unit_limit: U32 = 0
    compute_unit_price: U64 = 0
    expiry_slot: U64 = 0
    risk_score: float = 0.0
    created_ns: U64 = 0
    max_loss_lamports: U64 = 0
    gross_profit: I64 = 0
    base_fee_lamports: U64 = 0
    priority_fee_lamports: U64 = 0
    loan_fee: U64 = 0
    rent_lamports: U64 = 0
    loan_mint: OptionalKeyField = b""
    loan_amount: U64 = 0
    opportunity_slot: U64 = 0
    planned_slot: U64 = 0
    state_fingerprint: BytesField = b""
    confidence: float = 0.0
    slippage_bps: U32 = 0
    expiry_ns: U64 = 0
    traceparent: str = ""

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> Self:
        _check_optional_keys(cls.SPEC, d, "loan_mint")
        d["legs"] = _legs(d["legs"])
        return super()._from_fields(d)


class ExecutionResultEvent(EventModel):
    """EXECUTED: the recorded outcome of one plan (subject ``exec.result.<status>``).

    Fields from ``strategy`` on were appended in schema version 3 so that the ledger needs
    nothing but the result; an older result reads them as empty.
    """

    SPEC = S.EXECUTION_RESULT
    FILE_IDENTIFIER = b"LSRS"
    SUBJECT_PREFIX = "exec.result"

    plan_id: str
    opportunity_id: str
    status: str
    paper: bool
    signature: str | None = None
    slot: U64 = 0
    in_amount: U64 = 0
    out_amount: U64 = 0
    fee_lamports: U64 = 0
    tip_lamports: U64 = 0
    realized_profit: I64 = 0
    error: str | None = None
    completed_ns: U64 = 0
    strategy: str = ""
    base_mint: OptionalKeyField = b""
    legs: Legs = ()
    loan_fee: U64 = 0
    submitter: str = ""
    funding_provider: str = ""
    expected_profit: I64 = 0
    bundle_id: str | None = None
    wallet: OptionalKeyField = b""
    traceparent: str = ""
    submitted_ns: U64 = 0

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> Self:
        _check_optional_keys(cls.SPEC, d, "base_mint", "wallet")
        d["legs"] = _legs(d["legs"])
        return super()._from_fields(d)

    @classmethod
    def from_result(cls, r: ExecutionResult, *, completed_ns: int = 0) -> ExecutionResultEvent:
        return cls(
            plan_id=r.plan_id,
            opportunity_id=r.opportunity_id,
            status=r.status,
            paper=r.paper,
            signature=r.signature,
            slot=r.slot or 0,
            in_amount=r.in_amount,
            out_amount=r.out_amount,
            fee_lamports=r.fee_lamports,
            tip_lamports=r.tip_lamports,
            realized_profit=r.realized_profit,
            error=r.error,
            completed_ns=completed_ns,
        )

    def to_result(self) -> ExecutionResult:
        return ExecutionResult(
            plan_id=self.plan_id,
            opportunity_id=self.opportunity_id,
            status=self.status,
            paper=self.paper,
            signature=self.signature,
            slot=self.slot or None,
            in_amount=self.in_amount,
            out_amount=self.out_amount,
            fee_lamports=self.fee_lamports,
            tip_lamports=self.tip_lamports,
            realized_profit=self.realized_profit,
            error=self.error,
        )


class MetricEvent(EventModel):
    """METRICS: one sample of one metric (subject ``metrics.<service>``)."""

    SPEC = S.METRIC
    FILE_IDENTIFIER = b"LSMT"
    SUBJECT_PREFIX = "metrics"

    name: str
    value: float
    labels: StrMap = Field(default_factory=dict)
    time_ns: U64 = 0


class SystemCommandEvent(EventModel):
    """SYSTEM: a control-plane command such as the kill switch (subject ``system.control``)."""

    SPEC = S.SYSTEM_COMMAND
    FILE_IDENTIFIER = b"LSSC"
    SUBJECT_PREFIX = "system"

    id: str
    command: CommandField
    reason: str = ""
    triggered_by: str = ""
    time_ns: U64 = 0

    @classmethod
    def _from_fields(cls, d: dict[str, Any]) -> Self:
        d["command"] = Command(d["command"])
        return super()._from_fields(d)


EVENT_TYPES: Final[Mapping[bytes, type[EventModel]]] = {
    m.FILE_IDENTIFIER: m
    for m in (
        AccountEvent,
        PoolStateEvent,
        OpportunityEvent,
        ExecutionPlanEvent,
        ExecutionResultEvent,
        MetricEvent,
        SystemCommandEvent,
    )
}
"""File identifier -> event model."""


def event_type(buf: Buffer) -> type[EventModel]:
    """The event model a buffer claims to be (by file identifier); DecodeError if none."""
    ident = bytes(buf[4:8]) if len(buf) >= 8 else b""
    model = EVENT_TYPES.get(ident)
    if model is None:
        raise DecodeError(f"not an lstarb event: file identifier {ident!r}")
    return model


def decode_event(buf: Buffer) -> EventModel:
    """Decode any lstarb event, choosing the model by its file identifier."""
    return event_type(buf).decode(buf)


# ------------------------------------------------------------------ hot path: SDK dataclasses


def encode_opportunity(opp: Opportunity) -> bytes:
    """Encode an SDK :class:`Opportunity` without building a model (same bytes as the model)."""
    return encode_root(S.OPPORTUNITY, opp)


def decode_opportunity(buf: Buffer) -> Opportunity:
    """Verify and decode an ``OpportunityEvent`` straight into an SDK :class:`Opportunity`."""
    d = read_root(S.OPPORTUNITY, buf)
    return Opportunity(
        id=d["id"],
        strategy=d["strategy"],
        base_mint=d["base_mint"],
        legs=tuple(
            Leg(
                x["pool"],
                x["dex"],
                x["input_mint"],
                x["output_mint"],
                x["in_amount"],
                x["out_amount"],
                x["fee_amount"],
            )
            for x in d["legs"]
        ),
        expected_profit=d["expected_profit"],
        slot=d["slot"],
        detected_ns=d["detected_ns"],
        metadata=d["metadata"],
    )


def encode_execution_result(result: ExecutionResult, *, completed_ns: int = 0) -> bytes:
    """Encode an SDK :class:`ExecutionResult` (``slot=None`` is written as 0)."""
    return ExecutionResultEvent.from_result(result, completed_ns=completed_ns).encode()


def decode_execution_result(buf: Buffer) -> ExecutionResult:
    """Verify and decode an ``ExecutionResultEvent`` into an SDK :class:`ExecutionResult`."""
    return ExecutionResultEvent.decode(buf).to_result()
