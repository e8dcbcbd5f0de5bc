"""Single-object encoding: round trips, validation with paths, and refusing bad bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import InvalidInput, UndecodableEvent
from pipeline.events import (
    EVENT_TYPES,
    SchemaRegistry,
    decode,
    encode,
    fingerprint,
    fingerprint_of,
    schema_for,
)
from pipeline.events.codec import MARKER
from pipeline.events.schemas import AVRO_DIR, parse

AT = datetime(2026, 5, 2, 8, 30, 15, 250000, tzinfo=UTC)
REVOKED = {
    "application_id": "APP-1",
    "certificate_number": "RCEP-CN-SHA-2026-000001",
    "version": 1,
    "reason": "issued in error",
    "approved_by": "officer-17",
    "occurred_at": AT,
}
ITEM = {"item_no": 1, "hs_code": "940542", "qualified": True, "rvc_percent": Decimal("62.50")}
VERIFIED = {
    "application_id": "APP-1",
    "agreement": "RCEP",
    "verdict": "QUALIFIED",
    "items": [ITEM],
    "completed_at": AT,
}


def _from_schema(schema: Any, names: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Data that fits an Avro schema (as fastavro parses it), for the types our events use."""
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if isinstance(schema, list):
        return st.one_of([_from_schema(branch, names) for branch in schema])
    if isinstance(schema, str):
        schema = {"type": schema}
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "decimal":
        limit = 10 ** schema["precision"] - 1
        return st.integers(-limit, limit).map(lambda n: Decimal(n).scaleb(-schema["scale"]))
    if logical == "timestamp-millis":
        return st.datetimes(
            min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        ).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
    simple: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "string": st.text(max_size=20),
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_from_schema(schema["items"], names), max_size=3)
    assert kind == "record", kind
    return st.fixed_dictionaries(
        {field["name"]: _from_schema(field["type"], names) for field in schema["fields"]}
    )


def events() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    def for_type(ce_type: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        schema = schema_for(ce_type)
        data = _from_schema(schema, schema["__named_schemas"])
        return st.tuples(st.just(ce_type), data)

    return st.one_of([for_type(ce_type) for ce_type in EVENT_TYPES])


@settings(max_examples=300)
@given(events())
def test_decode_returns_what_encode_was_given(event: tuple[str, dict[str, Any]]) -> None:
    ce_type, data = event
    payload = encode(ce_type, data)
    assert payload[:2] == MARKER and payload[2:10] == fingerprint_of(ce_type)
    assert decode(payload) == (ce_type, data)
    assert decode(payload, ce_type) == (ce_type, data)


@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_undecodable_event(noise: bytes) -> None:
    try:
        ce_type, _ = decode(noise)
    except UndecodableEvent as error:
        assert str(error), "the reason must be said"
        return
    assert ce_type in EVENT_TYPES


@settings(max_examples=300)
@given(st.sampled_from(EVENT_TYPES), st.binary(max_size=200))
def test_random_datum_behind_a_known_header_only_raises_undecodable_event(
    ce_type: str, noise: bytes
) -> None:
    try:
        decoded_type, data = decode(MARKER + fingerprint_of(ce_type) + noise)
    except UndecodableEvent:
        return
    assert decoded_type == ce_type and isinstance(data, dict)


def test_values_come_back_as_decimal_and_utc_datetime() -> None:
    _, data = decode(encode("eco.verification.completed.v1", VERIFIED))
    assert data["items"][0]["rvc_percent"] == Decimal("62.50")
    assert str(data["items"][0]["rvc_percent"]) == "62.50"
    assert data["completed_at"] == AT and data["completed_at"].utcoffset() == timedelta(0)


def test_defaults_are_filled_for_omitted_fields() -> None:
    _, data = decode(encode("eco.verification.completed.v1", VERIFIED))
    assert data["errors"] == [] and data["notes"] == [] and data["issued_retroactively"] is False
    assert data["items"][0]["criterion"] is None and data["items"][0]["reasons"] == []


def test_other_time_zones_are_the_same_instant() -> None:
    plus8 = AT.astimezone(timezone(timedelta(hours=8)))
    _, data = decode(encode("eco.certificate.revoked.v1", {**REVOKED, "occurred_at": plus8}))
    assert data["occurred_at"] == AT and data["occurred_at"].tzinfo == UTC


def test_decimal_with_fewer_places_is_widened_to_the_scale() -> None:
    item = {**ITEM, "rvc_percent": Decimal("40")}
    _, data = decode(encode("eco.verification.completed.v1", {**VERIFIED, "items": [item]}))
    assert str(data["items"][0]["rvc_percent"]) == "40.00"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"version": "1"}, "version", "expected int"),
        ({"version": 2**31}, "version", "expected int"),
        ({"version": True}, "version", "expected int"),
        ({"occurred_at": datetime(2026, 5, 2)}, "occurred_at", "timezone-aware"),
        ({"reason": None}, "reason", "expected string"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_misfitting_data_is_invalid_input_naming_the_field(
    change: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        encode("eco.certificate.revoked.v1", {**REVOKED, **change})
    assert [(p.path, message in p.message) for p in caught.value.problems] == [(path, True)]


def test_every_problem_of_nested_data_is_reported_by_path() -> None:
    items = [ITEM, {**ITEM, "rvc_percent": Decimal("1.234"), "hs_code": 940542}]
    bad = {**VERIFIED, "verdict": "MAYBE", "items": items}
    del bad["application_id"]
    with pytest.raises(InvalidInput) as caught:
        encode("eco.verification.completed.v1", bad)
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems.keys() == {
        "application_id",
        "verdict",
        "items[1].hs_code",
        "items[1].rvc_percent",
    }
    assert "more than 2 decimal places" in problems["items[1].rvc_percent"]
    assert "QUALIFIED" in problems["verdict"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (62.5, "finite Decimal"),
        (Decimal("NaN"), "finite Decimal"),
        (Decimal("100000.00"), "more than 5 digits"),
    ],
)
def test_decimals_must_fit_precision_and_never_be_float(value: Any, message: str) -> None:
    item = {**ITEM, "rvc_percent": value}
    with pytest.raises(InvalidInput, match=message):
        encode("eco.verification.completed.v1", {**VERIFIED, "items": [item]})


def test_unknown_event_type_cannot_be_encoded() -> None:
    with pytest.raises(InvalidInput, match="unknown event type"):
        encode("eco.nothing.v1", REVOKED)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "shorter than the header"),
        (MARKER + b"\x00" * 7, "shorter than the header"),
        (b"\x00\x01" + b"\x00" * 12, "not the single-object marker"),
        (MARKER + b"\x00" * 8 + b"\x02", "no known schema has fingerprint"),
    ],
)
def test_bad_headers_are_undecodable(payload: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEvent, match=reason):
        decode(payload)


