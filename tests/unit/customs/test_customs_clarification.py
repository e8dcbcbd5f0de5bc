"""Clarification after Box 4 (Form E Rule 8(e)-(f)) and replies to verification requests
(RCEP Article 3.24): the event ``eco clarify`` builds, and what it does to the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline import events
from pipeline.cli import EXIT_BAD_INPUT, main
from pipeline.cli.clarify import answered_response, clarified_event
from pipeline.events import Envelope
from pipeline.journey import observe
from pipeline.states import CertificateStatus, HistoryEntry, State, advance

T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)


def response(status: str, response_id: str, minutes: int) -> Envelope:
    reasons = [{"code": "TH-ORG-01", "text": "RVC"}] if status == "PREFERENCE_NOT_GIVEN" else []
    return events.new_envelope(
        "eco.customs.responded.v1",
        {"application_id": "A-1", "certificate_number": "E26", "version": 1,
         "importing_country": "TH", "response_id": response_id, "status": status,
         "box4_reasons": reasons, "message": "", "responded_at": T0},
        source="eco/customs/TH", subject="A-1", time=T0 + timedelta(minutes=minutes))


def test_the_latest_box4_rejection_or_verification_request_is_answered() -> None:
    ack = response("ACKNOWLEDGED", "R0", 0)
    refused = response("PREFERENCE_NOT_GIVEN", "R1", 1)
    asked = response("VERIFICATION_REQUESTED", "R2", 2)
    assert answered_response([ack]) is None
    assert answered_response([ack, refused]) == refused
    assert answered_response([ack, refused, asked]) == asked
    assert answered_response([refused, response("PREFERENCE_GIVEN", "R3", 3)]) is None


def test_the_event_answers_the_response_with_an_id_derived_from_it() -> None:
    refused = response("PREFERENCE_NOT_GIVEN", "R1", 1)
    event = clarified_event(refused, "  cost statement attached ", " Officer Chen ", T0)
    again = clarified_event(refused, "another wording", "someone else", T0)
    assert event.id == again.id, "running the command twice sends one clarification"
    assert event.type == "eco.certificate.clarified.v1" and event.subject == "A-1"
    assert event.data["answers"] == "BOX4_REJECTION"
    assert event.data["responding_to"] == "R1"
    assert (event.data["explanation"], event.data["approved_by"]) == (
        "cost statement attached", "Officer Chen")
    record = events.to_record(event)
    assert events.from_record(*record).data["version"] == 1  # the schema takes it
    asked = clarified_event(response("VERIFICATION_REQUESTED", "R2", 2), "records", "Li", T0)
    assert asked.data["answers"] == "VERIFICATION_REQUEST"


def _status(state: State) -> CertificateStatus:
    return CertificateStatus("A-1", state, history=(
        HistoryEntry("e0", "eco.customs.responded.v1", T0, state),))


def test_rejected_then_clarified_then_accepted_or_rejected_for_good() -> None:
    refused = response("PREFERENCE_NOT_GIVEN", "R1", 1)
    clarification = clarified_event(refused, "cost statement attached", "Chen",
                                    T0 + timedelta(minutes=2))
    obs = observe(clarification.id, clarification.type, T0 + timedelta(minutes=2),
                  clarification.data)
    assert obs.state is State.CLARIFIED and "approved by Chen" in obs.detail
    clarified = advance(_status(State.REJECTED), "A-1", obs)
    assert clarified.state is State.CLARIFIED
    given = response("PREFERENCE_GIVEN", "R3", 3)
    assert advance(clarified, "A-1", observe(given.id, given.type, given.time,
                                             given.data)).state is State.ACCEPTED
    refused_again = response("PREFERENCE_NOT_GIVEN", "R4", 4)
    final = advance(clarified, "A-1", observe(refused_again.id, refused_again.type,
                                              refused_again.time, refused_again.data))
    assert final.state is State.REJECTED_FINAL


def test_a_reply_to_a_verification_request_moves_to_verification_replied() -> None:
    asked = response("VERIFICATION_REQUESTED", "R2", 2)
    reply = clarified_event(asked, "production records attached", "Li", T0)
    obs = observe(reply.id, reply.type, T0 + timedelta(minutes=3), reply.data)
    assert advance(_status(State.VERIFICATION_REQUESTED), "A-1",
                   obs).state is State.VERIFICATION_REPLIED


@pytest.mark.parametrize("argv", [
    ["clarify", "A-1", "--explanation", " ", "--approved-by", "Chen"],
    ["clarify", "A-1", "--explanation", "x", "--approved-by", ""],
])
def test_empty_options_exit_2_before_any_broker_call(argv: list[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_BAD_INPUT
    assert "must not be empty" in capsys.readouterr().err
