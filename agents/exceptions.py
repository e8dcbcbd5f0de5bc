"""Exceptions stage: clearance-exception alerts.

It raises BOX4_REJECTION when the importing customs refuses preference (with the suggested fix
of each reason from the Box 4 code list), TRANSMISSION_FAILED and FALLBACK_MANUAL from
transmission, RESPONSE_TIMEOUT when no decision arrives before the country's deadline (again
after a clarification), and VERIFICATION_DEADLINE before and when the reply time of a
verification request passes (RCEP Article 3.24, ACFTA Form E Rule 18). Deadlines live in
Kafka-backed tables: a timer finds the ones that are due and sends an ``eco.deadline.due.v1``
event through Kafka to this same stage, which raises the alert (with an id derived from the
certificate, so a replay raises it once) and marks the deadline done.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import faust

from agents.alerts import raise_alert
from agents.frame import StageContext, derived_id, install_stage, json_table, raw_topic
from connectors.customs.box4 import box4_code_list
from pipeline import events
from pipeline.deadlines import response_deadline_on_delivery
from pipeline.events import Envelope
from pipeline.metrics import AWAITING_RESPONSES
from pipeline.settings import Settings

DEADLINE_TOPIC = "eco.deadlines"
DUE = "eco.deadline.due.v1"
DECIDED = {"PREFERENCE_GIVEN", "PREFERENCE_NOT_GIVEN", "VERIFICATION_REQUESTED"}
DAY = 86400.0


def install(app: faust.App, settings: Settings) -> None:
    awaiting = json_table(app, settings, "exceptions-awaiting", dict)
    verifying = json_table(app, settings, "exceptions-verification", dict)

    async def watch(envelope: Envelope, ctx: StageContext) -> None:
        d: dict[str, Any] = envelope.data
        app_id = envelope.subject
        number = d.get("certificate_number")
        country = d.get("importing_country")
        if envelope.type == "eco.certificate.issued.v1":
            verifying[app_id] = {**verifying[app_id], "agreement": d.get("agreement")}
        elif envelope.type == "eco.transmission.delivered.v1":
            entry = response_deadline_on_delivery(
                awaiting[app_id], certificate_number=str(number), version=int(d["version"]),
                country=str(country), delivered_at=d["delivered_at"].timestamp(),
                allowed=settings.deadline_for(str(country)))
            if entry is not None:  # the first delivery, or a superseding version's
                awaiting[app_id] = entry
                ctx.log.info("response_deadline_set", country=country, version=d["version"],
                             deadline=datetime.fromtimestamp(entry["deadline"], UTC).isoformat())
        elif envelope.type == "eco.certificate.clarified.v1":
            _on_clarified(envelope, ctx, awaiting, verifying, settings)
        elif envelope.type == "eco.transmission.failed.v1":
            await raise_alert(
                ctx, app_id, "TRANSMISSION_FAILED", "CRITICAL",
                summary=f"certificate {number} could not be delivered to {country}: "
                f"{d['reason']}",
                action="Check the customs endpoint and its circuit; the certificate can be "
                "sent through the manual channel meanwhile.",
                dedup=envelope.id, certificate_number=number, country=country)
        elif envelope.type == "eco.transmission.fallback.v1":
            await raise_alert(
                ctx, app_id, "FALLBACK_MANUAL", "WARNING",
                summary=f"certificate {number} for {country} went to the manual channel: "
                f"{d['reason']}",
                action="Send the signed certificate to the importer through the traditional "
                "channel and record the customs decision by hand.",
                dedup=envelope.id, certificate_number=number, country=country)
        elif envelope.type == "eco.customs.responded.v1":
            await _on_response(envelope, ctx, awaiting, verifying, settings)
        elif envelope.type == DUE and d["kind"] == "VERIFICATION_DEADLINE":
            await _on_verification_due(envelope, ctx, verifying)
        elif envelope.type == DUE:
            entry = dict(awaiting[app_id])
            current = entry and d["due_at"].timestamp() >= entry["deadline"] - 0.01
            if current and not entry["alerted"] and not entry["decided"]:
                await raise_alert(
                    ctx, app_id, "RESPONSE_TIMEOUT", "WARNING",
                    summary=f"no decision from {entry['country']} customs on certificate "
                    f"{entry['certificate_number']} before its deadline",
                    action="Ask the importer whether the goods were declared; contact the "
                    "importing customs; check the connector's response channel.",
                    dedup=_round_key(entry),
                    certificate_number=entry["certificate_number"], country=entry["country"])
                awaiting[app_id] = {**entry, "alerted": True}

    @app.timer(settings.deadline_check_every, name="eco.exceptions.deadlines")  # type: ignore[untyped-decorator]
    async def check_deadlines() -> None:
        """Find due deadlines on this worker's partitions and send them through Kafka."""
        now = time.time()
        pending = 0
        due: list[Envelope] = []
        for app_id, entry in list(awaiting.items()):
            if not entry or entry.get("alerted") or entry.get("decided"):
                continue
            pending += 1
            if entry["deadline"] <= now:
                due.append(_due(app_id, "RESPONSE_TIMEOUT", entry, entry["deadline"],
                                _round_key(entry)))
        for app_id, entry in list(verifying.items()):
            if not entry or "deadline" not in entry or entry.get("replied"):
                continue
            warn_at = entry["deadline"] - settings.verification_warning
            if not entry.get("warned") and warn_at <= now < entry["deadline"]:
                due.append(_due(app_id, "VERIFICATION_DEADLINE", entry, warn_at, "warning"))
            elif not entry.get("passed") and entry["deadline"] <= now:
                due.append(_due(app_id, "VERIFICATION_DEADLINE", entry, entry["deadline"],
                                "passed"))
        topic = raw_topic(app, DEADLINE_TOPIC)
        for envelope in due:
            key, value, headers = events.to_record(envelope)
            await topic.send(key=key, value=value, headers=headers)
        AWAITING_RESPONSES.set(pending)

    install_stage(app, settings, "exceptions",
                  ["eco.issuance", "eco.transmission", "eco.customs-response", DEADLINE_TOPIC],
                  watch)


