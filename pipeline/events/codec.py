"""Avro single-object encoding of events (Avro specification 1.11, "Single-object encoding").

A payload is the marker ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer's schema, then the Avro binary datum. Readers find the writer schema by that
fingerprint and resolve it to their own current schema, so old events stay readable as long
as schemas only evolve compatibly (new fields with defaults).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from pipeline.errors import InvalidInput, Problem, UndecodableEvent
from pipeline.events.conformance import conform
from pipeline.events.schemas import (
    EVENT_TYPES,
    Schema,
    fingerprint,
    parse,
    schema_for,
    type_of_schema,
)

MARKER = b"\xc3\x01"
"""The two bytes that open every single-object encoded payload."""

HEADER_LENGTH = len(MARKER) + 8
"""Marker and fingerprint: the bytes before the datum."""


class SchemaRegistry:
    """The reader schema of each event type and every writer schema known by fingerprint.

    Writer schemas are the current ones plus older versions added with ``register_writer``;
    registering is idempotent, so every process can register the same history at start.
    The fingerprint of each current schema is computed once, here: working it out (canonical
    form, then CRC-64) on every encode cost about 7 % of a worker's time.
    """

    def __init__(self, readers: Mapping[str, Schema]) -> None:
        self._readers: dict[str, Schema] = dict(readers)
        self._fingerprints: dict[str, bytes] = {
            ce_type: fingerprint(schema) for ce_type, schema in readers.items()
        }
        self._writers: dict[bytes, tuple[str, Schema]] = {
            self._fingerprints[ce_type]: (ce_type, schema) for ce_type, schema in readers.items()
        }

    def reader(self, ce_type: str) -> Schema:
        """The schema events of this type are read into (and written with)."""
        try:
            return self._readers[ce_type]
        except KeyError:
            known = ", ".join(self._readers)
            raise InvalidInput(
                [Problem("type", f"unknown event type {ce_type!r}; known: {known}")]
            ) from None

    def register_writer(self, schema: str | Mapping[str, Any], ce_type: str | None = None) -> bytes:
        """Make an older (or newer) schema of an event type readable; returns its fingerprint.

        The event type is found from the record's full name unless given.
        """
        parsed = parse(schema)
        event_type = ce_type if ce_type is not None else type_of_schema(parsed)
        self.reader(event_type)
        schema_fingerprint = fingerprint(parsed)
        self._writers.setdefault(schema_fingerprint, (event_type, parsed))
        return schema_fingerprint

    def fingerprint(self, ce_type: str) -> bytes:
        """The fingerprint of the current schema of ``ce_type`` (8 bytes, wire order), cached."""
        self.reader(ce_type)
        return self._fingerprints[ce_type]

    def writer(self, schema_fingerprint: bytes) -> tuple[str, Schema] | None:
        """The event type and writer schema with this fingerprint, if known."""
        return self._writers.get(schema_fingerprint)

    def encode(self, ce_type: str, data: Mapping[str, Any]) -> bytes:
        """Single-object encoding of ``data`` with the current schema of ``ce_type``.

        Raises InvalidInput listing every field that does not fit, by path.
        """
        schema = self.reader(ce_type)
        datum, problems = conform(data, schema)
        if problems:
            raise InvalidInput(problems, source=ce_type)
        out = io.BytesIO()
        out.write(MARKER)
        out.write(self._fingerprints[ce_type])
        try:
            schemaless_writer(out, schema, datum)
        except (ValueError, TypeError, OverflowError) as error:
            raise InvalidInput([Problem("", f"not encodable: {error}")], source=ce_type) from error
        return out.getvalue()

    def decode(self, payload: bytes, ce_type: str | None = None) -> tuple[str, dict[str, Any]]:
        """The event type and data of a single-object payload, read into the current schema.

        Raises UndecodableEvent for a short payload, a wrong marker, an unknown fingerprint,
        a corrupt datum, or an event of another type than ``ce_type`` when one is given.
        """
        if len(payload) < HEADER_LENGTH:
            raise UndecodableEvent(f"payload of {len(payload)} bytes is shorter than the header")
        if payload[: len(MARKER)] != MARKER:
            raise UndecodableEvent(
                f"payload starts with {payload[:2].hex()}, not the single-object marker c301"
            )
        schema_fingerprint = payload[len(MARKER) : HEADER_LENGTH]
        known = self.writer(schema_fingerprint)
        if known is None:
            raise UndecodableEvent(f"no known schema has fingerprint {schema_fingerprint.hex()}")
        event_type, writer = known
        if ce_type is not None and ce_type != event_type:
            raise UndecodableEvent(f"payload is a {event_type} event, expected {ce_type}")
        reader = self._readers[event_type]
        return event_type, read_datum(payload[HEADER_LENGTH:], writer, reader)


def read_datum(datum: bytes, writer: Schema, reader: Schema) -> dict[str, Any]:
    """An Avro binary datum written with ``writer``, resolved to ``reader`` (Avro "Schema
    Resolution"); UndecodableEvent if it is corrupt, has trailing bytes or cannot resolve."""
    source = io.BytesIO(datum)
    try:
        value = schemaless_reader(source, writer, None if reader is writer else reader)
    except Exception as error:  # fastavro raises many types for bad bytes; all mean the same
        detail = str(error) or type(error).__name__
        raise UndecodableEvent(f"corrupt or unreadable datum: {detail}") from error
    if source.tell() != len(datum):
        raise UndecodableEvent(f"{len(datum) - source.tell()} bytes left after the datum")
    if not isinstance(value, dict):
        raise UndecodableEvent(f"datum is a {type(value).__name__}, not a record")
    return value


DEFAULT_REGISTRY = SchemaRegistry({ce_type: schema_for(ce_type) for ce_type in EVENT_TYPES})
"""The registry behind the module-level functions: the current schemas of ``avro/``."""


def register_writer_schema(schema_json: str | Mapping[str, Any]) -> bytes:
    """Make an older schema version readable by ``decode``; returns its fingerprint."""
    return DEFAULT_REGISTRY.register_writer(schema_json)


def encode(ce_type: str, data: Mapping[str, Any]) -> bytes:
    """Single-object encoding of an event's data; InvalidInput names each field that misfits."""
    return DEFAULT_REGISTRY.encode(ce_type, data)


def decode(payload: bytes, ce_type: str | None = None) -> tuple[str, dict[str, Any]]:
    """The event type and data (Decimal, UTC datetimes) of a payload; UndecodableEvent if not."""
    return DEFAULT_REGISTRY.decode(payload, ce_type)
