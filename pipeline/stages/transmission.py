"""The transmission stage's decisions as pure transitions: no I/O, no clock, no randomness.

A delivery (a signed certificate, or the issuing authority's clarification after a Box 4
marking, Form E Rule 8) meets three kinds of event, each one call of
``decide(circuit, event, now, policy)``:

- ``Arrived``: the stage read it. A country without a direct connection goes to the manual
  channel at once; any other delivery enters the retry schedule, due now.
- ``Due``: its time in the schedule came. The country's circuit says whether it goes out:
  closed with a free slot, or half-open with no other probe under way. A circuit that refuses
  the call holds it, or, once open longer than ``fallback_after``, sends it to the manual
  channel.
- ``Attempted``: the customs answered (a receipt, a refusal) or did not (``NoAnswer``: a
  timeout, a 5xx, no connection). An answer closes the circuit and ends the delivery; no
  answer counts towards the circuit, and the delivery re-enters the schedule (back-off while
  the circuit is closed, held while it is open) or, after ``retry_attempts`` tries with the
  circuit closed, fails.

The ``Transition`` says the country's circuit after the event, the events to publish, and where
the delivery stands in the schedule afterwards (``None``: it left the schedule).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.customs.circuit import CircuitBreaker
from connectors.customs.protocol import Receipt
from pipeline.events import Envelope
from pipeline.settings import Settings

ISSUED = "eco.certificate.issued.v1"
CLARIFIED = "eco.certificate.clarified.v1"
DELIVERED = "eco.transmission.delivered.v1"
FAILED = "eco.transmission.failed.v1"
FALLBACK = "eco.transmission.fallback.v1"
ALERT = "eco.alert.raised.v1"
SOURCE = "eco/transmission"

Kind = Literal["certificate", "clarification"]


@dataclass(frozen=True)
class PendingDelivery:
    """One delivery on its way: what to send, where, and how many tries it has had.

    ``body`` is the signed XML of a certificate or the explanation of a clarification; it
    stays in the schedule only while the delivery is pending.
    """

    kind: Kind
    application_id: str
    certificate_number: str
    version: int
    importing_country: str
    body: str
    source_event_id: str
    traceparent: str | None = None
    attempts: int = 0
    due: float = 0.0
    source: str = ""  # topic:partition:offset of the record that carries the body, if any

    @property
    def delivery_id(self) -> str:
        """One id per certificate version and kind: a redelivered input finds it pending."""
        return f"{self.kind}:{self.application_id}:{self.certificate_number}:{self.version}"

    def without_body(self) -> PendingDelivery:
        """The delivery as the retry schedule keeps it: a certificate's signed XML is in the
        record it came from (``source``), not in the schedule."""
        return replace(self, body="") if self.source else self

    def to_json(self) -> dict[str, Any]:
        """The plain JSON kept in the durable retry schedule."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingDelivery:
        """A delivery read back from ``to_json``'s form."""
        kind: Kind = "clarification" if data["kind"] == "clarification" else "certificate"
        return cls(kind, str(data["application_id"]), str(data["certificate_number"]),
                   int(data["version"]), str(data["importing_country"]), str(data["body"]),
                   str(data["source_event_id"]), data.get("traceparent"),
                   int(data.get("attempts", 0)), float(data.get("due", 0.0)),
                   str(data.get("source") or ""))


def admission(admitted: Mapping[str, Any], envelope: Envelope, source: str = ""
              ) -> tuple[dict[str, int], PendingDelivery | None]:
    """The stage's state for one application: the last version of each kind it admitted. An
    event of a version already admitted (a redelivery after a restart) admits nothing; other
    events (the stage's own outputs it reads back) change nothing. ``source`` is where the
    event's record is (``topic:partition:offset``), which a certificate's body is read back
    from."""
    state = {str(kind): int(version) for kind, version in admitted.items()}
    delivery = pending_delivery(envelope, source)
    if delivery is None or delivery.version <= state.get(delivery.kind, 0):
        return state, None
    return {**state, delivery.kind: delivery.version}, delivery


def pending_delivery(envelope: Envelope, source: str = "") -> PendingDelivery | None:
    """The delivery an issued certificate or a clarification asks for; None for other events
    (the stage also reads its own outputs on ``eco.transmission``)."""
    d = envelope.data
    if envelope.type == ISSUED:
        return PendingDelivery("certificate", envelope.subject, d["certificate_number"],
                               d["version"], d["importing_country"], d["document_xml"],
                               envelope.id, envelope.traceparent, source=source)
    if envelope.type == CLARIFIED:
        return PendingDelivery("clarification", envelope.subject, d["certificate_number"],
                               d["version"], d["importing_country"], d["explanation"],
                               envelope.id, envelope.traceparent)
    return None


@dataclass(frozen=True)
class DeliveryPolicy:
    """The configuration the decisions depend on (from ``Settings``)."""

    retry_attempts: int = 5
    retry_backoff: float = 0.2
    fallback_after: float = 600.0
    in_flight: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(settings.retry_attempts, settings.retry_backoff,
                   settings.circuit_fallback_after, max(settings.customs_in_flight, 1))


