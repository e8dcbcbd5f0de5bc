"""The exceptions stage's decision: clearance-exception alerts and the deadlines behind them.

It raises BOX4_REJECTION when the importing customs refuses preference (with the suggested
fix of each reason from the Box 4 code list), TRANSMISSION_FAILED and FALLBACK_MANUAL from
transmission, RESPONSE_TIMEOUT when no decision arrives before the country's deadline (again
after a clarification), and VERIFICATION_DEADLINE before and when the reply time of a
verification request passes (RCEP Article 3.24, ACFTA Form E Rule 18).

The state of one application is its response deadline and its verification deadline. The
deadline timer (:func:`due_events`) turns passed deadlines into ``eco.deadline.due.v1``
events that come back through Kafka to :func:`decide`, which raises the alert (its id derives
from the certificate, so a replay raises it once) and marks the deadline done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from pipeline import events
from pipeline.events import Envelope
from pipeline.stages import Emit, Note, Transition, unchanged
from pipeline.stages.alerts import alert, derived_id

DUE = "eco.deadline.due.v1"
ISSUED = "eco.certificate.issued.v1"
DELIVERED = "eco.transmission.delivered.v1"
CLARIFIED = "eco.certificate.clarified.v1"
FAILED = "eco.transmission.failed.v1"
FALLBACK = "eco.transmission.fallback.v1"
RESPONDED = "eco.customs.responded.v1"
DECIDED = {"PREFERENCE_GIVEN", "PREFERENCE_NOT_GIVEN", "VERIFICATION_REQUESTED"}
DAY = 86400.0
STAGE = "exceptions"


class Box4Codes(Protocol):
    def classify(self, country: str, code: str) -> Any: ...
    def suggested_action(self, country: str, codes: Any) -> str: ...


@dataclass(frozen=True)
class Deadlines:
    """How long each party has: the importing customs to decide, the issuing side to reply
    to a verification request, and how early the reply's warning comes."""

    response_for: Callable[[str], float]
    verification_for: Callable[[str], float]
    warning: float


@dataclass(frozen=True)
class Watch:
    """What the stage watches for one application: the response deadline of the delivered
    certificate and the verification request's reply deadline (plain JSON records)."""

    response: Mapping[str, Any] | None = None
    verification: Mapping[str, Any] | None = None


def decide(watch: Watch, event: Envelope, now: datetime, deadlines: Deadlines,
           codes: Box4Codes) -> Transition[Watch]:
    """Apply one event of ``eco.issuance``, ``eco.transmission``, ``eco.customs-response`` or
    ``eco.deadlines`` to the application's watch."""
    d = event.data
    app_id = event.subject
    number, country = d.get("certificate_number"), d.get("importing_country")
    if event.type == ISSUED:
        return Transition(replace(watch, verification={**(watch.verification or {}),
                                                       "agreement": d.get("agreement")}))
    if event.type == DELIVERED:
        return _delivered(watch, event, deadlines)
    if event.type == CLARIFIED:
        return _clarified(watch, event, deadlines)
    if event.type == FAILED:
        return _alerting(watch, alert(
            STAGE, app_id, "TRANSMISSION_FAILED", "CRITICAL",
            summary=f"certificate {number} could not be delivered to {country}: {d['reason']}",
            action="Check the customs endpoint and its circuit; the certificate can be "
            "sent through the manual channel meanwhile.",
            dedup=event.id, now=now, certificate_number=number, country=country))
    if event.type == FALLBACK:
        return _alerting(watch, alert(
            STAGE, app_id, "FALLBACK_MANUAL", "WARNING",
            summary=f"certificate {number} for {country} went to the manual channel: "
            f"{d['reason']}",
            action="Send the signed certificate to the importer through the traditional "
            "channel and record the customs decision by hand.",
            dedup=event.id, now=now, certificate_number=number, country=country))
    if event.type == RESPONDED:
        return _responded(watch, event, now, deadlines, codes)
    if event.type == DUE and d["kind"] == "VERIFICATION_DEADLINE":
        return _verification_due(watch, event, now)
    if event.type == DUE:
        return _response_due(watch, event, now)
    return unchanged(watch)


def on_failure(watch: Watch, event: Envelope, reason: str) -> Transition[Watch] | None:
    """A due event that cannot be processed is marked done with the reason and dead-lettered
    once, so the timer does not send it again on every tick."""
    if event.type != DUE:
        return None
    if event.data["kind"] == "VERIFICATION_DEADLINE" and watch.verification:
        flag = ("passed" if event.data["due_at"].timestamp()
                >= watch.verification["deadline"] - 0.01 else "warned")
        marked = replace(watch, verification={**watch.verification, flag: True,
                                              "failed": reason})
    elif watch.response:
        marked = replace(watch, response={**watch.response, "alerted": True, "failed": reason})
    else:
        return None
    return Transition(marked, dead_letter=reason)


