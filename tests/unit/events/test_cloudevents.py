"""CloudEvents 1.0 binary mode over Kafka: records out, envelopes back, bad headers refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import InvalidInput, UndecodableEvent
from pipeline.events import (
    Envelope,
    continue_trace,
    dataschema_of,
    encode,
    from_record,
    new_envelope,
    new_traceparent,
    to_record,
)
from pipeline.events.cloudevents import format_time, is_valid_traceparent, parse_time

AT = datetime(2026, 5, 2, 8, 30, 15, 250000, tzinfo=UTC)
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
DELIVERED = {
    "application_id": "APP-1",
    "certificate_number": "RCEP-CN-SHA-2026-000001",
    "version": 1,
    "importing_country": "VN",
    "channel": "vn-customs",
    "attempts": 1,
    "receipt_id": None,
    "delivered_at": AT,
}
TYPE = "eco.transmission.delivered.v1"


def _envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {"source": "eco/transmission", "subject": "APP-1", **overrides}
    return new_envelope(TYPE, DELIVERED, **fields)


def _record(**overrides: Any) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return to_record(_envelope(**overrides))


def _replace(
    headers: list[tuple[str, bytes]], name: str, value: bytes | None
) -> list[tuple[str, Any]]:
    kept: list[tuple[str, Any]] = [(n, v) for n, v in headers if n != name]
    return kept if value is None else [*kept, (name, value)]


def test_new_envelope_fills_id_time_and_trace() -> None:
    before = datetime.now(UTC)
    env = _envelope()
    assert uuid.UUID(env.id).version == 4
    assert before <= env.time <= datetime.now(UTC) and env.time.tzinfo == UTC
    assert env.traceparent is not None and is_valid_traceparent(env.traceparent)
    assert _envelope().id != env.id


def test_record_carries_key_value_and_every_header() -> None:
    key, value, headers = _record(id="e-1", time=AT, traceparent=TRACE)
    assert key == b"APP-1"
    assert value == encode(TYPE, DELIVERED)
    assert dict(headers) == {
        "ce_specversion": b"1.0",
        "ce_id": b"e-1",
        "ce_type": TYPE.encode(),
        "ce_source": b"eco/transmission",
        "ce_time": b"2026-05-02T08:30:15.250000Z",
        "ce_subject": b"APP-1",
        "ce_dataschema": dataschema_of(TYPE).encode(),
        "content-type": b"application/avro",
        "traceparent": TRACE.encode(),
    }


def test_from_record_gives_back_the_envelope() -> None:
    env = _envelope(time=AT.astimezone(timezone(timedelta(hours=7))))
    assert from_record(*to_record(env)) == env


def test_record_without_key_is_accepted() -> None:
    _, value, headers = _record()
    assert from_record(None, value, headers).subject == "APP-1"


@pytest.mark.parametrize(
    "name",
    [
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "ce_subject",
        "ce_dataschema",
        "content-type",
    ],
)
def test_missing_header_is_undecodable_naming_it(name: str) -> None:
    key, value, headers = _record()
    with pytest.raises(UndecodableEvent, match=f"header {name} is missing"):
        from_record(key, value, _replace(headers, name, None))


@pytest.mark.parametrize(
    ("name", "bad", "reason"),
    [
        ("ce_specversion", b"0.3", "ce_specversion"),
        ("ce_id", b"", "ce_id is empty"),
        ("ce_type", b"eco.nothing.v1", "ce_type"),
        ("ce_source", b"\xff", "ce_source is not UTF-8"),
        ("ce_time", b"2026-05-02 08:30", "ce_time"),
        ("ce_time", b"2026-02-30T08:30:00Z", "ce_time"),
        ("ce_time", b"2026-05-02T08:30:00", "ce_time"),
        ("ce_dataschema", b"crc64-avro:00", "ce_dataschema"),
        ("ce_dataschema", b"crc64-avro:" + b"0" * 16, "differs from header ce_dataschema"),
        ("content-type", b"application/json", "content-type"),
    ],
)
def test_invalid_header_is_undecodable_naming_it(name: str, bad: bytes, reason: str) -> None:
    key, value, headers = _record()
    with pytest.raises(UndecodableEvent, match=reason):
        from_record(key, value, _replace(headers, name, bad))


def test_ce_type_must_match_the_value() -> None:
    key, value, headers = _record()
    other = "eco.transmission.failed.v1"
    headers = _replace(headers, "ce_type", other.encode())
    headers = _replace(headers, "ce_dataschema", dataschema_of(TYPE).encode())
    with pytest.raises(UndecodableEvent, match="expected eco"):
        from_record(key, value, headers)


def test_duplicated_header_is_undecodable() -> None:
    key, value, headers = _record()
    with pytest.raises(UndecodableEvent, match="ce_id appears 2 times"):
        from_record(key, value, [*headers, ("ce_id", b"other")])


def test_key_must_be_the_subject_and_value_must_be_there() -> None:
    key, value, headers = _record()
    with pytest.raises(UndecodableEvent, match="differs from header ce_subject"):
        from_record(b"APP-2", value, headers)
    with pytest.raises(UndecodableEvent, match="no value"):
        from_record(key, None, headers)


def test_corrupt_value_is_undecodable() -> None:
    key, value, headers = _record()
    with pytest.raises(UndecodableEvent):
        from_record(key, value[:-2], headers)


def test_foreign_headers_are_ignored_and_content_type_parameters_allowed() -> None:
    key, value, headers = _record()
    headers = _replace(headers, "content-type", b"application/avro; v=1")
    env = from_record(key, value, [*headers, ("x-retry", b"\xff"), ("x-retry", b"2")])
    assert env.data["channel"] == "vn-customs"


def test_invalid_traceparent_is_dropped_not_refused() -> None:
    key, value, headers = _record()
    env = from_record(key, value, _replace(headers, "traceparent", b"00-zz"))
    assert env.traceparent is None
    assert from_record(key, value, _replace(headers, "traceparent", None)).traceparent is None


def test_new_envelope_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(InvalidInput) as caught:
        new_envelope(
            "eco.nothing.v1",
            {},
            source="",
            subject="",
            time=datetime(2026, 5, 2),
            traceparent="01-x",
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {"type", "source", "subject", "time", "traceparent"}


def test_data_that_does_not_fit_fails_at_to_record() -> None:
    env = new_envelope(TYPE, {**DELIVERED, "attempts": "one"}, source="s", subject="APP-1")
    with pytest.raises(InvalidInput, match="attempts"):
        to_record(env)


@pytest.mark.parametrize(
    "text",
    [
        TRACE,
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future",
    ],
)
def test_valid_traceparents(text: str) -> None:
    assert is_valid_traceparent(text)


@pytest.mark.parametrize(
    "text",
    [
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        TRACE + "-extra",
    ],
)
def test_invalid_traceparents(text: str) -> None:
    assert not is_valid_traceparent(text)


def test_continue_trace_keeps_the_trace_and_flags_with_a_new_parent() -> None:
    child = continue_trace(TRACE)
    assert child.split("-")[1] == TRACE.split("-")[1] and child.endswith("-01")
    assert child.split("-")[2] != TRACE.split("-")[2] and is_valid_traceparent(child)
    assert continue_trace(None).split("-")[1] != continue_trace(None).split("-")[1]
    assert is_valid_traceparent(new_traceparent())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-02T08:30:15Z", AT.replace(microsecond=0)),
        ("2026-05-02t16:30:15.25+08:00", AT),
        ("2026-05-02T08:30:15.250000123Z", AT),
        ("2026-05-01T23:30:15.25-09:00", AT),
    ],
)
def test_rfc3339_times_are_read_into_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected and parsed.tzinfo == UTC


@given(st.datetimes(timezones=st.just(UTC)))
def test_time_header_round_trips(moment: datetime) -> None:
    assert parse_time(format_time(moment)) == moment