@dataclass(frozen=True)
class NoAnswer:
    """The customs did not answer: timeout, 5xx, connection refused (retryable)."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """The customs answered with a final refusal (4xx): the endpoint is up."""

    reason: str


Answer = Receipt | NoAnswer | Refused


@dataclass(frozen=True)
class Arrived:
    """The stage read a delivery; ``connected`` says whether its country has a connector."""

    delivery: PendingDelivery
    connected: bool


@dataclass(frozen=True)
class Due:
    """A delivery's time in the schedule came; ``in_flight`` deliveries to its country are
    under way."""

    delivery: PendingDelivery
    in_flight: int


@dataclass(frozen=True)
class Attempted:
    """The outcome of one attempt of ``delivery`` (as it stood before the attempt)."""

    delivery: PendingDelivery
    answer: Answer


DeliveryEvent = Arrived | Due | Attempted


@dataclass(frozen=True)
class Publish:
    """An event to publish: its id is derived from ``id_parts`` by the stage's wiring."""

    ce_type: str
    subject: str
    data: Mapping[str, Any]
    id_parts: tuple[str, ...]
    traceparent: str | None = None


@dataclass(frozen=True)
class Note:
    """A log line the wiring writes: ``level`` is info, warning or error."""

    event: str
    level: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """What one event does: the circuit after it, events to publish, the schedule entry after
    it (``None``: the delivery left the schedule), whether to make an attempt now, the
    ``eco_transmissions_total`` outcome to count, and log lines."""

    circuit: CircuitBreaker
    outputs: tuple[Publish, ...] = ()
    scheduled: PendingDelivery | None = None
    send: bool = False
    outcome: str | None = None
    notes: tuple[Note, ...] = ()


def decide(circuit: CircuitBreaker, event: DeliveryEvent, now: float,
           policy: DeliveryPolicy) -> Transition:
    """The transition of one delivery event, given its country's circuit; ``now`` is epoch
    seconds."""
    if isinstance(event, Arrived):
        return _arrived(circuit, event, now)
    if isinstance(event, Due):
        return _due(circuit, event, now, policy)
    return _attempted(circuit, event, now, policy)


def _arrived(circuit: CircuitBreaker, event: Arrived, now: float) -> Transition:
    d = event.delivery
    if not event.connected:
        return _to_manual_channel(
            circuit, d, now, f"{d.importing_country} has no direct connection: manual channel")
    return Transition(circuit, scheduled=replace(d, due=now))


def _due(circuit: CircuitBreaker, event: Due, now: float, policy: DeliveryPolicy) -> Transition:
    d = event.delivery
    if circuit.is_open:
        if circuit.allows(now) and event.in_flight == 0:
            return Transition(circuit, scheduled=d, send=True)  # the probe of a half-open circuit
        held = circuit.open_for(now)
        if held >= policy.fallback_after:
            return _to_manual_channel(
                circuit, d, now,
                f"the circuit of {d.importing_country} customs has been open for {held:.0f} s "
                f"(more than {policy.fallback_after:.0f} s): manual channel")
        return Transition(circuit, scheduled=d)  # held: one probe at a time
    if event.in_flight >= policy.in_flight:
        return Transition(circuit, scheduled=d)
    return Transition(circuit, scheduled=d, send=True)


def _attempted(circuit: CircuitBreaker, event: Attempted, now: float,
               policy: DeliveryPolicy) -> Transition:
    d = replace(event.delivery, attempts=event.delivery.attempts + 1)
    answer = event.answer
    if isinstance(answer, NoAnswer):
        return _no_answer(circuit, d, answer, now, policy)
    closed = circuit.succeeded()
    notes = _circuit_notes(circuit, closed, d.importing_country, now)
    if isinstance(answer, Refused):
        return _failed(closed, d, now, f"refused by the customs endpoint: {answer.reason}", notes)
    if answer.status == "TECH_REJECTED":
        return _failed(closed, d, now, f"technical rejection: {answer.message}", notes)
    return _delivered(closed, d, answer, now, notes)


def _no_answer(circuit: CircuitBreaker, d: PendingDelivery, answer: NoAnswer, now: float,
               policy: DeliveryPolicy) -> Transition:
    after = circuit.failed(now)
    notes = _circuit_notes(circuit, after, d.importing_country, now)
    if after.is_open:
        # Held until a probe gets through or the manual channel takes over; not counted against
        # the delivery's own tries, as before: the country is down, not this certificate.
        # Due again at the next probe, or when the manual channel takes over if that is sooner.
        due = max(now, min(after.retry_at, (after.open_since or now) + policy.fallback_after))
        held = Note("transmission_held", "info", {"country": d.importing_country,
                                                  "wait_s": round(due - now, 3)})
        return Transition(after, scheduled=replace(d, due=due), notes=(*notes, held))
    if d.attempts >= policy.retry_attempts:
        return _failed(after, d, now, f"no answer after {d.attempts} attempts: {answer.reason}",
                       notes)
    delay = policy.retry_backoff * (2 ** (d.attempts - 1)) * (1 + jitter(d) / 2)
    retry = Note("transmission_retry", "warning", {"attempt": d.attempts,
                                                   "delay_s": round(delay, 3),
                                                   "reason": answer.reason})
    return Transition(after, scheduled=replace(d, due=now + delay), notes=(*notes, retry))


