"""Issuance stage: a unique reference number per issuing office (Form E Rule 8(c)), the
certificate document, its signature, and ``eco.certificate.issued.v1``; and, on an authorised
officer's request, new versions and revocations (Rule 10, ``pipeline.versions``).

Numbers are allocated per issuing office, so this stage repartitions explicitly: the
router forwards each qualified verification, and each officer's request from
``eco.issuance-commands``, to ``eco.issuance-requests`` keyed by the issuing office (the
router remembers each application's office in a table co-partitioned with both sources),
and the issuer, which owns that topic's partitions, keeps each office's sequence in a
Kafka-backed table. The allocation is recorded and flushed first, then the certificate,
then it is published: a crash after the allocation replays the request, which gets the
same serial again (``SerialAllocation``); a crash after the certificate replays it,
finds the certificate and publishes the same events again (same event ids). So a number
is never used twice and never skipped.

Each signed document is verified against the trust registry as it stands (the files plus
the notifications on ``eco.trust``, ``agents.trust``) before its number is recorded: an
office whose issuing authority was withdrawn issues nothing (Form E Rule 3), the request
is dead-lettered with the reason, and the number stays free for the next certificate.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import faust

from agents.frame import StageContext, derived_id, install_stage, json_table
from agents.trust import trust_view
from pipeline import clock, events, versions
from pipeline.certificate.numbering import SerialAllocation
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import BusinessRejection, SignatureInvalid
from pipeline.events import Envelope
from pipeline.issuing import CertificateFactory, IssuedDocument
from pipeline.metrics import CERTIFICATES_ISSUED
from pipeline.settings import Settings

COMPLETED = "eco.verification.completed.v1"
REQUESTED = "eco.certificate.requested.v1"
ISSUED = "eco.certificate.issued.v1"
REQUESTS_TOPIC = "eco.issuance-requests"
COMMANDS_TOPIC = "eco.issuance-commands"


def install(app: faust.App, settings: Settings) -> None:
    factory = CertificateFactory.from_settings(settings)
    factory.ensure_dev_pki()  # before the first certificate, and once for all workers
    sequences = json_table(app, settings, "issuance-sequence", dict)
    issued = json_table(app, settings, "issuance-issued", dict)
    office_of = json_table(app, settings, "issuance-office", str)
    trust = trust_view(app, settings)

    def in_force(certificate: IssuedDocument, office: str) -> IssuedDocument:
        """The certificate, if it verifies against the trust registry now; SignatureInvalid
        (permanent: dead-lettered with the reason) when, say, the authority was withdrawn."""
        if certificate.signed:
            try:
                verify_certificate(certificate.xml, trust.current())
            except SignatureInvalid as exc:
                raise SignatureInvalid(
                    f"certificate {certificate.number} version {certificate.version} of office "
                    f"{office} not issued: {exc}") from exc
        return certificate

    def allocate(office_code: str, year: int, holder: str, application_id: str
                 ) -> tuple[str, SerialAllocation]:
        key = f"{office_code}:{year}"
        last = SerialAllocation.from_json(sequences[key])
        return key, last.next_for(holder, application_id, recorded=was_recorded(last))

    def was_recorded(allocation: SerialAllocation) -> bool:
        """Whether the certificate an allocation was made for was recorded."""
        if not allocation.holder:
            return True  # nothing allocated yet, or a count without its holder
        record = issued[allocation.application_id]
        if not record:
            return False
        return (allocation.holder == allocation.application_id
                or allocation.holder in record.get("requests", {}))

    async def record_allocation(key: str, allocation: SerialAllocation) -> None:
        # Durable before the certificate is recorded: see SerialAllocation.
        sequences[key] = allocation.to_json()
        await app.producer.flush()

    async def route(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type == REQUESTED:
            office = office_of[envelope.subject]
            if not office:
                raise BusinessRejection(f"{envelope.subject}: no certificate has been issued")
        elif envelope.type == COMPLETED and envelope.data["verdict"] == "QUALIFIED":
            document = json.loads(envelope.data["document"])
            office = str(document.get("issuing_office") or "")
            office_of[envelope.subject] = office
        else:
            return
        _, value, headers = events.to_record(envelope)
        await ctx.send(REQUESTS_TOPIC, office.encode(), value, headers)
        ctx.log.info("issuance_requested", issuing_office=office, ce_type=envelope.type)

    async def issue(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type == REQUESTED:
            await act(envelope, ctx)
            return
        if envelope.type != COMPLETED or envelope.data["verdict"] != "QUALIFIED":
            return
        application_id = envelope.subject
        record: dict[str, Any] = dict(issued[application_id])
        if not record:
            document = json.loads(envelope.data["document"])
            office = factory.office(str(document.get("issuing_office") or ""))
            # Dated by the examination's event: a replay gets the same year and serial.
            now = clock.issue_moment(envelope.data["completed_at"])
            sequence_key, allocation = allocate(office.code, now.year, application_id,
                                                application_id)
            serial = allocation.serial
            retroactive = bool(envelope.data.get("issued_retroactively"))
            certificate = in_force(factory.issue(
                document, envelope.data["items"], office=office, serial=serial, version=1,
                issued_at=now, issued_retroactively=retroactive,
            ), office.code)
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
                "state": "ISSUED",
                # What a later correction rebuilds from (Rule 10).
                "document": envelope.data["document"],
                "items": versions.plain(envelope.data["items"]),
                "issued_retroactively": retroactive,
            }
            await record_allocation(sequence_key, allocation)
            issued[application_id] = record
            await durable_then_store(certificate, record, ctx, serial=serial)
        await ctx.emit(events.new_envelope(
            ISSUED, versions.issued_data(application_id, record), source="eco/issuance",
            subject=application_id,
            id=derived_id(application_id, "issued", record["certificate_number"],
                          str(record["version"])),
            traceparent=envelope.traceparent,
        ))

    async def act(envelope: Envelope, ctx: StageContext) -> None:
        """An officer's request: supersede with a correction, certified true copy, revoke."""
        request = versions.OfficerRequest.from_event(envelope.id, envelope.data)
        application_id = envelope.subject
        record: dict[str, Any] = dict(issued[application_id])
        applied = record.get("requests", {}).get(request.request_id)
        if applied is not None:  # a replay: publish what the request produced, again
            outputs = [versions.Output.from_json(o) for o in applied]
        else:
            versions.check_request(request, record)
            now = clock.issue_moment(envelope.time)  # the request's time: a replay, the same
            office = factory.office(record["issuing_office"])
            certificate: IssuedDocument | None = None
            serial: int | None = None
            if request.action == versions.REVOKE:
                record, outputs = versions.revocation(record, request, now)
            else:
                if request.action == versions.SUPERSEDE:
                    document = versions.corrected_document(request, record)
                    sequence_key, allocation = allocate(office.code, now.year,
                                                        request.request_id, application_id)
                    serial = allocation.serial
                    certificate = in_force(factory.issue(
                        document, record["items"], office=office, serial=serial,
                        version=int(record["version"]) + 1, issued_at=now,
                        issued_retroactively=bool(record.get("issued_retroactively")),
                        supersedes=record["certificate_number"],
                    ), office.code)
                    request = replace(request, document=json.dumps(document))
                    await record_allocation(sequence_key, allocation)
                else:
                    certificate = in_force(factory.copy(
                        record["document_xml"].encode(), record["certificate_number"],
                        office=office, version=int(record["version"]) + 1, issued_at=now),
                        office.code)
                record, outputs = versions.new_version(
                    record, request, number=certificate.number,
                    xml=certificate.xml.decode(), issued_at=now)
            issued[application_id] = record
            if certificate is not None:
                await durable_then_store(certificate, record, ctx, serial=serial)
            else:
                await app.producer.flush()
            ctx.log.info("certificate_request_applied", action=request.action,
                         approved_by=request.approved_by,
                         certificate_number=record["certificate_number"],
                         version=record["version"])
        for output in outputs:
            await ctx.emit(events.new_envelope(
                output.type, dict(output.data), source="eco/issuance", subject=application_id,
                id=derived_id(*output.key_parts), traceparent=envelope.traceparent,
            ))

    async def durable_then_store(certificate: IssuedDocument, record: dict[str, Any],
                                 ctx: StageContext, *, serial: int | None) -> None:
        # The allocation is durable before anyone hears of the certificate.
        await app.producer.flush()
        factory.store(certificate)
        CERTIFICATES_ISSUED.labels(record["issuing_office"], record["agreement"]).inc()
        ctx.log.info("certificate_issued", certificate_number=certificate.number,
                     version=certificate.version, issuing_office=record["issuing_office"],
                     serial=serial, signed=certificate.signed)

    install_stage(app, settings, "issuance-router", ["eco.verification", COMMANDS_TOPIC], route)
    install_stage(app, settings, "issuance", [REQUESTS_TOPIC], issue, keyed_by_subject=False)