def _round_key(entry: dict[str, Any]) -> str:
    """The response deadline's identity: the certificate version, and the round after a
    clarification (the first round keeps the plain key)."""
    key = f"{entry['certificate_number']}:{entry['version']}"
    return key if entry.get("round", 1) == 1 else f"{key}:round-{entry['round']}"


def _due(app_id: str, kind: str, entry: dict[str, Any], at: float, which: str) -> Envelope:
    """The event saying a deadline is due; its id names the deadline, so a resend is skipped."""
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


def _on_clarified(envelope: Envelope, ctx: StageContext, awaiting: Any, verifying: Any,
                  settings: Settings) -> None:
    """A clarification went out: the customs decides again (Form E Rule 8(f)), so a new response
    deadline starts; a reply to a verification request closes its reply deadline."""
    d = envelope.data
    app_id = envelope.subject
    if d["answers"] == "VERIFICATION_REQUEST" and verifying[app_id]:
        verifying[app_id] = {**verifying[app_id], "replied": True}
    entry = dict(awaiting[app_id])
    if entry:
        deadline = d["clarified_at"].timestamp() + settings.deadline_for(str(entry["country"]))
        awaiting[app_id] = {**entry, "deadline": deadline, "alerted": False, "decided": False,
                            "round": int(entry.get("round", 1)) + 1}
        ctx.log.info("response_deadline_set", country=entry["country"], after="clarification",
                     deadline=datetime.fromtimestamp(deadline, UTC).isoformat())


async def _on_verification_due(envelope: Envelope, ctx: StageContext, verifying: Any) -> None:
    app_id = envelope.subject
    entry = dict(verifying[app_id])
    if not entry or "deadline" not in entry or entry.get("replied"):
        return
    passed = envelope.data["due_at"].timestamp() >= entry["deadline"] - 0.01
    flag = "passed" if passed else "warned"
    if entry.get(flag):
        return
    number, version, country = entry["certificate_number"], entry["version"], entry["country"]
    due = datetime.fromtimestamp(entry["deadline"], UTC)
    left = max(entry["deadline"] - time.time(), 0.0) / DAY
    await raise_alert(
        ctx, app_id, "VERIFICATION_DEADLINE", "CRITICAL" if passed else "WARNING",
        summary=f"the reply to {country} customs' verification request on certificate {number} "
        + (f"was due on {due:%Y-%m-%d %H:%M} UTC and was not sent" if passed
           else f"is due on {due:%Y-%m-%d %H:%M} UTC ({left:.1f} days left)"),
        action="Collect the exporter's records and send the reply with `eco clarify "
        f"{app_id} --explanation ... --approved-by ...`"
        + ("; without a reply the customs may deny preference." if passed else "."),
        dedup=f"{number}:{version}:{'passed' if passed else 'warning'}",
        certificate_number=number, country=country)
    verifying[app_id] = {**entry, flag: True}


async def _on_response(envelope: Envelope, ctx: StageContext, awaiting: Any, verifying: Any,
                       settings: Settings) -> None:
    d = envelope.data
    app_id = envelope.subject
    status = d["status"]
    country = d["importing_country"]
    entry = dict(awaiting[app_id])
    if status in DECIDED and entry:
        awaiting[app_id] = {**entry, "decided": True}
    if status == "VERIFICATION_REQUESTED":
        known = dict(verifying[app_id])
        if "deadline" not in known:
            agreement = str(known.get("agreement") or "")
            deadline = (d["responded_at"].timestamp()
                        + settings.verification_deadline_for(agreement))
            verifying[app_id] = {**known, "certificate_number": d["certificate_number"],
                                 "version": d["version"], "country": country,
                                 "deadline": deadline, "warned": False, "passed": False,
                                 "replied": False}
            ctx.log.info("verification_deadline_set", country=country, agreement=agreement,
                         deadline=datetime.fromtimestamp(deadline, UTC).isoformat())
    elif status == "PREFERENCE_NOT_GIVEN":
        given = d.get("box4_reasons", [])
        codes = box4_code_list()
        reasons = "; ".join(
            f"{r['code']} ({codes.classify(country, r['code']).code}): {r['text']}"
            for r in given)
        fixes = codes.suggested_action(country, [r["code"] for r in given])
        await raise_alert(
            ctx, app_id, "BOX4_REJECTION", "CRITICAL",
            summary=f"{country} customs refused preference for certificate "
            f"{d['certificate_number']} (Box 4): {reasons or 'no reason given'}",
            action=f"{fixes} Then send the clarification with `eco clarify {app_id} "
            "--explanation ... --approved-by ...` (Form E Rule 8) or issue a corrected version.",
            dedup=envelope.id, certificate_number=d["certificate_number"], country=country)
    elif status == "TECH_REJECTED":
        await raise_alert(
            ctx, app_id, "TRANSMISSION_FAILED", "CRITICAL",
            summary=f"{country} customs rejected certificate "
            f"{d['certificate_number']} technically: {d.get('message') or ''}",
            action="Check the signature and the schema of the certificate, then resend.",
            dedup=envelope.id, certificate_number=d["certificate_number"], country=country)
