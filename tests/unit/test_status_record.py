"""The status record of ``eco.status``: Avro with its published schema, round trips the
values of ``CertificateStatus.to_json``, and older records (fixtures, JSON) stay readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import UndecodableEvent
from pipeline.states import CertificateStatus
from pipeline.statusrecord import SCHEMA_FILE, decode_status, encode_status

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "avro" / "records" / "eco.status.v1"


def test_every_fixture_still_decodes_to_its_values() -> None:
    payloads = sorted(FIXTURES.glob("*.bin"))
    assert payloads
    for payload in payloads:
        expected = json.loads(payload.with_suffix(".json").read_text())
        assert decode_status(payload.read_bytes()) == expected


def test_a_record_round_trips_and_reads_back_as_a_status() -> None:
    record = json.loads((FIXTURES / "1-accepted.json").read_text())
    value = encode_status(record)
    assert value[:2] == b"\xc3\x01"
    status = CertificateStatus.from_json(decode_status(value))
    assert status.to_json() == record


def test_json_of_earlier_versions_is_read_and_garbage_is_refused() -> None:
    assert decode_status(b'{"application_id": "a", "state": "SUBMITTED"}')["state"] == "SUBMITTED"
    with pytest.raises(UndecodableEvent):
        decode_status(b"\xc3\x01" + b"\x00" * 8)
    assert json.loads(SCHEMA_FILE.read_text())["name"] == "ApplicationStatus"
