"""Status stage: the current state and history of every application, in a Kafka-backed table,
published to the compacted topic ``eco.status`` (key: application id, value: JSON) that
``eco status`` and the portal read. The decision is ``pipeline.stages.status``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import faust

from agents.frame import Batch, Stage, json_table, run_stage
from pipeline.events import Envelope
from pipeline.settings import Settings
from pipeline.stages import Plain, Transition
from pipeline.stages import status as transition
from pipeline.states import CertificateStatus

STATUS_TOPIC = "eco.status"
TABLE = "status"
CACHED = 1024  # parsed records kept between events of one application
SOURCES = ["eco.application", "eco.verification", "eco.issuance", "eco.transmission",
           "eco.customs-response", "eco.alert"]


def install(app: faust.App, settings: Settings) -> None:
    loaded: dict[str, tuple[Any, CertificateStatus]] = {}  # the last record read, parsed once

    def load(envelope: Envelope, batch: Batch) -> CertificateStatus | None:
        stored = batch.get(TABLE, envelope.subject)
        if not stored:
            return None
        cached = loaded.get(envelope.subject)
        if cached is not None and cached[0] is stored:
            return cached[1]
        status = CertificateStatus.from_json(stored)
        remember(envelope.subject, stored, status)
        return status

    def remember(key: str, stored: Any, status: CertificateStatus) -> None:
        if len(loaded) >= CACHED:
            loaded.clear()
        loaded[key] = (stored, status)

    def decide(current: CertificateStatus | None, envelope: Envelope, now: datetime
               ) -> Transition[CertificateStatus | None]:
        step = transition.decide(current, envelope)
        if step.state is None or step.state is current:
            return step
        record = json.dumps(step.state.to_json()).encode()
        return Transition(step.state, notes=step.notes, outputs=(Plain(
            STATUS_TOPIC, envelope.subject, record, (("content-type", b"application/json"),)),))

    def save(envelope: Envelope, status: CertificateStatus | None, batch: Batch) -> None:
        if status is not None and status is not load(envelope, batch):
            record = status.to_json()
            batch.put(TABLE, envelope.subject, record)
            remember(envelope.subject, record, status)

    tables = {TABLE: json_table(app, settings, TABLE, dict)}
    run_stage(app, settings, Stage("status", SOURCES, tables, load, decide, save))