def jitter(d: PendingDelivery) -> float:
    """A number in [0, 1) fixed by the delivery and its try: back-off without randomness, so a
    replay computes the same due time."""
    digest = hashlib.sha256(f"{d.delivery_id}:{d.attempts}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _circuit_notes(before: CircuitBreaker, after: CircuitBreaker, country: str,
                   now: float) -> tuple[Note, ...]:
    if after.is_open and not before.is_open:
        return (Note("customs_circuit_opened", "warning",
                     {"country": country, "failures": after.failures}),)
    if before.is_open and not after.is_open:
        return (Note("customs_circuit_closed", "info",
                     {"country": country, "open_s": round(before.open_for(now), 3)}),)
    return ()


def _common(d: PendingDelivery) -> dict[str, Any]:
    return {"application_id": d.application_id, "certificate_number": d.certificate_number,
            "version": d.version, "importing_country": d.importing_country}


def _ids(d: PendingDelivery, outcome: str) -> tuple[str, ...]:
    return (d.application_id, d.certificate_number, str(d.version), outcome)


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _delivered(circuit: CircuitBreaker, d: PendingDelivery, receipt: Receipt, now: float,
               notes: tuple[Note, ...]) -> Transition:
    fields = {"country": d.importing_country, "attempts": d.attempts,
              "receipt_id": receipt.receipt_id}
    if d.kind == "clarification":
        return Transition(circuit, outcome="clarification",
                          notes=(*notes, Note("clarification_delivered", "info", fields)))
    event = Publish(DELIVERED, d.application_id, {
        **_common(d), "channel": f"direct:{d.importing_country}", "attempts": d.attempts,
        "receipt_id": receipt.receipt_id, "delivered_at": _at(now)},
        _ids(d, "delivered"), d.traceparent)
    return Transition(circuit, (event,), outcome="delivered",
                      notes=(*notes, Note("transmission_delivered", "info", fields)))


def _failed(circuit: CircuitBreaker, d: PendingDelivery, now: float, reason: str,
            notes: tuple[Note, ...]) -> Transition:
    if d.kind == "clarification":
        alert = alert_event(
            d, "TRANSMISSION_FAILED", "CRITICAL", now,
            summary=f"the clarification on certificate {d.certificate_number} could not be "
            f"delivered to {d.importing_country}: {reason}",
            action="Check the customs endpoint and its circuit; send the clarification "
            "through the manual channel meanwhile.")
        return Transition(circuit, (alert,), notes=notes)
    event = Publish(FAILED, d.application_id, {
        **_common(d), "attempts": d.attempts, "reason": reason, "failed_at": _at(now)},
        _ids(d, "failed"), d.traceparent)
    note = Note("transmission_failed", "error", {"country": d.importing_country,
                                                 "attempts": d.attempts, "reason": reason})
    return Transition(circuit, (event,), outcome="failed", notes=(*notes, note))


def _to_manual_channel(circuit: CircuitBreaker, d: PendingDelivery, now: float,
                       reason: str) -> Transition:
    if d.kind == "clarification":
        if "no direct connection" in reason:
            alert = alert_event(
                d, "FALLBACK_MANUAL", "WARNING", now,
                summary=f"the clarification on certificate {d.certificate_number} cannot go to "
                f"{d.importing_country} electronically: no direct connection",
                action="Send the approved clarification to the importing customs through the "
                "traditional channel and record its decision by hand.")
            return Transition(circuit, (alert,))
        return _failed(circuit, d, now, reason, ())
    event = Publish(FALLBACK, d.application_id, {**_common(d), "reason": reason,
                                                 "routed_at": _at(now)},
                    _ids(d, "fallback"), d.traceparent)
    cause = "no_connection" if "no direct connection" in reason else "circuit_open"
    note = Note("transmission_fallback", "warning", {
        "country": d.importing_country, "certificate_number": d.certificate_number,
        "reason": reason, "cause": cause})
    return Transition(circuit, (event,), outcome="fallback", notes=(note,))


def alert_event(d: PendingDelivery, kind: str, severity: str, now: float, *, summary: str,
                action: str) -> Publish:
    """A clearance-exception alert about ``d``; its id (and ``alert_id``, filled in by the
    wiring) derives from the input event, so a replay raises it once."""
    return Publish(ALERT, d.application_id, {
        "application_id": d.application_id, "certificate_number": d.certificate_number,
        "importing_country": d.importing_country, "kind": kind, "severity": severity,
        "summary": summary, "suggested_action": action, "raised_at": _at(now)},
        (d.application_id, kind, d.source_event_id))
