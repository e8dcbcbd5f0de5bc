"""The event contract: event types and topics, Avro schemas, the codec and CloudEvents records.

Producers build an ``Envelope`` with ``new_envelope`` and send ``to_record(env)``; consumers
turn a record back with ``from_record``. Both raise from ``pipeline.errors``: InvalidInput
for data that does not fit its schema, UndecodableEvent for bytes or headers that are not an
event of this version.
"""

from pipeline.events.cloudevents import (
    Envelope,
    continue_trace,
    from_record,
    new_envelope,
    new_traceparent,
    to_record,
)
from pipeline.events.codec import (
    DEFAULT_REGISTRY,
    SchemaRegistry,
    decode,
    encode,
    register_writer_schema,
)
from pipeline.events.schemas import (
    DEADLETTER_TOPIC,
    EVENT_TYPES,
    TOPIC_OF,
    dataschema_of,
    fingerprint,
    fingerprint_of,
    schema_for,
)

__all__ = [
    "DEADLETTER_TOPIC",
    "DEFAULT_REGISTRY",
    "EVENT_TYPES",
    "TOPIC_OF",
    "Envelope",
    "SchemaRegistry",
    "continue_trace",
    "dataschema_of",
    "decode",
    "encode",
    "fingerprint",
    "fingerprint_of",
    "from_record",
    "new_envelope",
    "new_traceparent",
    "register_writer_schema",
    "schema_for",
    "to_record",
]
