"""The certificate state machine: legal moves, late events, idempotence and the JSON form."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import IllegalTransition
from pipeline.states import (
    TRANSITIONS,
    CertificateStatus,
    HistoryEntry,
    Observation,
    State,
    advance,
    reachable,
)

APP = "app-1"
T0 = datetime(2026, 5, 8, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def obs(event_id: str, state: State | None, minutes: int, *, detail: str = "",
        certificate_number: str | None = None, importing_country: str | None = None,
        alert: str | None = None, reasons: tuple[str, ...] = ()) -> Observation:
    return Observation(event_id=event_id, event_type=f"test.{event_id}", at=at(minutes),
                       state=state, detail=detail, certificate_number=certificate_number,
                       importing_country=importing_country, alert=alert, reasons=reasons)


def run(*observations: Observation) -> CertificateStatus:
    status: CertificateStatus | None = None
    for observation in observations:
        status = advance(status, APP, observation)
    assert status is not None
    return status


def test_every_state_has_its_transitions_listed() -> None:
    assert set(TRANSITIONS) == set(State)


def test_terminal_states_lead_nowhere() -> None:
    for state in (State.REJECTED_FINAL, State.SUPERSEDED, State.REVOKED, State.EXPIRED):
        assert not any(reachable(state, goal) for goal in State)


def test_every_state_is_reachable_from_submitted() -> None:
    assert all(reachable(State.SUBMITTED, state) for state in State)


def test_reachable_follows_more_than_one_step() -> None:
    assert reachable(State.SUBMITTED, State.ACCEPTED)
    assert not reachable(State.ACCEPTED, State.ISSUED)


def test_submission_opens_the_history() -> None:
    status = run(obs("e1", State.SUBMITTED, 0))
    assert status.application_id == APP
    assert status.state is State.SUBMITTED
    assert [h.event_id for h in status.history] == ["e1"]


@pytest.mark.parametrize(
    "path",
    [
        (State.SUBMITTED, State.VERIFIED, State.ISSUED, State.TRANSMITTED, State.ACCEPTED),
        (State.SUBMITTED, State.VERIFIED, State.ISSUED, State.TRANSMISSION_FAILED,
         State.FALLBACK_MANUAL),
        (State.SUBMITTED, State.VERIFIED, State.ISSUED, State.TRANSMITTED, State.REJECTED,
         State.CLARIFIED, State.ACCEPTED),
        (State.SUBMITTED, State.VERIFIED, State.ISSUED, State.TRANSMITTED,
         State.VERIFICATION_REQUESTED, State.VERIFICATION_REPLIED, State.REJECTED_FINAL),
        (State.SUBMITTED, State.DOCUMENTS_REQUESTED, State.VERIFIED, State.ISSUED,
         State.SUPERSEDED),
    ],
)
def test_legal_transitions_move_the_state(path: tuple[State, ...]) -> None:
    status: CertificateStatus | None = None
    for index, state in enumerate(path):
        status = advance(status, APP, obs(f"e{index}", state, index))
        assert status.state is state
    assert status is not None
    assert [h.state for h in status.history] == list(path)


@pytest.mark.parametrize(
    ("current", "illegal"),
    [
        (State.REJECTED_FINAL, State.SUPERSEDED),
        (State.SUPERSEDED, State.REVOKED),
        (State.EXPIRED, State.ACCEPTED),
        (State.EXPIRED, State.REVOKED),
    ],
)
def test_an_illegal_transition_raises(current: State, illegal: State) -> None:
    status = CertificateStatus(
        application_id=APP, state=current,
        history=(HistoryEntry("e0", "test.e0", at(0), current),),
    )
    with pytest.raises(IllegalTransition, match=f"{current.value} -> {illegal.value}"):
        advance(status, APP, obs("e1", illegal, 5))


def test_a_state_behind_the_current_one_never_moves_it_back() -> None:
    status = run(obs("i", State.ISSUED, 0), obs("r", State.REVOKED, 1),
                 obs("t", State.TRANSMITTED, 2))
    assert status.state is State.REVOKED
    assert [h.event_id for h in status.history] == ["i", "r", "t"]


def test_an_already_seen_event_id_is_a_no_op() -> None:
    status = run(obs("e1", State.SUBMITTED, 0), obs("e2", State.VERIFIED, 1))
    again = advance(status, APP, obs("e1", State.SUBMITTED, 0))
    assert again is status
    # Even a replayed id carrying another state changes nothing.
    assert advance(status, APP, obs("e2", State.NOT_QUALIFIED, 9)) is status


def test_a_later_state_first_then_the_earlier_one_keeps_the_later() -> None:
    status = run(obs("issued", State.ISSUED, 10), obs("submitted", State.SUBMITTED, 0))
    assert status.state is State.ISSUED
    assert [h.event_id for h in status.history] == ["submitted", "issued"]
    assert [h.at for h in status.history] == sorted(h.at for h in status.history)


def test_skipped_events_arriving_late_fill_the_history_only() -> None:
    status = run(
        obs("submitted", State.SUBMITTED, 0),
        obs("delivered", State.TRANSMITTED, 30),
        obs("verified", State.VERIFIED, 10),
        obs("issued", State.ISSUED, 20),
    )
    assert status.state is State.TRANSMITTED
    assert [h.event_id for h in status.history] == ["submitted", "verified", "issued", "delivered"]


def test_an_older_failed_attempt_does_not_undo_a_delivery() -> None:
    status = run(
        obs("issued", State.ISSUED, 0),
        obs("delivered", State.TRANSMITTED, 20),
        obs("failed", State.TRANSMISSION_FAILED, 10),
    )
    assert status.state is State.TRANSMITTED
    assert len(status.history) == 3


def test_resubmission_after_incomplete_goes_back_to_submitted_and_clears_reasons() -> None:
    incomplete = run(
        obs("s1", State.SUBMITTED, 0),
        obs("v1", State.INCOMPLETE, 1, reasons=("items[0].materials[0].value: missing",)),
    )
    assert incomplete.state is State.INCOMPLETE
    assert incomplete.reasons == ("items[0].materials[0].value: missing",)
    resubmitted = advance(incomplete, APP, obs("s2", State.SUBMITTED, 2))
    assert resubmitted.state is State.SUBMITTED
    assert resubmitted.reasons == ()
    assert [h.event_id for h in resubmitted.history] == ["s1", "v1", "s2"]
    verified = advance(resubmitted, APP, obs("v2", State.VERIFIED, 3))
    assert verified.state is State.VERIFIED


def test_an_event_without_a_state_is_recorded_without_moving() -> None:
    status = run(obs("s", State.SUBMITTED, 0), obs("note", None, 1, detail="acknowledged"))
    assert status.state is State.SUBMITTED
    assert status.history[-1].detail == "acknowledged"
    assert status.history[-1].state is None


def test_alerts_are_recorded_once() -> None:
    status = run(
        obs("s", State.SUBMITTED, 0),
        obs("a1", None, 1, alert="BOX4_REJECTION"),
        obs("a2", None, 2, alert="BOX4_REJECTION"),
        obs("a3", None, 3, alert="RESPONSE_TIMEOUT"),
    )
    assert status.alerts == ("BOX4_REJECTION", "RESPONSE_TIMEOUT")
    assert len(status.history) == 4


def test_facts_of_an_observation_are_kept() -> None:
    status = run(
        obs("s", State.SUBMITTED, 0, importing_country="VN"),
        obs("v", State.VERIFIED, 1),
        obs("i", State.ISSUED, 2, certificate_number="E26440300001000001"),
        obs("t", State.TRANSMITTED, 3),
    )
    assert status.certificate_number == "E26440300001000001"
    assert status.importing_country == "VN"


def test_a_late_event_does_not_replace_the_reasons_of_the_current_state() -> None:
    status = run(
        obs("s1", State.SUBMITTED, 0),
        obs("s2", State.SUBMITTED, 2),
        obs("v2", State.INCOMPLETE, 3, reasons=("second examination",)),
        obs("v1", State.NOT_QUALIFIED, 1, reasons=("first examination",)),
    )
    assert status.state is State.INCOMPLETE
    assert status.reasons == ("second examination",)


# --- properties -------------------------------------------------------------------------


@st.composite
def legal_paths(draw: st.DrawFn) -> list[State]:
    """A walk from SUBMITTED along legal transitions, stopping at random or at a final state."""
    path = [State.SUBMITTED]
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        options = sorted(TRANSITIONS[path[-1]])
        if not options:
            break
        path.append(draw(st.sampled_from(options)))
    return path


def observations_along(path: list[State]) -> list[Observation]:
    return [
        obs(f"e{i}", state, i, alert="BOX4_REJECTION" if state is State.REJECTED else None,
            reasons=(f"reason {i}",) if state is State.NOT_QUALIFIED else ())
        for i, state in enumerate(path)
    ]


@given(legal_paths())
@settings(max_examples=200)
def test_legal_paths_in_order_never_raise_and_end_reachable(path: list[State]) -> None:
    status = run(*observations_along(path))
    assert status.state is path[-1]
    assert status.state is State.SUBMITTED or reachable(State.SUBMITTED, status.state)
    assert len(status.history) == len(path)


@given(legal_paths(), st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_legal_paths_in_any_order_end_at_the_latest_state(path: list[State],
                                                          rnd: random.Random) -> None:
    observations = observations_along(path)
    shuffled = list(observations)
    rnd.shuffle(shuffled)
    status = run(*shuffled)
    assert status.state is path[-1]
    assert [h.event_id for h in status.history] == [o.event_id for o in observations]


@given(legal_paths())
@settings(max_examples=100)
def test_json_round_trip_equals_the_original(path: list[State]) -> None:
    status = run(*observations_along(path))
    text = json.dumps(status.to_json())
    assert CertificateStatus.from_json(json.loads(text)) == status


def test_json_round_trip_keeps_every_field() -> None:
    status = CertificateStatus(
        application_id=APP, state=State.REJECTED,
        history=(HistoryEntry("e1", "eco.customs.responded.v1", at(0), State.REJECTED, "d"),
                 HistoryEntry("e2", "eco.alert.raised.v1", at(1), None, "alert")),
        certificate_number="E1", importing_country="TH", alerts=("BOX4_REJECTION",),
        reasons=("Box 4 R1: text",), extra={"attempts": 2},
    )
    data = status.to_json()
    assert data["state"] == "REJECTED"
    assert data["history"][1]["state"] is None
    assert CertificateStatus.from_json(data) == status


def versioned(event_id: str, state: State, minutes: int, number: str, version: int
              ) -> Observation:
    return Observation(event_id=event_id, event_type=f"test.{event_id}", at=at(minutes),
                       state=state, certificate_number=number, version=version)


def test_a_new_version_carries_the_application_on_after_it_was_superseded() -> None:
    status = run(
        obs("s", State.SUBMITTED, 0), obs("v", State.VERIFIED, 1),
        versioned("i1", State.ISSUED, 2, "E1", 1),
        versioned("x1", State.SUPERSEDED, 3, "E1", 1),
        versioned("i2", State.ISSUED, 4, "E2", 2),
    )
    assert (status.state, status.certificate_number, status.version) == (State.ISSUED, "E2", 2)
    revoked = advance(status, APP, versioned("r2", State.REVOKED, 5, "E2", 2))
    assert revoked.state is State.REVOKED


def test_an_old_version_issued_again_does_not_reopen_a_superseded_certificate() -> None:
    status = run(
        obs("s", State.SUBMITTED, 0), obs("v", State.VERIFIED, 1),
        versioned("i1", State.ISSUED, 2, "E1", 1),
        versioned("x1", State.SUPERSEDED, 3, "E1", 1),
    )
    replayed = advance(status, APP, versioned("i1-again", State.ISSUED, 4, "E1", 1))
    assert replayed.state is State.SUPERSEDED


def test_a_decision_follows_a_delivery_stamped_after_it() -> None:
    """A worker killed between its call to the customs and its delivered event repeats the
    call after the restart: the delivered event is stamped after the decision it caused."""
    status = run(obs("e1", State.SUBMITTED, 0), obs("e2", State.VERIFIED, 1),
                 replace(obs("e3", State.ISSUED, 2), version=1),
                 obs("e5", State.TRANSMITTED, 9),
                 replace(obs("e4", State.ACCEPTED, 5), event_type="eco.customs.responded.v1"))
    assert status.state is State.ACCEPTED
    older = run(obs("e1", State.SUBMITTED, 0), replace(obs("e3", State.ISSUED, 2), version=2),
                obs("e5", State.TRANSMITTED, 9),
                replace(obs("e4", State.ACCEPTED, 5), version=1,
                        event_type="eco.customs.responded.v1"))
    assert older.state is State.TRANSMITTED, "a decision on v1 does not settle v2"