def _alerting(watch: Watch, raised: tuple[Emit, Note]) -> Transition[Watch]:
    return Transition(watch, outputs=(raised[0],), notes=(raised[1],))


def _delivered(watch: Watch, event: Envelope, deadlines: Deadlines) -> Transition[Watch]:
    d = event.data
    entry = watch.response
    same = entry is not None and (entry["certificate_number"], entry["version"]) == (
        d["certificate_number"], d["version"])
    if same or (entry and int(entry["version"]) > int(d["version"])):
        return unchanged(watch)
    # A first delivery, or that of a new version (Rule 10): its own deadline starts.
    deadline = d["delivered_at"].timestamp() + deadlines.response_for(str(d["importing_country"]))
    return Transition(
        replace(watch, response={
            "certificate_number": d["certificate_number"], "version": d["version"],
            "country": d["importing_country"], "deadline": deadline, "alerted": False,
            "decided": False, "round": 1}),
        notes=(Note("response_deadline_set", fields={
            "country": d["importing_country"], "version": d["version"],
            "deadline": datetime.fromtimestamp(deadline, UTC).isoformat()}),))


def _clarified(watch: Watch, event: Envelope, deadlines: Deadlines) -> Transition[Watch]:
    """A clarification went out: the customs decides again (Form E Rule 8(f)), so a new response
    deadline starts; a reply to a verification request closes its reply deadline."""
    d = event.data
    verification = watch.verification
    if d["answers"] == "VERIFICATION_REQUEST" and verification:
        verification = {**verification, "replied": True}
    entry = watch.response
    if not entry:
        return Transition(replace(watch, verification=verification))
    deadline = d["clarified_at"].timestamp() + deadlines.response_for(str(entry["country"]))
    if entry.get("clarified_id") == event.id:
        return Transition(replace(watch, verification=verification))
    response = {**entry, "deadline": deadline, "alerted": False, "decided": False,
                "round": int(entry.get("round", 1)) + 1, "clarified_id": event.id}
    return Transition(Watch(response, verification), notes=(Note(
        "response_deadline_set", fields={
            "country": entry["country"], "after": "clarification",
            "deadline": datetime.fromtimestamp(deadline, UTC).isoformat()}),))


def _response_due(watch: Watch, event: Envelope, now: datetime) -> Transition[Watch]:
    entry = watch.response
    if not entry or event.data["due_at"].timestamp() < entry["deadline"] - 0.01:
        return unchanged(watch)
    if entry["alerted"] or entry["decided"]:
        return unchanged(watch)
    emit, note = alert(
        STAGE, event.subject, "RESPONSE_TIMEOUT", "WARNING",
        summary=f"no decision from {entry['country']} customs on certificate "
        f"{entry['certificate_number']} before its deadline",
        action="Ask the importer whether the goods were declared; contact the importing "
        "customs; check the connector's response channel.",
        dedup=round_key(entry), now=now,
        certificate_number=entry["certificate_number"], country=entry["country"])
    return Transition(replace(watch, response={**entry, "alerted": True}),
                      outputs=(emit,), notes=(note,))


def _verification_due(watch: Watch, event: Envelope, now: datetime) -> Transition[Watch]:
    entry = watch.verification
    if not entry or "deadline" not in entry or entry.get("replied"):
        return unchanged(watch)
    passed = event.data["due_at"].timestamp() >= entry["deadline"] - 0.01
    flag = "passed" if passed else "warned"
    if entry.get(flag):
        return unchanged(watch)
    number, version, country = entry["certificate_number"], entry["version"], entry["country"]
    due = datetime.fromtimestamp(entry["deadline"], UTC)
    left = max(entry["deadline"] - event.data["due_at"].timestamp(), 0.0) / DAY
    emit, note = alert(
        STAGE, event.subject, "VERIFICATION_DEADLINE", "CRITICAL" if passed else "WARNING",
        summary=f"the reply to {country} customs' verification request on certificate {number} "
        + (f"was due on {due:%Y-%m-%d %H:%M} UTC and was not sent" if passed
           else f"is due on {due:%Y-%m-%d %H:%M} UTC ({left:.1f} days left)"),
        action="Collect the exporter's records and send the reply with `eco clarify "
        f"{event.subject} --explanation ... --approved-by ...`"
        + ("; without a reply the customs may deny preference." if passed else "."),
        dedup=f"{number}:{version}:{'passed' if passed else 'warning'}", now=now,
        certificate_number=number, country=country)
    return Transition(replace(watch, verification={**entry, flag: True}),
                      outputs=(emit,), notes=(note,))


