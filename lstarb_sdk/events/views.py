"""Lazy, bounds-checked views over encoded events: read one field without decoding the rest.

Why: a planner that only needs ``expected_profit`` and ``slot`` of an opportunity should not pay
for building the legs, the metadata and a pydantic model. A view checks the file identifier,
the root table and its vtable when it is opened (a few hundred nanoseconds), then reads each
field on access, following and bounds-checking only the offsets that field needs.

Every read is checked, so a view never returns garbage: a field whose bytes lie outside the
buffer (truncated), a string that is not UTF-8, a public key of the wrong length all raise
:class:`~lstarb_sdk.errors.DecodeError` at the access. A view does *not* look at fields you do
not read; call :meth:`EventView.verify` (or decode the model) to check the whole buffer once,
as the bus does before it hands an event to a consumer.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

from solders.pubkey import Pubkey

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events import _schema as S
from lstarb_sdk.events._codec import (
    U16,
    U32,
    Buffer,
    TableSpec,
    check_root,
    read_field,
    read_root,
    read_table,
    table_header,
    vector_elements,
)

T = TypeVar("T")


class _Table:
    """A checked table position in a buffer; fields are read on demand."""

    __slots__ = ("_buf", "_pos", "_tlen", "_vt", "_vtlen")
    SPEC: ClassVar[TableSpec]

    def __init__(self, buf: Buffer, pos: int) -> None:
        self._buf = buf
        self._pos = pos
        try:
            self._vt, self._vtlen, self._tlen = table_header(self.SPEC, buf, pos)
        except struct.error as exc:  # pragma: no cover - table_header checks bounds first
            raise DecodeError(f"malformed {self.SPEC.name}: {exc}") from None


class _F(Generic[T]):
    """A field descriptor: ``view.slot`` reads (and checks) that one field."""

    __slots__ = ("field", "spec")

    def __init__(self, spec: TableSpec, name: str) -> None:
        self.spec = spec
        self.field = spec.by_name[name]

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Table, owner: type[Any]) -> T: ...
    def __get__(self, obj: _Table | None, owner: type[Any]) -> Self | T:
        if obj is None:
            return self
        try:
            value: T = read_field(
                self.spec, obj._buf, obj._pos, obj._vt, obj._vtlen, obj._tlen, self.field
            )
        except struct.error as exc:  # pragma: no cover - reads are bounds-checked first
            raise DecodeError(f"malformed {self.spec.name}: {exc}") from None
        return value


class _LegsField:
    """``view.legs``: a tuple of lazy :class:`LegView` (only the offset vector is read)."""

    __slots__ = ("field", "spec")

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.field = spec.by_name["legs"]

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Table, owner: type[Any]) -> tuple[LegView, ...]: ...
    def __get__(self, obj: _Table | None, owner: type[Any]) -> Self | tuple[LegView, ...]:
        if obj is None:
            return self
        buf, slot = obj._buf, self.field.slot
        o = U16.unpack_from(buf, obj._vt + slot)[0] if slot < obj._vtlen else 0
        if not o:
            return ()
        if o < 4 or o + 4 > obj._tlen:
            raise DecodeError(f"malformed {self.spec.name}: field legs lies outside its table")
        first, count = vector_elements(self.spec, buf, obj._pos + o, self.field)
        legs = []
        for i in range(count):
            e = first + 4 * i
            legs.append(LegView(buf, e + U32.unpack_from(buf, e)[0]))
        return tuple(legs)


class LegView(_Table):
    """One leg of an opportunity or plan, read lazily."""

    __slots__ = ()
    SPEC = S.LEG

    pool = _F[Pubkey](S.LEG, "pool")
    dex = _F[str](S.LEG, "dex")
    input_mint = _F[Pubkey](S.LEG, "input_mint")
    output_mint = _F[Pubkey](S.LEG, "output_mint")
    in_amount = _F[int](S.LEG, "in_amount")
    out_amount = _F[int](S.LEG, "out_amount")
    fee_amount = _F[int](S.LEG, "fee_amount")
    min_out = _F[int](S.LEG, "min_out")


class EventView(_Table):
    """Base of the root views: opened from a whole buffer, checked against the identifier."""

    __slots__ = ()

    def __init__(self, buf: Buffer) -> None:
        super().__init__(buf, check_root(self.SPEC, buf))

    @property
    def schema_version(self) -> int:
        """The schema version the writer declared (field ``version``)."""
        v: int = read_field(
            self.SPEC,
            self._buf,
            self._pos,
            self._vt,
            self._vtlen,
            self._tlen,
            self.SPEC.by_name["version"],
        )
        return v

    def verify(self) -> Self:
        """Check every field of the buffer (DecodeError if any is malformed); return self."""
        try:
            read_table(self.SPEC, self._buf, self._pos)
        except struct.error as exc:  # pragma: no cover - reads are bounds-checked first
            raise DecodeError(f"malformed {self.SPEC.name}: {exc}") from None
        return self

    def fields(self) -> dict[str, Any]:
        """Every field, checked (the same dict the models are built from)."""
        return read_root(self.SPEC, self._buf)


class PoolStateView(EventView):
    """Lazy view of a ``PoolStateEvent`` (MARKET_DATA)."""

    __slots__ = ()
    SPEC = S.POOL_STATE

    pool = _F[Pubkey](S.POOL_STATE, "pool")
    dex = _F[str](S.POOL_STATE, "dex")
    slot = _F[int](S.POOL_STATE, "slot")
    mint_a = _F[Pubkey](S.POOL_STATE, "mint_a")
    mint_b = _F[Pubkey](S.POOL_STATE, "mint_b")
    reserve_a = _F[int](S.POOL_STATE, "reserve_a")
    reserve_b = _F[int](S.POOL_STATE, "reserve_b")
    price = _F[float](S.POOL_STATE, "price")
    liquidity = _F[float](S.POOL_STATE, "liquidity")
    fee_bps = _F[int](S.POOL_STATE, "fee_bps")
    write_version = _F[int](S.POOL_STATE, "write_version")
    source = _F[str](S.POOL_STATE, "source")
    received_ns = _F[int](S.POOL_STATE, "received_ns")
    price_human = _F[float](S.POOL_STATE, "price_human")
    decimals_a = _F[int](S.POOL_STATE, "decimals_a")
    decimals_b = _F[int](S.POOL_STATE, "decimals_b")
    fee_ppm = _F[int](S.POOL_STATE, "fee_ppm")
    fair_value = _F[float](S.POOL_STATE, "fair_value")
    fair_value_epoch = _F[int](S.POOL_STATE, "fair_value_epoch")
    fair_value_stale = _F[bool](S.POOL_STATE, "fair_value_stale")
    premium_bps = _F[float](S.POOL_STATE, "premium_bps")


class AccountView(EventView):
    """Lazy view of an ``AccountEvent`` (MARKET_DATA, the tape): ``slot`` without the data."""

    __slots__ = ()
    SPEC = S.ACCOUNT

    pubkey = _F[Pubkey](S.ACCOUNT, "pubkey")
    owner = _F[Pubkey](S.ACCOUNT, "owner")
    slot = _F[int](S.ACCOUNT, "slot")
    write_version = _F[int](S.ACCOUNT, "write_version")
    lamports = _F[int](S.ACCOUNT, "lamports")
    data = _F[bytes](S.ACCOUNT, "data")
    executable = _F[bool](S.ACCOUNT, "executable")
    exists = _F[bool](S.ACCOUNT, "exists")
    source = _F[str](S.ACCOUNT, "source")
    received_ns = _F[int](S.ACCOUNT, "received_ns")
    seq = _F[int](S.ACCOUNT, "seq")


class OpportunityView(EventView):
    """Lazy view of an ``OpportunityEvent`` (OPPORTUNITIES)."""

    __slots__ = ()
    SPEC = S.OPPORTUNITY

    id = _F[str](S.OPPORTUNITY, "id")
    strategy = _F[str](S.OPPORTUNITY, "strategy")
    base_mint = _F[Pubkey](S.OPPORTUNITY, "base_mint")
    legs = _LegsField(S.OPPORTUNITY)
    expected_profit = _F[int](S.OPPORTUNITY, "expected_profit")
    slot = _F[int](S.OPPORTUNITY, "slot")
    detected_ns = _F[int](S.OPPORTUNITY, "detected_ns")
    metadata = _F[dict[str, str]](S.OPPORTUNITY, "metadata")


class ExecutionPlanView(EventView):
    """Lazy view of an ``ExecutionPlanEvent`` (EXECUTION)."""

    __slots__ = ()
    SPEC = S.EXECUTION_PLAN

    id = _F[str](S.EXECUTION_PLAN, "id")
    opportunity_id = _F[str](S.EXECUTION_PLAN, "opportunity_id")
    strategy = _F[str](S.EXECUTION_PLAN, "strategy")
    base_mint = _F[Pubkey](S.EXECUTION_PLAN, "base_mint")
    legs = _LegsField(S.EXECUTION_PLAN)
    amount_in = _F[int](S.EXECUTION_PLAN, "amount_in")
    min_out = _F[int](S.EXECUTION_PLAN, "min_out")
    expected_profit = _F[int](S.EXECUTION_PLAN, "expected_profit")
    tip_lamports = _F[int](S.EXECUTION_PLAN, "tip_lamports")
    funding_provider = _F[str](S.EXECUTION_PLAN, "funding_provider")
    submitter = _F[str](S.EXECUTION_PLAN, "submitter")
    compute_unit_limit = _F[int](S.EXECUTION_PLAN, "compute_unit_limit")
    compute_unit_price = _F[int](S.EXECUTION_PLAN, "compute_unit_price")
    expiry_slot = _F[int](S.EXECUTION_PLAN, "expiry_slot")
    risk_score = _F[float](S.EXECUTION_PLAN, "risk_score")
    created_ns = _F[int](S.EXECUTION_PLAN, "created_ns")
    max_loss_lamports = _F[int](S.EXECUTION_PLAN, "max_loss_lamports")
    gross_profit = _F[int](S.EXECUTION_PLAN, "gross_profit")
    base_fee_lamports = _F[int](S.EXECUTION_PLAN, "base_fee_lamports")
    priority_fee_lamports = _F[int](S.EXECUTION_PLAN, "priority_fee_lamports")
    loan_fee = _F[int](S.EXECUTION_PLAN, "loan_fee")
    rent_lamports = _F[int](S.EXECUTION_PLAN, "rent_lamports")
    loan_mint = _F[bytes](S.EXECUTION_PLAN, "loan_mint")
    loan_amount = _F[int](S.EXECUTION_PLAN, "loan_amount")
    opportunity_slot = _F[int](S.EXECUTION_PLAN, "opportunity_slot")
    planned_slot = _F[int](S.EXECUTION_PLAN, "planned_slot")
    state_fingerprint = _F[bytes](S.EXECUTION_PLAN, "state_fingerprint")
    confidence = _F[float](S.EXECUTION_PLAN, "confidence")
    slippage_bps = _F[int](S.EXECUTION_PLAN, "slippage_bps")
    expiry_ns = _F[int](S.EXECUTION_PLAN, "expiry_ns")
    traceparent = _F[str](S.EXECUTION_PLAN, "traceparent")


class ExecutionResultView(EventView):
    """Lazy view of an ``ExecutionResultEvent`` (EXECUTED)."""

    __slots__ = ()
    SPEC = S.EXECUTION_RESULT

    plan_id = _F[str](S.EXECUTION_RESULT, "plan_id")
    opportunity_id = _F[str](S.EXECUTION_RESULT, "opportunity_id")
    status = _F[str](S.EXECUTION_RESULT, "status")
    paper = _F[bool](S.EXECUTION_RESULT, "paper")
    signature = _F[str | None](S.EXECUTION_RESULT, "signature")
    slot = _F[int](S.EXECUTION_RESULT, "slot")
    in_amount = _F[int](S.EXECUTION_RESULT, "in_amount")
    out_amount = _F[int](S.EXECUTION_RESULT, "out_amount")
    fee_lamports = _F[int](S.EXECUTION_RESULT, "fee_lamports")
    tip_lamports = _F[int](S.EXECUTION_RESULT, "tip_lamports")
    realized_profit = _F[int](S.EXECUTION_RESULT, "realized_profit")
    error = _F[str | None](S.EXECUTION_RESULT, "error")
    completed_ns = _F[int](S.EXECUTION_RESULT, "completed_ns")
    strategy = _F[str](S.EXECUTION_RESULT, "strategy")
    base_mint = _F[bytes](S.EXECUTION_RESULT, "base_mint")
    legs = _LegsField(S.EXECUTION_RESULT)
    loan_fee = _F[int](S.EXECUTION_RESULT, "loan_fee")
    submitter = _F[str](S.EXECUTION_RESULT, "submitter")
    funding_provider = _F[str](S.EXECUTION_RESULT, "funding_provider")
    expected_profit = _F[int](S.EXECUTION_RESULT, "expected_profit")
    bundle_id = _F[str | None](S.EXECUTION_RESULT, "bundle_id")
    wallet = _F[bytes](S.EXECUTION_RESULT, "wallet")
    traceparent = _F[str](S.EXECUTION_RESULT, "traceparent")
    submitted_ns = _F[int](S.EXECUTION_RESULT, "submitted_ns")


class MetricView(EventView):
    """Lazy view of a ``MetricEvent`` (METRICS)."""

    __slots__ = ()
    SPEC = S.METRIC

    name = _F[str](S.METRIC, "name")
    value = _F[float](S.METRIC, "value")
    labels = _F[dict[str, str]](S.METRIC, "labels")
    time_ns = _F[int](S.METRIC, "time_ns")


class SystemCommandView(EventView):
    """Lazy view of a ``SystemCommandEvent`` (SYSTEM); ``command`` is the raw enum value."""

    __slots__ = ()
    SPEC = S.SYSTEM_COMMAND

    id = _F[str](S.SYSTEM_COMMAND, "id")
    command = _F[int](S.SYSTEM_COMMAND, "command")
    reason = _F[str](S.SYSTEM_COMMAND, "reason")
    triggered_by = _F[str](S.SYSTEM_COMMAND, "triggered_by")
    time_ns = _F[int](S.SYSTEM_COMMAND, "time_ns")


VIEW_TYPES: dict[bytes, type[EventView]] = {
    v.SPEC.ident: v  # type: ignore[misc]
    for v in (
        AccountView,
        PoolStateView,
        OpportunityView,
        ExecutionPlanView,
        ExecutionResultView,
        MetricView,
        SystemCommandView,
    )
}
"""File identifier -> view class."""


def view_event(buf: Buffer) -> EventView:
    """Open a lazy view of any lstarb event, chosen by its file identifier."""
    ident = bytes(buf[4:8]) if len(buf) >= 8 else b""
    view = VIEW_TYPES.get(ident)
    if view is None:
        raise DecodeError(f"not an lstarb event: file identifier {ident!r}")
    return view(buf)
