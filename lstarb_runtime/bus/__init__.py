"""The event bus: six JetStream streams carrying FlatBuffers events (DESIGN.md).

``async with connect_bus(url, embedded=..., live=..., store_dir=...) as bus`` gives a
:class:`JetStreamBus` with the streams ensured; :class:`MemoryBus` has the same interface for
unit tests and backtests.
"""

from __future__ import annotations

from lstarb_runtime.bus.connect import connect_bus
from lstarb_runtime.bus.embedded import (
    EmbeddedNats,
    EmbeddedServerError,
    NatsServerNotFoundError,
    PortInUseError,
    find_nats_server,
    free_local_url,
)
from lstarb_runtime.bus.interface import (
    Bus,
    BusError,
    BusHealth,
    BusStats,
    Consumer,
    ConsumerStats,
    Delivery,
    Handler,
    PublishAck,
    PublishCounts,
    Settle,
    StreamState,
)
from lstarb_runtime.bus.jetstream import JetStreamBus
from lstarb_runtime.bus.kv import (
    KV_BUCKETS,
    BucketSpec,
    Entry,
    KeyExists,
    KeyValue,
    KVError,
    WrongRevision,
)
from lstarb_runtime.bus.memory import MemoryBus
from lstarb_runtime.bus.streams import STREAMS, StreamSpec, msg_id_of, subject_of
from lstarb_runtime.bus.tracing import TraceContext, current_trace

__all__ = [
    "KV_BUCKETS",
    "STREAMS",
    "BucketSpec",
    "Bus",
    "BusError",
    "BusHealth",
    "BusStats",
    "Consumer",
    "ConsumerStats",
    "Delivery",
    "EmbeddedNats",
    "EmbeddedServerError",
    "Entry",
    "Handler",
    "JetStreamBus",
    "KVError",
    "KeyExists",
    "KeyValue",
    "MemoryBus",
    "NatsServerNotFoundError",
    "PortInUseError",
    "PublishAck",
    "PublishCounts",
    "Settle",
    "StreamSpec",
    "StreamState",
    "TraceContext",
    "WrongRevision",
    "connect_bus",
    "current_trace",
    "find_nats_server",
    "free_local_url",
    "msg_id_of",
    "subject_of",
]
