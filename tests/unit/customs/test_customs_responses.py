"""The customs response wire format: parsing, mapping and every fault by path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.customs.responses import (
    RESPONSE_STATUSES,
    Box4Reason,
    CustomsResponse,
    parse_response,
    response_to_json,
)
from pipeline.errors import InvalidInput, Problem


def wire(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response_id": "TH-R-1",
        "application_id": "demo-02-kettle-th",
        "certificate_number": "E26CN0001",
        "version": 1,
        "status": "PREFERENCE_NOT_GIVEN",
        "box4_reasons": [{"code": "RVC", "text": "cost statement missing", "item_no": 1}],
        "message": "",
        "responded_at": "2026-05-12T08:30:00+07:00",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def paths(body: Any, country: str = "TH") -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_response(country, body)
    return [p.path for p in caught.value.problems]


def test_a_box4_rejection_is_read_with_its_reasons() -> None:
    response = parse_response("th", wire())
    assert response.importing_country == "TH"
    assert response.status == "PREFERENCE_NOT_GIVEN"
    assert response.box4_reasons == (Box4Reason("RVC", "cost statement missing", 1),)
    assert response.responded_at == datetime(2026, 5, 12, 1, 30, tzinfo=UTC)


def test_status_codes_are_mapped_before_checking() -> None:
    response = parse_response(
        "VN", wire(status="UTILISATION", box4_reasons=...), lambda code: "PREFERENCE_GIVEN"
    )
    assert response.status == "PREFERENCE_GIVEN"


def test_missing_fields_are_all_reported() -> None:
    assert paths({"status": "ACKNOWLEDGED"}) == [
        "response_id",
        "application_id",
        "certificate_number",
        "version",
        "responded_at",
    ]


def test_not_given_without_reasons_is_refused() -> None:
    assert paths(wire(box4_reasons=[])) == ["box4_reasons"]


def test_reasons_only_with_not_given() -> None:
    assert paths(wire(status="PREFERENCE_GIVEN")) == ["box4_reasons"]


def test_bad_reason_entries_are_pointed_at() -> None:
    entries = [{"code": "", "text": "x"}, "no", {"code": "A", "text": "b", "item_no": 0}]
    body = wire(box4_reasons=entries)
    assert paths(body) == [
        "box4_reasons[0].code",
        "box4_reasons[1]",
        "box4_reasons[2].item_no",
    ]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"version": "1"}, "version"),
        ({"status": "MAYBE"}, "status"),
        ({"responded_at": "2026-05-12T08:30:00"}, "responded_at"),
        ({"responded_at": "yesterday"}, "responded_at"),
        ({"importing_country": "VN"}, "importing_country"),
        ({"message": 5}, "message"),
    ],
)
def test_each_fault_is_named(changes: dict[str, Any], path: str) -> None:
    assert paths(wire(**changes)) == [path]


def test_a_non_object_is_refused() -> None:
    assert paths([1, 2]) == [""]


def test_mapping_failures_become_problems() -> None:
    def refuse(code: str) -> str:
        raise InvalidInput([Problem("status", "unknown")])

    with pytest.raises(InvalidInput) as caught:
        parse_response("TH", wire(), refuse)
    assert [p.path for p in caught.value.problems] == ["status"]


reasons = st.lists(
    st.builds(
        Box4Reason,
        st.text(min_size=1).filter(str.strip),
        st.text(min_size=1).filter(str.strip),
        st.none() | st.integers(min_value=1, max_value=999),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def responses(draw: st.DrawFn) -> CustomsResponse:
    status = draw(st.sampled_from(RESPONSE_STATUSES))
    offset = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
    moment = draw(st.datetimes(timezones=st.just(offset)))
    return CustomsResponse(
        response_id=draw(st.text(min_size=1).filter(str.strip)),
        application_id=draw(st.text(min_size=1).filter(str.strip)),
        certificate_number=draw(st.text(min_size=1).filter(str.strip)),
        version=draw(st.integers(min_value=1, max_value=10_000)),
        importing_country=draw(st.sampled_from(["VN", "TH", "MY"])),
        status=status,  # type: ignore[arg-type]
        box4_reasons=tuple(draw(reasons)) if status == "PREFERENCE_NOT_GIVEN" else (),
        message=draw(st.text()),
        responded_at=moment,
    )


@given(responses())
def test_the_wire_format_round_trips(response: CustomsResponse) -> None:
    assert parse_response(response.importing_country, response_to_json(response)) == response
