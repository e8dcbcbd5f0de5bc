"""The status transition: a change gives a new record, an event seen before gives the same
state object back (so the frame writes and publishes nothing)."""

from __future__ import annotations

from pipeline.events import new_envelope
from pipeline.stages.status import decide
from pipeline.states import State
from tests.unit.stages.conftest import NOW, submitted


def test_a_new_event_moves_the_state_and_a_repeated_one_changes_nothing() -> None:
    event = submitted("04-acfta-frozen-fish-vn.json")
    first = decide(None, event)
    assert first.state is not None and first.state.state is State.SUBMITTED
    assert [n.event for n in first.notes] == ["status_changed"]
    again = decide(first.state, event)
    assert again.state is first.state and again.notes == ()


def test_a_late_event_goes_into_the_history_without_moving_the_state() -> None:
    accepted = new_envelope("eco.certificate.revoked.v1", {
        "application_id": "app-9", "certificate_number": "E1", "version": 1, "reason": "r",
        "approved_by": "o", "occurred_at": NOW}, source="eco/issuance", subject="app-9")
    first = decide(None, accepted)
    assert first.state is not None and first.state.state is State.REVOKED
    resubmitted = submitted("04-acfta-frozen-fish-vn.json", application_id="app-9")
    late = decide(first.state, resubmitted)
    assert late.state is not None and late.state.state is State.REVOKED
    assert len(late.state.history) == 2

