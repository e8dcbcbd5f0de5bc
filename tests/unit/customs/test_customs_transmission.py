"""The transmission stage's pure transitions (pipeline.stages.transmission.decide), driven
through a simulated clock: bounded retries while the circuit is closed, holding while it is
open, the manual channel after too long, refusals and technical rejections, concurrency bounds,
and deterministic back-off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.customs.circuit import CircuitBreaker
from connectors.customs.protocol import Receipt
from pipeline.events import Envelope, new_envelope
from pipeline.stages.transmission import (
    ALERT,
    DELIVERED,
    FAILED,
    FALLBACK,
    Answer,
    Arrived,
    Attempted,
    DeliveryPolicy,
    Due,
    NoAnswer,
    PendingDelivery,
    Publish,
    Refused,
    admission,
    decide,
)

DELIVERY = PendingDelivery("certificate", "A-1", "E26", 1, "VN", "<Certificate/>", "ev-1")
CLARIFICATION = replace(DELIVERY, kind="clarification", body="cost statement attached")
ACK = Receipt("VN-1", "ACKNOWLEDGED")
POLICY = DeliveryPolicy(retry_attempts=3, retry_backoff=0.5, fallback_after=60.0, in_flight=2)
T0 = 1_000_000.0


def circuit(failures: int = 5, reset: float = 2.0) -> CircuitBreaker:
    return CircuitBreaker(failures, reset)


def journey(answers: Sequence[Answer], policy: DeliveryPolicy = POLICY,
            breaker: CircuitBreaker | None = None, delivery: PendingDelivery = DELIVERY,
            ) -> tuple[list[Publish], list[str], CircuitBreaker, int]:
    """Run one delivery through decide as the runner would: arrival, then due/attempt until it
    leaves the schedule; ``answers`` are the customs' answers in order (then ACK)."""
    now, state = T0, breaker or circuit()
    pending = iter(answers)
    step = decide(state, Arrived(delivery, connected=True), now, policy)
    outputs, notes, attempts = list(step.outputs), [n.event for n in step.notes], 0
    while step.scheduled is not None:
        waiting = step.scheduled
        now = max(now, waiting.due)
        due = decide(state, Due(waiting, 0), now, policy)
        outputs += due.outputs
        if due.scheduled is None:
            break
        if not due.send:
            now = max(now + 0.25, state.retry_at)  # the runner looks again later
            step = due
            continue
        attempts += 1
        step = decide(state, Attempted(waiting, next(pending, ACK)), now, policy)
        state = step.circuit
        outputs += step.outputs
        notes += [n.event for n in step.notes]
    return outputs, notes, state, attempts


def test_a_closed_circuit_retries_a_bounded_number_of_times() -> None:
    outputs, notes, state, attempts = journey([NoAnswer("503")] * 3)
    [failed] = outputs
    assert attempts == 3 and failed.ce_type == FAILED
    assert str(failed.data["reason"]).startswith("no answer after 3 attempts: 503")
    assert notes.count("transmission_retry") == 2 and not state.is_open


def test_an_open_circuit_holds_the_delivery_until_a_probe_gets_through() -> None:
    outputs, notes, state, attempts = journey([NoAnswer("down")] * 4, breaker=circuit(2))
    [delivered] = outputs
    assert delivered.ce_type == DELIVERED and delivered.data["attempts"] == 5 == attempts
    assert notes.count("customs_circuit_opened") == 1
    assert notes.count("customs_circuit_closed") == 1
    assert "transmission_held" in notes and not state.is_open


def test_a_circuit_open_past_its_time_sends_to_the_manual_channel() -> None:
    outputs, _, state, attempts = journey([NoAnswer("down")] * 1000, breaker=circuit(1),
                                          policy=replace(POLICY, fallback_after=10.0))
    [fallback] = outputs
    assert fallback.ce_type == FALLBACK and state.is_open and attempts >= 2
    assert "circuit of VN customs has been open" in str(fallback.data["reason"])


def test_a_refusal_is_final_and_proves_the_endpoint_up() -> None:
    outputs, _, state, attempts = journey([NoAnswer("503"), Refused("422 bad")])
    [failed] = outputs
    assert attempts == 2 and failed.ce_type == FAILED and state.failures == 0
    assert "refused by the customs endpoint: 422 bad" in str(failed.data["reason"])


def test_a_technical_rejection_fails_at_once() -> None:
    outputs, _, _, attempts = journey([Receipt("VN-9", "TECH_REJECTED", "schema")])
    assert attempts == 1 and [o.ce_type for o in outputs] == [FAILED]
    assert str(outputs[0].data["reason"]) == "technical rejection: schema"


def test_a_country_without_a_connection_goes_to_the_manual_channel_at_once() -> None:
    step = decide(circuit(), Arrived(DELIVERY, connected=False), T0, POLICY)
    assert step.scheduled is None and step.outcome == "fallback"
    [fallback] = step.outputs
    assert fallback.ce_type == FALLBACK
    assert fallback.id_parts == ("A-1", "E26", "1", "fallback")
    clarification = decide(circuit(), Arrived(CLARIFICATION, connected=False), T0, POLICY)
    [alert] = clarification.outputs
    assert alert.ce_type == ALERT and alert.data["kind"] == "FALLBACK_MANUAL"
    assert alert.id_parts == ("A-1", "FALLBACK_MANUAL", "ev-1")


