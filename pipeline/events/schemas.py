"""The event types, their topics and their Avro schemas (``avro/<ce_type>.avsc``).

A schema is identified on the wire by its CRC-64-AVRO fingerprint: the Rabin fingerprint of
its Parsing Canonical Form (Avro specification, "Schema Fingerprints"), written as the eight
bytes of the 64-bit value in little-endian order, as in the single-object encoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fastavro.schema import SchemaParseException, parse_schema, to_parsing_canonical_form
from fastavro.schema import fingerprint as _crc64_hex

from pipeline.errors import InvalidInput, Problem

AVRO_DIR = Path(__file__).resolve().parents[2] / "avro"
"""Where the current (reader) schemas live, one ``<ce_type>.avsc`` per event type."""

TOPIC_OF: Mapping[str, str] = MappingProxyType(
    {
        "eco.application.submitted.v1": "eco.application",
        "eco.verification.completed.v1": "eco.verification",
        "eco.certificate.issued.v1": "eco.issuance",
        "eco.certificate.superseded.v1": "eco.issuance",
        "eco.certificate.revoked.v1": "eco.issuance",
        "eco.certificate.refused.v1": "eco.issuance",
        "eco.certificate.requested.v1": "eco.issuance-commands",
        "eco.transmission.delivered.v1": "eco.transmission",
        "eco.transmission.failed.v1": "eco.transmission",
        "eco.transmission.fallback.v1": "eco.transmission",
        "eco.certificate.clarified.v1": "eco.transmission",
        "eco.customs.responded.v1": "eco.customs-response",
        "eco.alert.raised.v1": "eco.alert",
        "eco.deadline.due.v1": "eco.deadlines",
        "eco.drawdown.adjusted.v1": "eco.drawdown-requests",
        "eco.supplier.declared.v1": "eco.supplier-declaration",
        "eco.origin.determined.v1": "eco.origin-determination",
        "eco.verification.documents-requested.v1": "eco.verification",
        "eco.application.documents-supplied.v1": "eco.application",
        "eco.trust.updated.v1": "eco.trust",
    }
)
"""The topic each event type is published to (INTERFACES.md, "Topics and events")."""

EVENT_TYPES: tuple[str, ...] = tuple(TOPIC_OF)
"""Every CloudEvents ``type`` this version knows, in the order of the flow."""

DEADLETTER_TOPIC = "eco.deadletter"
"""Where a message that cannot be processed goes, with its original key and the reason."""

DATASCHEMA_PREFIX = "crc64-avro:"
"""``ce_dataschema`` is this prefix and the 16 hex digits of the fingerprint in wire order."""

Schema = dict[str, Any]
"""A schema as fastavro parses it (``fastavro.schema.parse_schema``)."""


def _unknown_type(ce_type: str) -> InvalidInput:
    known = ", ".join(EVENT_TYPES)
    return InvalidInput([Problem("type", f"unknown event type {ce_type!r}; known: {known}")])


def _parse_any(schema: str | Mapping[str, Any]) -> Any:
    try:
        value = json.loads(schema) if isinstance(schema, str) else dict(schema)
        return parse_schema(value)
    except (ValueError, TypeError, KeyError, SchemaParseException) as error:
        raise InvalidInput([Problem("", f"not an Avro schema: {error}")]) from error


def parse(schema: str | Mapping[str, Any]) -> Schema:
    """Parse an event's record schema, JSON text or its decoded value; InvalidInput if invalid."""
    parsed = _parse_any(schema)
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise InvalidInput([Problem("type", "an event schema must be a record")])
    return dict(parsed)


def canonical_form(schema: str | Mapping[str, Any]) -> str:
    """The Parsing Canonical Form of a schema (Avro specification, "Parsing Canonical Form")."""
    form: str = to_parsing_canonical_form(_parse_any(schema))
    return form


def fingerprint(schema: str | Mapping[str, Any]) -> bytes:
    """The CRC-64-AVRO fingerprint of a schema, 8 bytes little-endian as in single-object encoding.

    fastavro renders the 64-bit value as the hex of its little-endian bytes, which are the
    bytes that follow ``C3 01`` on the wire.
    """
    return bytes.fromhex(_crc64_hex(canonical_form(schema), "CRC-64-AVRO"))


@cache
def schema_for(ce_type: str) -> Schema:
    """The current (reader) schema of an event type, parsed; InvalidInput for an unknown type."""
    if ce_type not in TOPIC_OF:
        raise _unknown_type(ce_type)
    return parse((AVRO_DIR / f"{ce_type}.avsc").read_text(encoding="utf-8"))


@cache
def fingerprint_of(ce_type: str) -> bytes:
    """The fingerprint of the current schema of an event type (8 bytes, wire order)."""
    return fingerprint(schema_for(ce_type))


def dataschema_of(ce_type: str) -> str:
    """The ``ce_dataschema`` header value of the current schema, ``crc64-avro:<16 hex digits>``."""
    return dataschema_for_fingerprint(fingerprint_of(ce_type))


def dataschema_for_fingerprint(schema_fingerprint: bytes) -> str:
    """The ``ce_dataschema`` value naming a schema by its fingerprint bytes (wire order)."""
    return DATASCHEMA_PREFIX + schema_fingerprint.hex()


def fingerprint_of_dataschema(dataschema: str) -> bytes:
    """The fingerprint a ``ce_dataschema`` value names; ValueError if it is not of our form."""
    if not dataschema.startswith(DATASCHEMA_PREFIX):
        raise ValueError(f"expected {DATASCHEMA_PREFIX}<16 hex digits>, got {dataschema!r}")
    digits = dataschema[len(DATASCHEMA_PREFIX) :]
    if len(digits) != 16 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"expected {DATASCHEMA_PREFIX}<16 hex digits>, got {dataschema!r}")
    return bytes.fromhex(digits)


@cache
def _type_of_record_name() -> Mapping[str, str]:
    return MappingProxyType({schema_for(t)["name"]: t for t in EVENT_TYPES})


def type_of_schema(schema: Mapping[str, Any]) -> str:
    """The event type a (possibly older) schema belongs to, found by its full record name."""
    name = schema.get("name") if schema.get("type") == "record" else None
    ce_type = _type_of_record_name().get(str(name))
    if ce_type is None:
        raise InvalidInput([Problem("name", f"{name!r} is not the record of any event type")])
    return ce_type
