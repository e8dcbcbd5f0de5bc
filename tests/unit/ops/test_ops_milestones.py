"""End-to-end milestones from the status history, and certificates counted by state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.milestones import Milestone, add_counts, moved, reached
from pipeline.states import CertificateStatus, HistoryEntry, State

T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)


def entry(event_id: str, event_type: str, seconds: float, state: State | None) -> HistoryEntry:
    return HistoryEntry(event_id, event_type, T0 + timedelta(seconds=seconds), state)


SUBMITTED = entry("e1", "eco.application.submitted.v1", 0, State.SUBMITTED)
ISSUED = entry("e3", "eco.certificate.issued.v1", 4.5, State.ISSUED)
DELIVERED = entry("e4", "eco.transmission.delivered.v1", 6, State.TRANSMITTED)
ACK = entry("e5", "eco.customs.responded.v1", 7, None)
GIVEN = entry("e6", "eco.customs.responded.v1", 3600, State.ACCEPTED)


def status(*history: HistoryEntry, state: State = State.SUBMITTED) -> CertificateStatus:
    return CertificateStatus("app-1", state, history=history, importing_country="VN")


def test_each_milestone_is_measured_from_the_submission_once() -> None:
    before = status(SUBMITTED)
    after = status(SUBMITTED, ISSUED, state=State.ISSUED)
    assert reached(before, after) == [Milestone("issued", "VN", 4.5)]
    assert reached(after, after) == []


def test_an_acknowledgement_is_not_a_decision_but_preference_given_is() -> None:
    before = status(SUBMITTED, ISSUED, DELIVERED, state=State.TRANSMITTED)
    acked = status(SUBMITTED, ISSUED, DELIVERED, ACK, state=State.TRANSMITTED)
    assert reached(before, acked) == []
    decided = status(SUBMITTED, ISSUED, DELIVERED, ACK, GIVEN, state=State.ACCEPTED)
    assert reached(acked, decided) == [Milestone("decided", "VN", 3600.0)]


def test_a_second_decision_after_a_clarification_is_not_counted_again() -> None:
    refused = entry("e6", "eco.customs.responded.v1", 60, State.REJECTED)
    given = entry("e8", "eco.customs.responded.v1", 120, State.ACCEPTED)
    before = status(SUBMITTED, ISSUED, DELIVERED, refused, state=State.REJECTED)
    after = status(SUBMITTED, ISSUED, DELIVERED, refused, given, state=State.ACCEPTED)
    assert reached(before, after) == []


def test_events_arriving_together_give_every_milestone_and_none_without_a_submission() -> None:
    assert [m.name for m in reached(None, status(SUBMITTED, ISSUED, DELIVERED))] == [
        "issued", "delivered"]
    assert reached(None, status(ISSUED, DELIVERED, state=State.TRANSMITTED)) == []


def test_states_are_counted_with_every_state_present() -> None:
    counts = add_counts([{"ISSUED": 2}, {"ACCEPTED": 1, "NOT_A_STATE": 4}, {}])
    assert counts[("ISSUED",)] == 2
    assert counts[("ACCEPTED",)] == 1
    assert counts[("REVOKED",)] == 0
    assert len(counts) == len(State)


def test_a_partition_count_moves_with_each_change_of_state() -> None:
    counts = moved(None, None, "SUBMITTED")
    counts = moved(counts, "SUBMITTED", "VERIFIED")
    counts = moved(counts, None, "SUBMITTED")
    assert counts == {"VERIFIED": 1, "SUBMITTED": 1}
    assert moved(counts, "VERIFIED", "VERIFIED") == counts
    assert moved(counts, "VERIFIED", "ISSUED") == {"SUBMITTED": 1, "ISSUED": 1}
    # A state that was never counted (records from before the counts) never goes below zero.
    assert moved({}, "ACCEPTED", "REVOKED") == {"REVOKED": 1}