def test_a_clarification_that_cannot_be_delivered_raises_transmission_failed() -> None:
    outputs, _, _, _ = journey([Refused("409")], delivery=CLARIFICATION)
    [alert] = outputs
    assert alert.ce_type == ALERT and alert.data["kind"] == "TRANSMISSION_FAILED"
    delivered, _, _, _ = journey([], delivery=CLARIFICATION)
    assert delivered == [], "a delivered clarification publishes nothing"


def test_in_flight_deliveries_are_bounded_per_country_and_one_probe_at_a_time() -> None:
    waiting = replace(DELIVERY, due=T0)
    assert decide(circuit(), Due(waiting, 1), T0, POLICY).send
    assert not decide(circuit(), Due(waiting, 2), T0, POLICY).send
    half_open = CircuitBreaker(1, 2.0, failures=1, open_since=T0 - 5, retry_at=T0 - 1)
    assert decide(half_open, Due(waiting, 0), T0, POLICY).send
    held = decide(half_open, Due(waiting, 1), T0, POLICY)
    assert not held.send and held.scheduled == waiting, "a second probe waits"


def test_the_arrival_enters_the_schedule_due_now() -> None:
    step = decide(circuit(), Arrived(DELIVERY, connected=True), T0, POLICY)
    assert step.scheduled == replace(DELIVERY, due=T0) and step.outputs == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["none", "refused", "ack", "tech"]), max_size=12),
       st.integers(min_value=1, max_value=6))
def test_every_delivery_ends_with_exactly_one_outcome_and_a_replay_gives_the_same(
    script: list[str], threshold: int,
) -> None:
    answers: list[Answer] = [
        {"none": NoAnswer("503"), "refused": Refused("422"), "ack": ACK,
         "tech": Receipt("VN-2", "TECH_REJECTED")}[word] for word in script]
    first = journey(answers, breaker=circuit(threshold))
    again = journey(answers, breaker=circuit(threshold))
    assert first == again, "time and answers decide everything: a replay is identical"
    outputs = first[0]
    assert len(outputs) == 1 and outputs[0].ce_type in {DELIVERED, FAILED, FALLBACK}


def test_deliveries_round_trip_through_the_schedule_json() -> None:
    waiting = replace(DELIVERY, attempts=2, due=T0 + 1.5, traceparent="00-ab-cd-01")
    assert PendingDelivery.from_json(waiting.to_json()) == waiting
    opened = CircuitBreaker(2, 3.0, failures=4, open_since=T0, retry_at=T0 + 3)
    assert CircuitBreaker.from_json(opened.to_json()) == opened


def test_a_long_open_circuit_still_lets_a_probe_through_before_the_manual_channel() -> None:
    long_open = CircuitBreaker(1, 2.0, failures=9, open_since=T0 - 600, retry_at=T0 - 1)
    waiting = replace(DELIVERY, due=T0)
    assert decide(long_open, Due(waiting, 0), T0, POLICY).send, "the endpoint may be back"
    refused = decide(long_open, Due(waiting, 1), T0, POLICY)
    assert [o.ce_type for o in refused.outputs] == [FALLBACK], "refused by the circuit: manual"
    failed = decide(long_open, Attempted(waiting, NoAnswer("down")), T0, POLICY)
    assert failed.scheduled is not None and failed.scheduled.due == T0, "due at once, and"
    again = decide(failed.circuit, Due(failed.scheduled, 0), T0, POLICY)
    assert [o.ce_type for o in again.outputs] == [FALLBACK], "the probe failed: manual channel"


def test_an_issued_certificate_and_a_clarification_become_deliveries_nothing_else() -> None:
    from datetime import UTC, datetime

    from pipeline import events
    from pipeline.stages.transmission import pending_delivery

    at = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
    clarified = events.new_envelope("eco.certificate.clarified.v1", {
        "application_id": "A-1", "certificate_number": "E26", "version": 2,
        "importing_country": "TH", "answers": "BOX4_REJECTION", "responding_to": "R1",
        "explanation": "cost statement attached", "approved_by": "Officer Chen",
        "clarified_at": at}, source="eco/cli", subject="A-1")
    delivery = pending_delivery(clarified)
    assert delivery is not None and delivery.kind == "clarification"
    assert (delivery.importing_country, delivery.version, delivery.body) == (
        "TH", 2, "cost statement attached")
    assert delivery.source_event_id == clarified.id
    fallback = events.new_envelope(FALLBACK, {
        "application_id": "A-1", "certificate_number": "E26", "version": 1,
        "importing_country": "ID", "reason": "manual", "routed_at": at},
        source="eco/transmission", subject="A-1")
    assert pending_delivery(fallback) is None, "the stage ignores its own outputs"


def _issued(version: int, event_id: str = "ev-issued") -> Envelope:
    return new_envelope(
        "eco.certificate.issued.v1",
        {"application_id": "A-1", "certificate_number": "E26", "version": version,
         "importing_country": "VN", "document_xml": "<Certificate/>"},
        source="eco/issuance", subject="A-1", id=event_id)


def test_admission_admits_each_version_once_and_ignores_other_events() -> None:
    state, first = admission({}, _issued(1))
    assert first is not None and first.version == 1 and state == {"certificate": 1}
    again, replayed = admission(state, _issued(1, "ev-issued-redelivered"))
    assert replayed is None and again == state  # a redelivery is not delivered twice
    later, second = admission(state, _issued(2, "ev-v2"))
    assert second is not None and later == {"certificate": 2}
    other = new_envelope("eco.transmission.delivered.v1", {"application_id": "A-1"},
                         source="eco/transmission", subject="A-1")
    assert admission(later, other) == (later, None)
