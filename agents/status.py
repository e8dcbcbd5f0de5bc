"""Status stage: the current state and history of every application, decided by
``pipeline.stages.status``. The status table's own changelog is the compacted topic
``eco.status`` (key: application id, value: the Avro status record of
``pipeline.statusrecord``), so each change is written once, and a replay that changes nothing
writes nothing; ``eco status`` and the portal read that topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from agents.frame import Batch, Stage, json_table, run_stage
from pipeline.app import table_options
from pipeline.events import Envelope
from pipeline.milestones import moved, record_journey, watch_certificate_states
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import status as transition
from pipeline.states import CertificateStatus
from pipeline.statusrecord import decode_status, encode_status

STATUS_TOPIC = "eco.status"
TABLE = "status"
COUNTS = "status-counts"  # per partition of the status table: certificates per state
CACHED = 1024  # parsed records kept between events of one application
SOURCES = ["eco.application", "eco.verification", "eco.issuance", "eco.transmission",
           "eco.customs-response", "eco.alert"]


def status_table(app: faust.App, settings: Settings) -> Any:
    """The status table of Avro records keyed by application id, its changelog ``eco.status``."""
    changelog = app.topic(STATUS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw",
                          value_serializer="raw", partitions=settings.kafka_partitions,
                          compacting=True, internal=False)
    options = table_options(settings) if settings.store.startswith("rocksdb") else None
    return app.Table(TABLE, key_type=bytes, value_type=bytes, changelog_topic=changelog,
                     partitions=settings.kafka_partitions, options=options)


def install(app: faust.App, settings: Settings) -> None:
    parsed: dict[bytes, tuple[bytes, CertificateStatus]] = {}

    def load(envelope: Envelope, batch: Batch) -> CertificateStatus | None:
        key = envelope.subject.encode()
        stored = batch.get(TABLE, key)
        if not stored:
            return None
        cached = parsed.get(key)
        if cached is not None and cached[0] == stored:
            return cached[1]
        status = CertificateStatus.from_json(decode_status(stored))
        remember(key, stored, status)
        return status

    def remember(key: bytes, stored: bytes, status: CertificateStatus) -> None:
        if len(parsed) >= CACHED:
            parsed.clear()
        parsed[key] = (stored, status)

    def decide(current: CertificateStatus | None, envelope: Envelope, now: datetime
               ) -> Transition[CertificateStatus | None]:
        return transition.decide(current, envelope)

    def save(envelope: Envelope, status: CertificateStatus | None, batch: Batch) -> None:
        before = load(envelope, batch)
        if status is not None and status is before and status.seen(envelope.id):
            # A redelivered event: the local store may hold what the changelog (eco.status)
            # never received (a worker killed between the two); write the record again.
            batch.put(TABLE, envelope.subject.encode(), batch.get(TABLE, envelope.subject.encode()))
        elif status is not None and status is not before:
            record_journey(before, status)  # metrics: end-to-end time to each milestone
            key, record = envelope.subject.encode(), encode_status(status.to_json())
            batch.put(TABLE, key, record)
            remember(key, record, status)
            if before is None or before.state != status.state:
                count_key = f"partition-{batch.current.message.partition}"
                batch.put(COUNTS, count_key, moved(
                    batch.get(COUNTS, count_key), before.state.value if before else None,
                    status.state.value))

    tables = {TABLE: status_table(app, settings),
              COUNTS: json_table(app, settings, COUNTS, dict)}
    counts = tables[COUNTS]
    watch_certificate_states(  # metrics: eco_certificates by state, no scan of the records
        lambda: list(counts.values()))
    run_stage(app, settings, Stage("status", SOURCES, tables, load, decide, save))