def _responded(watch: Watch, event: Envelope, now: datetime, deadlines: Deadlines,
               codes: Box4Codes) -> Transition[Watch]:
    d = event.data
    app_id = event.subject
    status, country, number = d["status"], d["importing_country"], d["certificate_number"]
    entry = watch.response
    if status in DECIDED and entry and not entry["decided"]:
        watch = replace(watch, response={**entry, "decided": True})
    if status == "VERIFICATION_REQUESTED":
        known = dict(watch.verification or {})
        if "deadline" in known:
            return Transition(watch)
        agreement = str(known.get("agreement") or "")
        deadline = d["responded_at"].timestamp() + deadlines.verification_for(agreement)
        return Transition(
            replace(watch, verification={
                **known, "certificate_number": number, "version": d["version"],
                "country": country, "deadline": deadline, "warned": False, "passed": False,
                "replied": False}),
            notes=(Note("verification_deadline_set", fields={
                "country": country, "agreement": agreement,
                "deadline": datetime.fromtimestamp(deadline, UTC).isoformat()}),))
    if status == "PREFERENCE_NOT_GIVEN":
        given = d.get("box4_reasons", [])
        reasons = "; ".join(
            f"{r['code']} ({codes.classify(country, r['code']).code}): {r['text']}"
            for r in given)
        fixes = codes.suggested_action(country, [r["code"] for r in given])
        emit, note = alert(
            STAGE, app_id, "BOX4_REJECTION", "CRITICAL",
            summary=f"{country} customs refused preference for certificate {number} (Box 4): "
            f"{reasons or 'no reason given'}",
            action=f"{fixes} Then send the clarification with `eco clarify {app_id} "
            "--explanation ... --approved-by ...` (Form E Rule 8) or issue a corrected version.",
            dedup=event.id, now=now, certificate_number=number, country=country)
        return Transition(watch, outputs=(emit,), notes=(note,))
    if status == "TECH_REJECTED":
        emit, note = alert(
            STAGE, app_id, "TRANSMISSION_FAILED", "CRITICAL",
            summary=f"{country} customs rejected certificate {number} technically: "
            f"{d.get('message') or ''}",
            action="Check the signature and the schema of the certificate, then resend.",
            dedup=event.id, now=now, certificate_number=number, country=country)
        return Transition(watch, outputs=(emit,), notes=(note,))
    return Transition(watch)


def round_key(entry: Mapping[str, Any]) -> str:
    """The response deadline's identity: the certificate version, and the round after a
    clarification (the first round keeps the plain key)."""
    key = f"{entry['certificate_number']}:{entry['version']}"
    return key if entry.get("round", 1) == 1 else f"{key}:round-{entry['round']}"


def due_events(app_id: str, watch: Watch, now: float, warning: float) -> list[Envelope]:
    """The ``eco.deadline.due.v1`` events of the deadlines of ``watch`` that are due at ``now``."""
    due: list[Envelope] = []
    entry = watch.response
    if entry and not entry.get("alerted") and not entry.get("decided") and (
            entry["deadline"] <= now):
        due.append(_due(app_id, "RESPONSE_TIMEOUT", entry, entry["deadline"], round_key(entry)))
    entry = watch.verification
    if entry and "deadline" in entry and not entry.get("replied"):
        warn_at = entry["deadline"] - warning
        if not entry.get("warned") and warn_at <= now < entry["deadline"]:
            due.append(_due(app_id, "VERIFICATION_DEADLINE", entry, warn_at, "warning"))
        elif not entry.get("passed") and entry["deadline"] <= now:
            due.append(_due(app_id, "VERIFICATION_DEADLINE", entry, entry["deadline"], "passed"))
    return due


def pending_response(watch: Watch) -> bool:
    """Whether the application still waits for the customs' decision."""
    entry = watch.response
    return bool(entry) and not entry.get("alerted") and not entry.get("decided")  # type: ignore[union-attr]


def _due(app_id: str, kind: str, entry: Mapping[str, Any], at: float, which: str) -> Envelope:
    """The event saying a deadline is due; its id names the deadline, so a resend is the same."""
    number, version = entry["certificate_number"], str(entry["version"])
    first_response_round = kind == "RESPONSE_TIMEOUT" and entry.get("round", 1) == 1
    parts = (app_id, "due", number, version) if first_response_round else (
        app_id, "due", kind, number, version, which)
    return events.new_envelope(
        DUE,
        {"application_id": app_id, "kind": kind, "certificate_number": number,
         "version": entry["version"], "due_at": datetime.fromtimestamp(at, UTC)},
        source="eco/exceptions", subject=app_id, id=derived_id(*parts),
    )


def next_due(watch: Watch, warning: float) -> float | None:
    """When the earliest pending deadline of ``watch`` falls due (None: nothing pending)."""
    times: list[float] = []
    entry = watch.response
    if entry and not entry.get("alerted") and not entry.get("decided"):
        times.append(float(entry["deadline"]))
    entry = watch.verification
    if entry and "deadline" in entry and not entry.get("replied"):
        if not entry.get("warned"):
            times.append(float(entry["deadline"]) - warning)
        elif not entry.get("passed"):
            times.append(float(entry["deadline"]))
    return min(times) if times else None
