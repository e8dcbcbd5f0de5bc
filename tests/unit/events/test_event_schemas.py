"""The schemas in avro/ follow the contract's rules, and fingerprints match the Avro spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import InvalidInput
from pipeline.events import (
    DEADLETTER_TOPIC,
    EVENT_TYPES,
    TOPIC_OF,
    dataschema_of,
    fingerprint,
    fingerprint_of,
    schema_for,
)
from pipeline.events.codec import MARKER
from pipeline.events.schemas import AVRO_DIR, fingerprint_of_dataschema, type_of_schema

# CRC-64-AVRO values as 64-bit integers, from the Apache Avro test suites (Ruby
# test_fingerprints.rb, C# SchemaFingerprint tests) and goavro's crc64avro_test.go.
KNOWN_FINGERPRINTS = {
    '"int"': 0x7275D51A3F395C8F,
    '"string"': 0x8F014872634503C7,
    '"null"': 7195948357588979594,
}


def _raw(ce_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((AVRO_DIR / f"{ce_type}.avsc").read_text("utf-8"))
    return loaded


def _walk_records(schema: Any) -> list[dict[str, Any]]:
    """Every record definition inside a raw schema, outermost first."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            found.append(schema)
            for field in schema["fields"]:
                found.extend(_walk_records(field["type"]))
        elif schema.get("type") == "array":
            found.extend(_walk_records(schema["items"]))
    elif isinstance(schema, list):
        for branch in schema:
            found.extend(_walk_records(branch))
    return found


@pytest.mark.parametrize(("schema", "value"), KNOWN_FINGERPRINTS.items())
def test_fingerprint_matches_the_avro_known_answers(schema: str, value: int) -> None:
    assert fingerprint(schema) == value.to_bytes(8, "little")


def test_single_object_header_of_int_matches_the_avro_reference() -> None:
    # Avro Ruby test_single_object_encoding_header: c3 01 8f 5c 39 3f 1a d5 75 72.
    assert MARKER + fingerprint('"int"') == bytes.fromhex("c3018f5c393f1ad57572")


def test_every_event_type_has_its_schema_file_and_nothing_else_is_there() -> None:
    files = {path.name.removesuffix(".avsc") for path in Path(AVRO_DIR).glob("*.avsc")}
    assert files == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == 20  # eighteen public event types, two internal (eco.deadlines,
    # eco.drawdown-requests)


def test_topics_are_those_of_the_interface() -> None:
    assert set(TOPIC_OF.values()) == {
        "eco.application",
        "eco.verification",
        "eco.issuance",
        "eco.transmission",
        "eco.customs-response",
        "eco.alert",
        "eco.deadlines",  # internal: deadlines of the exceptions stage
        "eco.drawdown-requests",  # internal: draw-down adjustments, keyed by original certificate
        "eco.supplier-declaration",  # keyed by declaration reference
        "eco.origin-determination",  # keyed by product
        "eco.issuance-commands",  # officers' requests: supersede, certified true copy, revoke
        "eco.trust",  # issuing authorities added or withdrawn (Form E Rule 3), keyed by country
    }
    assert TOPIC_OF["eco.certificate.revoked.v1"] == "eco.issuance"
    assert TOPIC_OF["eco.customs.responded.v1"] == "eco.customs-response"
    assert TOPIC_OF["eco.trust.updated.v1"] == "eco.trust"
    assert DEADLETTER_TOPIC == "eco.deadletter"


# Registers: events keyed by what they register, not by an application.
KEYED_OTHERWISE = {
    "eco.supplier.declared.v1": "reference",
    "eco.origin.determined.v1": "product_key",
    "eco.trust.updated.v1": "country",
}


@pytest.mark.parametrize("ce_type", EVENT_TYPES)
def test_schema_follows_the_contract_rules(ce_type: str) -> None:
    raw = _raw(ce_type)
    assert raw["namespace"] == "eco.v1"
    assert raw["name"][0].isupper() and "_" not in raw["name"]
    key_field = KEYED_OTHERWISE.get(ce_type, "application_id")
    assert any(field["name"] == key_field for field in raw["fields"])
    for record in _walk_records(raw):
        for field in record["fields"]:
            where = f"{record['name']}.{field['name']}"
            assert field.get("doc"), f"{where} has no doc"
            kind = field["type"]
            if isinstance(kind, list):
                assert kind[0] == "null" and field["default"] is None, where
            elif isinstance(kind, dict) and kind["type"] == "enum":
                assert kind["default"] == "UNKNOWN" == kind["symbols"][-1], where
            elif isinstance(kind, dict) and kind["type"] == "array" and field["name"] != "items":
                assert field["default"] == [], where
            if isinstance(kind, dict) and kind.get("logicalType") == "decimal":
                assert {"precision", "scale"} <= kind.keys(), where


def test_instants_are_timestamp_millis() -> None:
    raw = _raw("eco.certificate.issued.v1")
    issued_at = next(f for f in raw["fields"] if f["name"] == "issued_at")
    assert issued_at["type"] == {"type": "long", "logicalType": "timestamp-millis"}


@pytest.mark.parametrize("ce_type", EVENT_TYPES)
def test_fingerprint_and_dataschema_name_the_current_schema(ce_type: str) -> None:
    assert fingerprint_of(ce_type) == fingerprint(_raw(ce_type))
    assert len(fingerprint_of(ce_type)) == 8
    assert fingerprint_of_dataschema(dataschema_of(ce_type)) == fingerprint_of(ce_type)
    assert type_of_schema(schema_for(ce_type)) == ce_type


def test_fingerprints_differ_between_event_types() -> None:
    assert len({fingerprint_of(t) for t in EVENT_TYPES}) == len(EVENT_TYPES)


def test_doc_attributes_do_not_change_the_fingerprint() -> None:
    raw = _raw("eco.certificate.revoked.v1")
    raw["doc"] = "reworded"
    assert fingerprint(raw) == fingerprint_of("eco.certificate.revoked.v1")


@pytest.mark.parametrize("text", ["crc64-avro:123", "sha256:" + "0" * 16, "crc64-avro:" + "g" * 16])
def test_malformed_dataschema_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="16 hex digits"):
        fingerprint_of_dataschema(text)


def test_unknown_event_type_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown event type"):
        schema_for("eco.nothing.v1")
