"""What each event says about a certificate: the mapping from event data to implied state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.journey import observe
from pipeline.states import CertificateStatus, Observation, State, advance

AT = datetime(2026, 5, 8, 8, 0, tzinfo=UTC)
NUMBER = "E26440300001000001"


def see(event_type: str, data: dict[str, Any], event_id: str = "ev-1") -> Observation:
    return observe(event_id, event_type, AT, data)


def certificate(**more: Any) -> dict[str, Any]:
    return {"application_id": "demo-02-kettle-th", "certificate_number": NUMBER, "version": 1,
            "importing_country": "TH", **more}


def item(no: int, qualified: bool, **more: Any) -> dict[str, Any]:
    return {"item_no": no, "hs_code": "851610", "qualified": qualified, "reasons": [], **more}


def verification(verdict: str, items: list[dict[str, Any]] | None = None,
                 errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"application_id": "app-1", "agreement": "ACFTA", "verdict": verdict,
            "items": items or [], "errors": errors or [], "notes": []}


def customs(status: str, box4: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return certificate(response_id="r-1", status=status, box4_reasons=box4 or [], message=None)


def test_the_observation_carries_the_event_identity() -> None:
    seen = see("eco.application.submitted.v1", {"agreement": "RCEP", "submitted_via": "CLI"})
    assert (seen.event_id, seen.event_type, seen.at) == ("ev-1", "eco.application.submitted.v1",
                                                         AT)


def test_submitted_implies_submitted() -> None:
    seen = see("eco.application.submitted.v1",
               {"application_id": "a", "agreement": "RCEP", "submitted_via": "PORTAL",
                "importing_country": "VN"})
    assert seen.state is State.SUBMITTED
    assert seen.detail == "RCEP application via PORTAL"
    assert seen.importing_country == "VN"


@pytest.mark.parametrize(
    ("verdict", "state"),
    [
        ("QUALIFIED", State.VERIFIED),
        ("NOT_QUALIFIED", State.NOT_QUALIFIED),
        ("INCOMPLETE", State.INCOMPLETE),
        ("DOCUMENTS_REQUESTED", State.DOCUMENTS_REQUESTED),
        ("UNKNOWN", None),
    ],
)
def test_verification_verdicts(verdict: str, state: State | None) -> None:
    assert see("eco.verification.completed.v1", verification(verdict)).state is state


def test_a_qualified_verification_names_each_items_criterion() -> None:
    seen = see("eco.verification.completed.v1", verification(
        "QUALIFIED", [item(1, True, criterion="CTH", box="CTH"), item(2, True, criterion="RVC"),
                      item(3, True)]))
    assert seen.detail == "QUALIFIED; item 1 CTH, item 2 RVC, item 3 -"
    assert seen.reasons == ()


def test_not_qualified_keeps_the_reasons_of_the_failing_items_only() -> None:
    seen = see("eco.verification.completed.v1", verification(
        "NOT_QUALIFIED",
        [item(1, True, reasons=["CTH met"]),
         item(2, False, reasons=["CTH fails: heading 9405", "RVC 16.67 < 40"])]))
    assert seen.reasons == ("item 2: CTH fails: heading 9405", "item 2: RVC 16.67 < 40")


def test_incomplete_reasons_name_the_path() -> None:
    seen = see("eco.verification.completed.v1", verification(
        "INCOMPLETE", errors=[{"path": "items[0].materials[0].value", "message": "missing"}]))
    assert seen.state is State.INCOMPLETE
    assert seen.reasons == ("items[0].materials[0].value: missing",)


def test_issued_implies_issued_with_the_certificate_number() -> None:
    seen = see("eco.certificate.issued.v1", certificate(issuing_office="CN-NGB"))
    assert seen.state is State.ISSUED
    assert seen.certificate_number == NUMBER
    assert seen.detail == f"{NUMBER} v1 by CN-NGB"


def test_delivered_implies_transmitted() -> None:
    seen = see("eco.transmission.delivered.v1", certificate(channel="direct", attempts=2))
    assert seen.state is State.TRANSMITTED
    assert seen.detail == "delivered to TH after 2 attempt(s)"


def test_failed_implies_transmission_failed() -> None:
    seen = see("eco.transmission.failed.v1", certificate(attempts=5, reason="HTTP 503"))
    assert seen.state is State.TRANSMISSION_FAILED
    assert seen.detail == "HTTP 503"


def test_fallback_implies_fallback_manual() -> None:
    seen = see("eco.transmission.fallback.v1", certificate(reason="no direct connection to ID"))
    assert seen.state is State.FALLBACK_MANUAL
    assert seen.detail == "no direct connection to ID"


def test_superseded_and_revoked() -> None:
    superseded = see("eco.certificate.superseded.v1",
                     certificate(superseded_by_number="E2", superseded_by_version=2))
    revoked = see("eco.certificate.revoked.v1", certificate(reason="issued in error"))
    assert (superseded.state, superseded.detail) == (State.SUPERSEDED, "superseded by E2")
    assert (revoked.state, revoked.detail) == (State.REVOKED, "issued in error")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("PREFERENCE_GIVEN", State.ACCEPTED),
        ("PREFERENCE_NOT_GIVEN", State.REJECTED),
        ("VERIFICATION_REQUESTED", State.VERIFICATION_REQUESTED),
        ("TECH_REJECTED", State.TRANSMISSION_FAILED),
        ("ACKNOWLEDGED", None),
        ("FEEDBACK", None),
    ],
)
def test_customs_statuses(status: str, state: State | None) -> None:
    seen = see("eco.customs.responded.v1", customs(status))
    assert seen.state is state
    assert seen.detail == f"TH customs: {status}"


def test_preference_not_given_keeps_the_box4_reasons() -> None:
    seen = see("eco.customs.responded.v1", customs(
        "PREFERENCE_NOT_GIVEN", [{"code": "R1", "text": "origin criterion unclear"},
                                 {"code": "R4", "text": "signature missing"}]))
    assert seen.state is State.REJECTED
    assert seen.reasons == ("Box 4 R1: origin criterion unclear", "Box 4 R4: signature missing")
    assert seen.detail.endswith("(Box 4 R1: origin criterion unclear; Box 4 R4: signature missing)")


def test_an_alert_implies_no_state_but_records_its_kind() -> None:
    seen = see("eco.alert.raised.v1", certificate(
        alert_id="al-1", kind="BOX4_REJECTION", severity="WARNING",
        summary="TH refused preference", suggested_action="clarify"))
    assert seen.state is None
    assert seen.alert == "BOX4_REJECTION"
    assert seen.detail == "alert BOX4_REJECTION: TH refused preference"


def test_an_event_type_without_a_meaning_for_the_state_is_history_only() -> None:
    seen = see("eco.deadline.due.v1", {"kind": "RESPONSE_TIMEOUT"})
    assert seen.state is None
    assert seen.alert is None
    assert seen.detail == "eco.deadline.due.v1"


def test_the_kettle_journey_ends_accepted_with_one_alert() -> None:
    """Sample 02: refused in Box 4, alerted, clarified, then given."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("eco.application.submitted.v1", {"agreement": "ACFTA", "submitted_via": "CLI",
                                          "importing_country": "TH"}),
        ("eco.verification.completed.v1", verification("QUALIFIED", [item(1, True, box="RVC")])),
        ("eco.certificate.issued.v1", certificate(issuing_office="CN-NGB")),
        ("eco.transmission.delivered.v1", certificate(channel="direct", attempts=1)),
        ("eco.customs.responded.v1", customs("ACKNOWLEDGED")),
        ("eco.customs.responded.v1",
         customs("PREFERENCE_NOT_GIVEN", [{"code": "R1", "text": "criterion unclear"}])),
        ("eco.alert.raised.v1", certificate(alert_id="al", kind="BOX4_REJECTION",
                                            summary="refused", suggested_action="clarify")),
        ("eco.customs.responded.v1", customs("PREFERENCE_GIVEN")),
    ]
    status: CertificateStatus | None = None
    states = []
    for index, (event_type, data) in enumerate(events):
        seen = observe(f"ev-{index}", event_type, AT + timedelta(minutes=index), data)
        status = advance(status, "demo-02-kettle-th", seen)
        states.append(status.state)
    assert status is not None
    assert states == [State.SUBMITTED, State.VERIFIED, State.ISSUED, State.TRANSMITTED,
                      State.TRANSMITTED, State.REJECTED, State.REJECTED, State.ACCEPTED]
    assert status.alerts == ("BOX4_REJECTION",)
    assert status.certificate_number == NUMBER
    assert len(status.history) == len(events)
