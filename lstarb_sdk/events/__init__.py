"""The events of the six streams: typed models, lazy views and their FlatBuffers codec.

Each event is a root table of ``schemas/*.fbs`` with its own file identifier and a ``version``
field. Three ways to use one, from most convenient to fastest:

- models (:class:`AccountEvent`, :class:`OpportunityEvent`, ...): pydantic, validated on
  construction; ``event.encode()`` and ``OpportunityEvent.decode(buf)`` (verifies the whole buffer);
- views (:class:`OpportunityView`, ...): open a buffer and read single fields lazily, each
  read bounds-checked;
- :func:`encode_opportunity` / :func:`decode_opportunity`: straight from and to the SDK
  dataclasses, no model in between.

Anything that is not a well-formed event of the expected type raises
:class:`~lstarb_sdk.errors.DecodeError`. See docs/events.md for the schemas and the rules
for evolving them.
"""

from __future__ import annotations

from lstarb_sdk.errors import DecodeError
from lstarb_sdk.events._schema import SCHEMA_VERSION
from lstarb_sdk.events.models import (
    EVENT_TYPES,
    AccountEvent,
    Command,
    EventModel,
    ExecutionPlanEvent,
    ExecutionResultEvent,
    LegEvent,
    MetricEvent,
    OpportunityEvent,
    PoolStateEvent,
    SystemCommandEvent,
    decode_event,
    decode_execution_result,
    decode_opportunity,
    encode_execution_result,
    encode_opportunity,
    event_type,
    key_of,
)
from lstarb_sdk.events.views import (
    VIEW_TYPES,
    AccountView,
    EventView,
    ExecutionPlanView,
    ExecutionResultView,
    LegView,
    MetricView,
    OpportunityView,
    PoolStateView,
    SystemCommandView,
    view_event,
)

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "VIEW_TYPES",
    "AccountEvent",
    "AccountView",
    "Command",
    "DecodeError",
    "EventModel",
    "EventView",
    "ExecutionPlanEvent",
    "ExecutionPlanView",
    "ExecutionResultEvent",
    "ExecutionResultView",
    "LegEvent",
    "LegView",
    "MetricEvent",
    "MetricView",
    "OpportunityEvent",
    "OpportunityView",
    "PoolStateEvent",
    "PoolStateView",
    "SystemCommandEvent",
    "SystemCommandView",
    "decode_event",
    "decode_execution_result",
    "decode_opportunity",
    "encode_execution_result",
    "encode_opportunity",
    "event_type",
    "key_of",
    "view_event",
]
