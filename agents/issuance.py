"""Issuance stage: a unique reference number per issuing office (Form E Rule 8(c)), the
certificate document, its signature, and ``eco.certificate.issued.v1``.

Numbers are allocated per issuing office, so this stage repartitions explicitly: the
router forwards each qualified verification to ``eco.issuance-requests`` keyed by the
issuing office, and the issuer, which owns that topic's partitions, keeps each office's
sequence in a Kafka-backed table. The table is written and flushed *before* the
certificate is published: a crash in between replays the request, finds the number
already allocated and publishes the same certificate again (same event id), so a
number is never used twice and never skipped.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import faust

from agents.frame import StageContext, derived_id, install_stage, json_table
from pipeline import events
from pipeline.events import Envelope
from pipeline.issuing import CertificateFactory
from pipeline.metrics import CERTIFICATES_ISSUED
from pipeline.settings import Settings

COMPLETED = "eco.verification.completed.v1"
ISSUED = "eco.certificate.issued.v1"
REQUESTS_TOPIC = "eco.issuance-requests"


def install(app: faust.App, settings: Settings) -> None:
    factory = CertificateFactory.from_settings(settings)
    sequences = json_table(app, settings, "issuance-sequence", int)
    issued = json_table(app, settings, "issuance-issued", dict)

    async def route(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type != COMPLETED or envelope.data["verdict"] != "QUALIFIED":
            return
        document = json.loads(envelope.data["document"])
        office = str(document.get("issuing_office") or "")
        _, value, headers = events.to_record(envelope)
        await ctx.send(REQUESTS_TOPIC, office.encode(), value, headers)
        ctx.log.info("issuance_requested", issuing_office=office)

    async def issue(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type != COMPLETED or envelope.data["verdict"] != "QUALIFIED":
            return
        application_id = envelope.subject
        record: dict[str, Any] = dict(issued[application_id])
        if not record:
            document = json.loads(envelope.data["document"])
            office = factory.office(str(document.get("issuing_office") or ""))
            now = datetime.now(UTC).replace(microsecond=0)
            sequence_key = f"{office.code}:{now.year}"
            serial = sequences[sequence_key] + 1
            certificate = factory.issue(
                document, envelope.data["items"], office=office, serial=serial, version=1,
                issued_at=now,
                issued_retroactively=bool(envelope.data.get("issued_retroactively")),
            )
            record = {
                "certificate_number": certificate.number,
                "version": 1,
                "issuing_office": office.code,
                "agreement": str(document.get("agreement")),
                "importing_country": str(document["importer"]["country"]),
                "tenant": str(document.get("exporter", {}).get("id") or ""),
                "issued_at": now.isoformat(),
                "document_xml": certificate.xml.decode(),
                "signed": certificate.signed,
            }
            sequences[sequence_key] = serial
            issued[application_id] = record
            # The allocation is durable before anyone hears of the certificate.
            await app.producer.flush()
            factory.store(certificate)
            CERTIFICATES_ISSUED.labels(office.code, record["agreement"]).inc()
            ctx.log.info("certificate_issued", certificate_number=certificate.number,
                         issuing_office=office.code, serial=serial, signed=certificate.signed)
        xml = record["document_xml"]
        data = {
            "application_id": application_id,
            "certificate_number": record["certificate_number"],
            "version": record["version"],
            "issuing_office": record["issuing_office"],
            "agreement": record["agreement"],
            "importing_country": record["importing_country"],
            "tenant": record["tenant"],
            "issued_at": datetime.fromisoformat(record["issued_at"]),
            "document_xml": xml,
            "document_sha256": hashlib.sha256(xml.encode()).hexdigest(),
            "signed": record["signed"],
            "supersedes": None,
        }
        await ctx.emit(events.new_envelope(
            ISSUED, data, source="eco/issuance", subject=application_id,
            id=derived_id(application_id, "issued", record["certificate_number"], "1"),
            traceparent=envelope.traceparent,
        ))

    install_stage(app, settings, "issuance-router", ["eco.verification"], route)
    install_stage(app, settings, "issuance", [REQUESTS_TOPIC], issue, keyed_by_subject=False)
