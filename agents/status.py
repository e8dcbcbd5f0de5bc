"""Status stage: the current state and history of every application, in a Kafka-backed
table, published to the compacted topic ``eco.status`` (key: application id, value: JSON)
that ``eco status`` and the portal read."""

from __future__ import annotations

import json

import faust

from agents.frame import StageContext, install_stage, json_table
from pipeline.events import Envelope
from pipeline.journey import observe
from pipeline.milestones import record_journey, watch_certificate_states
from pipeline.settings import Settings
from pipeline.states import CertificateStatus, advance

STATUS_TOPIC = "eco.status"
SOURCES = ["eco.application", "eco.verification", "eco.issuance", "eco.transmission",
           "eco.customs-response", "eco.alert"]


def install(app: faust.App, settings: Settings) -> None:
    table = json_table(app, settings, "status", dict)
    watch_certificate_states(lambda: list(table.values()))  # metrics: eco_certificates

    async def track(envelope: Envelope, ctx: StageContext) -> None:
        app_id = envelope.subject
        stored = table[app_id]
        current = CertificateStatus.from_json(stored) if stored else None
        observation = observe(envelope.id, envelope.type, envelope.time, envelope.data)
        status = advance(current, app_id, observation)
        if current is not None and status == current:
            return
        record_journey(current, status)  # metrics: end-to-end time to each milestone
        record = status.to_json()
        table[app_id] = record
        await ctx.send(STATUS_TOPIC, app_id.encode(), json.dumps(record).encode(),
                       [("content-type", b"application/json")])
        ctx.log.info("status_changed", state=status.state.value,
                     previous=current.state.value if current else None)

    install_stage(app, settings, "status", SOURCES, track)