def test_truncated_and_padded_datums_are_undecodable() -> None:
    payload = encode("eco.certificate.revoked.v1", REVOKED)
    with pytest.raises(UndecodableEvent, match="corrupt"):
        decode(payload[:-3])
    with pytest.raises(UndecodableEvent, match="bytes left after the datum"):
        decode(payload + b"\x00")


def test_event_of_another_type_than_expected_is_undecodable() -> None:
    payload = encode("eco.certificate.revoked.v1", REVOKED)
    with pytest.raises(UndecodableEvent, match=r"expected eco\.certificate\.superseded\.v1"):
        decode(payload, "eco.certificate.superseded.v1")


def _revoked_schema() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        (AVRO_DIR / "eco.certificate.revoked.v1.avsc").read_text("utf-8")
    )
    return raw


def test_older_writer_schema_is_resolved_to_the_current_reader() -> None:
    current = _revoked_schema()
    older = {**current, "fields": [f for f in current["fields"] if f["name"] != "approved_by"]}
    newer_reader = {
        **current,
        "fields": [*current["fields"], {"name": "note", "type": "string", "default": "none"}],
    }
    writer_side = SchemaRegistry({"eco.certificate.revoked.v1": schema_for_raw(older)})
    old_data = {k: v for k, v in REVOKED.items() if k != "approved_by"}
    payload = writer_side.encode("eco.certificate.revoked.v1", old_data)

    registry = SchemaRegistry({"eco.certificate.revoked.v1": schema_for_raw(newer_reader)})
    with pytest.raises(UndecodableEvent, match="no known schema"):
        registry.decode(payload)
    assert registry.register_writer(older) == fingerprint(older)
    with pytest.raises(UndecodableEvent, match="No default value for field approved_by"):
        registry.decode(payload)

    kept = [f for f in newer_reader["fields"] if f["name"] != "approved_by"]
    dropping = {**newer_reader, "fields": kept}
    tolerant = SchemaRegistry({"eco.certificate.revoked.v1": schema_for_raw(dropping)})
    tolerant.register_writer(json.dumps(older))
    ce_type, data = tolerant.decode(payload)
    assert ce_type == "eco.certificate.revoked.v1"
    assert data == {**old_data, "note": "none"}


def test_enum_symbol_unknown_to_the_reader_becomes_unknown() -> None:
    current = json.loads((AVRO_DIR / "eco.alert.raised.v1.avsc").read_text("utf-8"))
    newer = json.loads(json.dumps(current))
    kind = next(f for f in newer["fields"] if f["name"] == "kind")["type"]
    kind["symbols"] = ["CERTIFICATE_EXPIRED", *kind["symbols"]]
    writer_side = SchemaRegistry({"eco.alert.raised.v1": schema_for_raw(newer)})
    alert = {
        "alert_id": "A-1",
        "application_id": "APP-1",
        "kind": "CERTIFICATE_EXPIRED",
        "severity": "INFO",
        "summary": "s",
        "suggested_action": "a",
        "raised_at": AT,
    }
    payload = writer_side.encode("eco.alert.raised.v1", alert)
    registry = SchemaRegistry({"eco.alert.raised.v1": schema_for("eco.alert.raised.v1")})
    registry.register_writer(newer)
    _, data = registry.decode(payload)
    assert data["kind"] == "UNKNOWN" and data["severity"] == "INFO"


def test_registering_a_schema_of_no_event_type_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="not the record of any event type"):
        SchemaRegistry({}).register_writer('{"type": "record", "name": "X", "fields": []}')
    with pytest.raises(InvalidInput, match="not an Avro schema"):
        SchemaRegistry({}).register_writer("{")


def schema_for_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    return parse(json.loads(json.dumps(raw)))
