"""Exceptions stage: clearance-exception alerts.

It raises BOX4_REJECTION when the importing customs refuses preference, TRANSMISSION_FAILED
and FALLBACK_MANUAL from transmission, and RESPONSE_TIMEOUT when no decision arrives before
the country's deadline. Deadlines live in a Kafka-backed table: a timer finds the ones
that passed and sends an ``eco.deadline.due.v1`` event through Kafka to this same stage,
which raises the alert (with an id derived from the certificate, so a replay raises it
once) and marks the deadline done.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import faust

from agents.alerts import raise_alert
from agents.frame import StageContext, derived_id, install_stage, json_table, raw_topic
from pipeline import events
from pipeline.events import Envelope
from pipeline.metrics import AWAITING_RESPONSES
from pipeline.settings import Settings

DEADLINE_TOPIC = "eco.deadlines"
DUE = "eco.deadline.due.v1"
DECIDED = {"PREFERENCE_GIVEN", "PREFERENCE_NOT_GIVEN", "VERIFICATION_REQUESTED"}


def install(app: faust.App, settings: Settings) -> None:
    awaiting = json_table(app, settings, "exceptions-awaiting", dict)

    async def watch(envelope: Envelope, ctx: StageContext) -> None:
        d: dict[str, Any] = envelope.data
        app_id = envelope.subject
        number = d.get("certificate_number")
        country = d.get("importing_country")
        if envelope.type == "eco.transmission.delivered.v1":
            if not awaiting[app_id]:
                deadline = d["delivered_at"].timestamp() + settings.deadline_for(str(country))
                awaiting[app_id] = {"certificate_number": number, "version": d["version"],
                                    "country": country, "deadline": deadline,
                                    "alerted": False, "decided": False}
                ctx.log.info("response_deadline_set", country=country,
                             deadline=datetime.fromtimestamp(deadline, UTC).isoformat())
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
            await _on_response(envelope, ctx, awaiting)
        elif envelope.type == DUE:
            entry = dict(awaiting[app_id])
            if entry and not entry["alerted"] and not entry["decided"]:
                await raise_alert(
                    ctx, app_id, "RESPONSE_TIMEOUT", "WARNING",
                    summary=f"no decision from {entry['country']} customs on certificate "
                    f"{entry['certificate_number']} before its deadline",
                    action="Ask the importer whether the goods were declared; contact the "
                    "importing customs; check the connector's response channel.",
                    dedup=f"{entry['certificate_number']}:{entry['version']}",
                    certificate_number=entry["certificate_number"], country=entry["country"])
                awaiting[app_id] = {**entry, "alerted": True}

    @app.timer(settings.deadline_check_every, name="eco.exceptions.deadlines")  # type: ignore[untyped-decorator]
    async def check_deadlines() -> None:
        """Find passed deadlines on this worker's partitions and send them through Kafka."""
        now = time.time()
        pending = 0
        topic = raw_topic(app, DEADLINE_TOPIC)
        for app_id, entry in list(awaiting.items()):
            if not entry or entry.get("alerted") or entry.get("decided"):
                continue
            pending += 1
            if entry["deadline"] > now:
                continue
            due = events.new_envelope(
                DUE,
                {"application_id": app_id, "kind": "RESPONSE_TIMEOUT",
                 "certificate_number": entry["certificate_number"],
                 "version": entry["version"],
                 "due_at": datetime.fromtimestamp(entry["deadline"], UTC)},
                source="eco/exceptions", subject=app_id,
                id=derived_id(app_id, "due", entry["certificate_number"],
                              str(entry["version"])),
            )
            key, value, headers = events.to_record(due)
            await topic.send(key=key, value=value, headers=headers)
        AWAITING_RESPONSES.set(pending)

    install_stage(app, settings, "exceptions",
                  ["eco.transmission", "eco.customs-response", DEADLINE_TOPIC], watch)


async def _on_response(envelope: Envelope, ctx: StageContext, awaiting: Any) -> None:
    d = envelope.data
    app_id = envelope.subject
    status = d["status"]
    entry = dict(awaiting[app_id])
    if status in DECIDED and entry:
        awaiting[app_id] = {**entry, "decided": True}
    if status == "PREFERENCE_NOT_GIVEN":
        reasons = "; ".join(f"{r['code']}: {r['text']}" for r in d.get("box4_reasons", []))
        await raise_alert(
            ctx, app_id, "BOX4_REJECTION", "CRITICAL",
            summary=f"{d['importing_country']} customs refused preference for certificate "
            f"{d['certificate_number']} (Box 4): {reasons or 'no reason given'}",
            action="Review the Box 4 reasons; send a clarification through the issuing "
            "authority or issue a corrected version.",
            dedup=envelope.id, certificate_number=d["certificate_number"],
            country=d["importing_country"])
    elif status == "TECH_REJECTED":
        await raise_alert(
            ctx, app_id, "TRANSMISSION_FAILED", "CRITICAL",
            summary=f"{d['importing_country']} customs rejected certificate "
            f"{d['certificate_number']} technically: {d.get('message') or ''}",
            action="Check the signature and the schema of the certificate, then resend.",
            dedup=envelope.id, certificate_number=d["certificate_number"],
            country=d["importing_country"])
