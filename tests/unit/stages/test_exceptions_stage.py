"""The exceptions transition: a response deadline per delivered version, one alert per
deadline however often its due event comes, and a due event that fails marked done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.customs.box4 import box4_code_list
from pipeline.events import Envelope, new_envelope
from pipeline.stages import Emit
from pipeline.stages.exceptions import Deadlines, Watch, decide, due_events, on_failure

AT = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
DEADLINES = Deadlines(lambda country: 3600.0, lambda agreement: 90 * 86400.0, 14 * 86400.0)
CODES = box4_code_list()


def delivered(version: int, number: str = "E26380000005") -> Envelope:
    return new_envelope("eco.transmission.delivered.v1", {
        "application_id": "app-1", "certificate_number": f"{number}{version:04d}",
        "version": version, "importing_country": "VN", "channel": "direct:VN", "attempts": 1,
        "receipt_id": "r", "delivered_at": AT}, source="eco/transmission", subject="app-1")


def step(watch: Watch, event: Envelope) -> Any:
    return decide(watch, event, AT, DEADLINES, CODES)


def test_each_delivered_version_gets_its_own_response_deadline() -> None:
    first = step(Watch(), delivered(1)).state
    assert first.response["version"] == 1
    assert step(first, delivered(1)).state == first  # a redelivered event changes nothing
    second = step(first, delivered(2)).state
    assert second.response["version"] == 2 and second.response["alerted"] is False
    assert step(second, delivered(1)).state == second  # an older version's late delivery


def test_a_due_deadline_raises_one_alert_and_is_not_due_again() -> None:
    watch = step(Watch(), delivered(1)).state
    later = (AT + timedelta(hours=2)).timestamp()
    [due] = due_events("app-1", watch, later, DEADLINES.warning)
    raised = step(watch, due)
    [alert] = raised.outputs
    assert isinstance(alert, Emit) and alert.envelope.data["kind"] == "RESPONSE_TIMEOUT"
    again = step(raised.state, due)
    assert again.outputs == () and due_events("app-1", raised.state, later, 0) == []
    assert step(Watch(), due).outputs == ()  # nothing awaited: nothing to say


def test_a_due_event_that_cannot_be_processed_is_marked_done_and_dead_lettered() -> None:
    watch = step(Watch(), delivered(1)).state
    [due] = due_events("app-1", watch, (AT + timedelta(hours=2)).timestamp(), 0)
    failed = on_failure(watch, due, "the alert does not fit its schema")
    assert failed is not None and failed.dead_letter == "the alert does not fit its schema"
    assert due_events("app-1", failed.state, (AT + timedelta(days=1)).timestamp(), 0) == []
    assert on_failure(watch, delivered(2), "x") is None  # other events: the frame decides


def test_a_decision_closes_the_deadline_and_a_refusal_raises_box4() -> None:
    watch = step(Watch(), delivered(1)).state
    refused = new_envelope("eco.customs.responded.v1", {
        "application_id": "app-1", "certificate_number": watch.response["certificate_number"],
        "version": 1, "importing_country": "VN", "response_id": "x1",
        "status": "PREFERENCE_NOT_GIVEN", "box4_reasons": [{"code": "B1", "text": "value"}],
        "message": None, "responded_at": AT}, source="eco/customs/VN", subject="app-1")
    result = step(watch, refused)
    assert result.state.response["decided"] is True
    [alert] = result.outputs
    assert isinstance(alert, Emit) and alert.envelope.data["kind"] == "BOX4_REJECTION"
    assert due_events("app-1", result.state, (AT + timedelta(days=1)).timestamp(), 0) == []
