"""Dead letters as data: reading, selecting, and the replay records (no broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.deadletters import (
    DeadLetter,
    Selection,
    parse_moment,
    read_dead_letter,
    replay_of,
    replayed_refs,
    select,
)

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def letter(offset: int, stage: str, reason: str, when: str,
           error: str = "InvalidInput") -> DeadLetter:
    headers = [("ce_id", f"id-{offset}".encode()), ("ce_type", b"eco.application.submitted.v1"),
               ("eco_dlq_stage", stage.encode()), ("eco_dlq_reason", reason.encode()),
               ("eco_dlq_error", error.encode()), ("eco_dlq_topic", b"eco.application"),
               ("eco_dlq_partition", b"2"), ("eco_dlq_offset", b"41"),
               ("eco_dlq_attempts", b"1"), ("eco_dlq_time", when.encode())]
    return read_dead_letter(0, offset, b"app-1", b"\xc3\x01garbage", headers)


LETTERS = [
    letter(0, "verification", "items[0].hs_code: required", "2026-05-20T08:00:00Z"),
    letter(1, "issuance", "no key for office CN-XYZ", "2026-05-20T10:30:00Z",
           error="DependencyUnavailable"),
    letter(2, "verification", "not single-object Avro", "2026-05-20T11:45:00Z",
           error="UndecodableEvent"),
]


def test_a_dead_letter_reads_its_headers() -> None:
    first = LETTERS[0]
    assert (first.ref, first.stage, first.topic, first.source_partition, first.source_offset) == (
        "0:0", "verification", "eco.application", 2, 41)
    assert first.event_id == "id-0"
    assert first.time == datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
    assert [k for k, _ in first.original_headers] == ["ce_id", "ce_type"]


def test_a_foreign_record_is_still_listed() -> None:
    odd = read_dead_letter(3, 9, None, None, [("x", None)], timestamp_ms=0)
    assert odd.stage == "" and odd.time == datetime(1970, 1, 1, tzinfo=UTC)


def test_selection_by_stage_reason_time_and_ref() -> None:
    def refs(selection: Selection) -> list[str]:
        return [d.ref for d in select(LETTERS, selection)]

    assert refs(Selection(stage="verification")) == ["0:0", "0:2"]
    assert refs(Selection(reason="AVRO")) == ["0:2"]
    assert refs(Selection(reason="dependencyunavailable")) == ["0:1"]
    assert refs(Selection(since=parse_moment("2h", NOW))) == ["0:1", "0:2"]
    assert refs(Selection(until=parse_moment("2026-05-20T10:30:00Z", NOW))) == ["0:0"]
    assert refs(Selection(refs=frozenset({"0:1", "id-2"}))) == ["0:1", "0:2"]
    assert refs(Selection(stage="issuance", reason="avro")) == []


def test_a_moment_that_is_neither_is_refused_with_the_forms_it_accepts() -> None:
    with pytest.raises(ValueError, match=r"30m, 2h, 7d"):
        parse_moment("yesterday", NOW)
    assert parse_moment("2026-05-20", NOW) == datetime(2026, 5, 20, tzinfo=UTC)


def test_a_replay_keeps_the_original_event_id_and_says_it_is_a_replay() -> None:
    replay = replay_of(LETTERS[0], "r-1", NOW, "ops")
    headers = dict(replay.headers)
    assert replay.topic == "eco.application" and replay.key == b"app-1"
    assert replay.value == LETTERS[0].value
    assert headers["ce_id"] == b"id-0"
    assert headers["eco_replay_of"] == b"eco.deadletter:0:0"
    assert not any(k.startswith("eco_dlq_") for k in headers)
    record = json.loads(replay.record)
    assert record["deadletter"] == "0:0" and record["ce_id"] == "id-0"
    assert record["replayed_by"] == "ops"
    assert replayed_refs([replay.record, replay.record, b"not json", None]) == {"0:0": 2}


def test_a_dead_letter_without_its_topic_cannot_be_replayed() -> None:
    odd = read_dead_letter(3, 9, None, b"x", [])
    with pytest.raises(ValueError, match="3:9 does not name its original topic"):
        replay_of(odd, "r", NOW, "ops")
