"""The issuance stage's decisions: routing each request to its issuing office, and issuing
certificates there (Form E Rule 8(c)) or acting on an authorised officer's request (Rule 10).

The router forwards each qualified verification, and each officer's request, to
``eco.issuance-requests`` keyed by the number sequence (agreement and applicant registration,
China's Form E numbering, ``pipeline.certificate.numbering.sequence_key``), so one partition
owns each sequence and one office's work spreads over the partitions; a back-to-back
application goes first to ``eco.drawdown-requests``, keyed by its original certificate, to
draw on the original's balance. The issuer's state for one event is the application's
certificate record and the serial block of the sequence and year
(``pipeline.stages.serials``). Dates come from the events (the verification's or the
request's time), never from the clock at processing: a replay builds the same certificate
under the same number.

The signer of each signed document is checked against the trust registry as it stands before
its number is recorded: an office whose issuing authority was withdrawn issues nothing (Form E
Rule 3), and the serial stays free for the next certificate.

A certificate's record holds neither its signed XML nor its application document: the log
does. It says where: ``document_at``, the request that carries the current version's
application (the qualified verification, or the officer's correction), and ``xml_at``, the
``eco.certificate.issued.v1`` event in ``eco.issuance`` that carries the current version's
signed XML (its SHA-256 in ``xml_sha256``). The frame writes the record only once that event
is acknowledged, and then knows its position (``located``). So a record found for a request
means its events were published: a replay publishes nothing again. An officer's correction
reads the current document back, a certified true copy the current XML (``reads``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pipeline import events, versions
from pipeline.certificate.numbering import SerialsExhausted, sequence_key, sequence_year_key
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import authorised_signer
from pipeline.clock import issue_moment
from pipeline.errors import BusinessRejection, InvalidApplication, Problem, SignatureInvalid
from pipeline.events import Envelope
from pipeline.issuing import CertificateFactory, IssuedDocument
from pipeline.offices import Office
from pipeline.stages import Document, Emit, Note, Transition, unchanged
from pipeline.stages.alerts import derived_id
from pipeline.stages.refusal import Cause, refusal
from pipeline.stages.serials import SerialBlock

COMPLETED = "eco.verification.completed.v1"
REQUESTED = "eco.certificate.requested.v1"
ISSUED = "eco.certificate.issued.v1"
REQUESTS_TOPIC = "eco.issuance-requests"
DRAWDOWN_TOPIC = "eco.drawdown-requests"
SOURCE = "eco/issuance"

Record = Mapping[str, Any]


# -- the router --------------------------------------------------------------------------

def route(sequence: str, event: Envelope) -> Transition[str]:
    """Forward a qualified verification or an officer's request to its number sequence's
    partition (a back-to-back application to its original's draw-down first); the state is
    the application's sequence key."""
    if event.type == REQUESTED:
        if not sequence:
            raise BusinessRejection(f"{event.subject}: no certificate has been issued")
    elif event.type == COMPLETED and event.data["verdict"] == "QUALIFIED":
        document = _document(event.data["document"], event.subject)
        sequence = sequence_of(document, event.subject)
        if is_back_to_back(document):
            return Transition(sequence, outputs=(
                Emit(event, topic=DRAWDOWN_TOPIC, key=original_number(document)),),
                notes=(Note("drawdown_requested",
                            fields={"original_certificate": original_number(document)}),))
    else:
        return unchanged(sequence)
    return Transition(sequence, outputs=(Emit(event, topic=REQUESTS_TOPIC, key=sequence),),
                      notes=(Note("issuance_requested",
                                  fields={"sequence_key": sequence, "ce_type": event.type}),))


def sequence_of(document: Mapping[str, Any], source: str) -> str:
    """The number sequence an application's certificates are numbered in."""
    try:
        return sequence_key(document)
    except ValueError as exc:
        raise InvalidApplication([Problem("exporter.registration_number", str(exc))],
                                 source) from exc


def is_back_to_back(document: Mapping[str, Any]) -> bool:
    """True for an application for a back-to-back (movement) certificate."""
    block = document.get("back_to_back")
    return isinstance(block, Mapping) and bool(block.get("original_certificate"))


def original_number(document: Mapping[str, Any]) -> str:
    """The key of the draw-down: the original certificate's number."""
    return str(document["back_to_back"]["original_certificate"])


# -- the issuer --------------------------------------------------------------------------

@dataclass(frozen=True)
class Ledger:
    """The issuer's state for one event: the application's certificate record and the serial
    block of the office and year it would number in."""

    record: Record | None
    block: SerialBlock


@dataclass(frozen=True)
class Current:
    """What an officer's request needs of the certificate's current version, read back from
    where its record points (``reads``): the application document (JSON) and the signed XML."""

    document: str | None = None
    xml: str | None = None


@dataclass(frozen=True)
class Issuer:
    """How certificates are made: built and signed with the offices' keys (loaded once), and
    their signers checked against the trust registry as it stands."""

    factory: CertificateFactory
    trust: TrustRegistry
    # When the signature is actually made (the batch's clock), if later than the date the
    # certificate carries (``pipeline.clock``): the authority must be in force then too, so
    # a withdrawal refuses whatever is signed after it, even for an earlier application.
    signing_at: datetime | None = None

    def in_force(self, certificate: IssuedDocument, office: Office,
                 issued_at: datetime) -> IssuedDocument:
        """``certificate``, if its office's signer is under an issuing authority of the
        office's country in force on ``issued_at`` and at signing (Form E Rule 3); else
        SignatureInvalid. The signature itself is not verified again: each office's key was
        checked against its certificate when it was loaded (``pipeline.certificate
        .officekeys``), and the document was built, validated and signed just now by this
        code, so verifying it would only repeat the signing's work."""
        if certificate.signed:
            signer = self.factory.signer_certificate(office)
            try:
                for at in sorted({issued_at, self.signing_at or issued_at}):
                    authorised_signer(self.trust, signer, office.country, at,
                                      f"certificate {certificate.number}")
            except SignatureInvalid as exc:
                raise SignatureInvalid(
                    f"certificate {certificate.number} version {certificate.version} of "
                    f"office {office.code} not issued: {exc}") from exc
        return certificate


def block_key(event: Envelope, record: Record | None) -> str | None:
    """The serial block an event may number in (``<sequence>:<year>``), or None."""
    if event.type == REQUESTED and record:
        sequence = record.get("sequence") or sequence_of(
            _document(str(record["document"]), event.subject), event.subject)
        return sequence_year_key(str(sequence), _issued_at(event).year)
    if event.type == COMPLETED and event.data["verdict"] == "QUALIFIED" and not record:
        document = _document(event.data["document"], event.subject)
        return sequence_year_key(sequence_of(document, event.subject), _issued_at(event).year)
    return None


def reads(event: Envelope, record: Record | None) -> dict[str, str]:
    """What an officer's request must have read back from the log before it is decided, by
    ``Current`` field: where the current version's document (a correction) or signed XML (a
    certified true copy) is. A record of an earlier version of the pipeline holds them."""
    if event.type != REQUESTED or not record:
        return {}
    action = event.data.get("action")
    if action == versions.SUPERSEDE and "document" not in record:
        return {"document": str(record.get("document_at") or "")}
    if action == versions.CERTIFIED_TRUE_COPY and "document_xml" not in record:
        # Empty while the version's issued event is not yet published (the same batch).
        return {"xml": str(record.get("xml_at") or "")}
    return {}


def located(record: Record, event: Envelope, positions: Sequence[str]) -> Record:
    """The record once ``event``'s outputs are published (``positions``, in order): the
    version ``event`` issued points at its ``issued`` event, the last of them."""
    if record.get("xml_at", "") is None and record.get("issued_by") == event.id and positions:
        return {**record, "xml_at": positions[-1]}
    return record


def current_document(envelope: Envelope) -> str:
    """The application document an event read back at ``document_at`` carries (a qualified
    verification, or a correction), as the record held it: with its application id."""
    document = dict(_document(str(envelope.data.get("document") or ""), envelope.subject))
    document.setdefault("application_id", envelope.subject)
    return json.dumps(document)


def replayed(event: Envelope, record: Record) -> bool:
    """Whether ``event`` is one ``record`` already answers: the qualified verification of its
    first version, or an officer's request already applied (a redelivery)."""
    if event.type == REQUESTED:
        return event.id in record.get("requests", {})
    return event.type == COMPLETED and event.data.get("verdict") == "QUALIFIED"


def holder_of(event: Envelope) -> str:
    """Who a serial is allocated for: the application, or the officer's request."""
    return event.id if event.type == REQUESTED else event.subject


def recorded(record: Record | None, holder: str, application_id: str) -> bool:
    """Whether the certificate allocated for ``holder`` is in ``record``."""
    if not record:
        return False
    return holder == application_id or holder in record.get("requests", {})


def issue(ledger: Ledger, event: Envelope, issuer: Issuer, here: str = "",
          current: Current | None = None) -> Transition[Ledger]:
    """Issue the certificate of a qualified verification, or act on an officer's request
    (``here``: where ``event`` is in the log; ``current``: what ``reads`` asked for). A replay
    finds its record, whose events were published before it was written, and changes nothing."""
    if event.type == REQUESTED:
        return _act(ledger, event, issuer, here, current or Current())
    if event.type != COMPLETED or event.data["verdict"] != "QUALIFIED":
        return unchanged(ledger)
    application_id = event.subject
    record = ledger.record
    block = ledger.block
    if record:
        return _replayed_legacy(ledger, event) if "document_xml" in record else unchanged(ledger)
    if not record:
        document = _document(event.data["document"], application_id)
        office = issuer.factory.office(str(document.get("issuing_office") or ""))
        issued_at = _issued_at(event)
        serial, block = block.serial_for(application_id, application_id)
        retroactive = bool(event.data.get("issued_retroactively"))
        try:
            built = issuer.factory.issue(
                document, event.data["items"], office=office, serial=serial, version=1,
                issued_at=issued_at, issued_retroactively=retroactive)
        except SerialsExhausted as exhausted:  # a state of the application, not a dead letter
            return _refused(ledger, event, document, exhausted)
        certificate = issuer.in_force(built, office, issued_at)
        xml = certificate.xml.decode()
        record = {
            "certificate_number": certificate.number,
            "version": 1,
            "issuing_office": office.code,
            "agreement": str(document.get("agreement")),
            "importing_country": str(document["importer"]["country"]),
            "tenant": str(document.get("exporter", {}).get("id") or ""),
            "issued_at": issued_at.isoformat(),
            "signed": certificate.signed,
            "state": "ISSUED",
            "sequence": sequence_of(document, application_id),
            # What a later correction rebuilds from (Rule 10): the items here, the document
            # where this request is in the log.
            "document_at": here,
            "items": versions.plain(event.data["items"]),
            "issued_retroactively": retroactive,
            **_pending_xml(xml, event),
        }
    issued = events.new_envelope(
        ISSUED, versions.issued_data(application_id, {**record, "document_xml": xml}),
        source=SOURCE, subject=application_id, traceparent=event.traceparent,
        id=derived_id(application_id, "issued", record["certificate_number"],
                      str(record["version"])))
    return Transition(Ledger(record, block), outputs=(Emit(issued),),
                      documents=(_document_of(record, xml),),
                      notes=(_issued_note(record, serial),))


def _pending_xml(xml: str, event: Envelope) -> dict[str, Any]:
    """A new version's XML as its record keeps it: its digest, the event it was issued for,
    and where it will be in the log once published (``located``)."""
    return {"xml_at": None, "xml_sha256": hashlib.sha256(xml.encode()).hexdigest(),
            "issued_by": event.id}


def _replayed_legacy(ledger: Ledger, event: Envelope) -> Transition[Ledger]:
    """A record of an earlier version of the pipeline, which holds the signed XML and was
    written with its events, not after them: publish them again."""
    record = ledger.record or {}
    application_id = event.subject
    issued = events.new_envelope(
        ISSUED, versions.issued_data(application_id, record), source=SOURCE,
        subject=application_id, traceparent=event.traceparent,
        id=derived_id(application_id, "issued", record["certificate_number"],
                      str(record["version"])))
    return Transition(ledger, outputs=(Emit(issued),),
                      documents=(_document_of(record, str(record["document_xml"])),))


def _refused(ledger: Ledger, event: Envelope, document: Mapping[str, Any],
             exhausted: SerialsExhausted) -> Transition[Ledger]:
    """The applicant's serials of the year are used up: ``eco.certificate.refused.v1``, and
    the serial block as it was (no number taken)."""
    emit, note = refusal(event, Cause.SERIALS_EXHAUSTED, (str(exhausted),), source=SOURCE,
                         sequence=sequence_of(document, event.subject))
    return Transition(ledger, outputs=(emit,), notes=(note,))


def release_on_failure(ledger: Ledger, event: Envelope, reason: str
                       ) -> Transition[Ledger] | None:
    """A request that failed for good gives back the serial it may hold (no gap)."""
    return Transition(replace(ledger, block=ledger.block.release(holder_of(event))),
                      dead_letter=reason)


def _act(ledger: Ledger, event: Envelope, issuer: Issuer, here: str, current: Current
         ) -> Transition[Ledger]:
    """An officer's request: supersede with a correction, certified true copy, or revoke."""
    request = versions.OfficerRequest.from_event(event.id, event.data)
    application_id = event.subject
    stored = dict(ledger.record or {})
    applied = stored.get("requests", {}).get(request.request_id)
    if applied is not None:
        # A replay: the record was written once the request's events were published. One of
        # an earlier version of the pipeline may hold the signed XML of its issued event.
        legacy = [versions.Output.from_json(o) for o in applied
                  if o["type"] == ISSUED and "document_xml" in o["data"]]
        if not legacy:
            return unchanged(ledger)
        outputs = [versions.Output.from_json(o) for o in applied]
        return Transition(ledger, outputs=_emits(outputs, application_id, event),
                          documents=(_document_of(stored, str(stored["document_xml"])),))
    record = _with_current(stored, current, application_id)
    versions.check_request(request, record)
    at = _issued_at(event)
    office = issuer.factory.office(record["issuing_office"])
    block = ledger.block
    serial: int | None = None
    documents: tuple[Document, ...] = ()
    if request.action == versions.REVOKE:
        record, outputs = versions.revocation(record, request, at)
    else:
        if request.action == versions.SUPERSEDE:
            document = versions.corrected_document(request, record)
            serial, block = block.serial_for(request.request_id, application_id)
            certificate = issuer.in_force(issuer.factory.issue(
                document, record["items"], office=office, serial=serial,
                version=int(record["version"]) + 1, issued_at=at,
                issued_retroactively=bool(record.get("issued_retroactively")),
                supersedes=record["certificate_number"]), office, at)
            request = replace(request, document=json.dumps(document))
        else:
            certificate = issuer.in_force(issuer.factory.copy(
                record["document_xml"].encode(), record["certificate_number"], office=office,
                version=int(record["version"]) + 1, issued_at=at), office, at)
        xml = certificate.xml.decode()
        record, outputs = versions.new_version(record, request, number=certificate.number,
                                               xml=xml, issued_at=at)
        documents = (_document_of(record, xml),)
        record = {**record, **_pending_xml(xml, event)}
        if request.action == versions.SUPERSEDE:
            record = {**record, "document_at": here}
            record.pop("document", None)
    note = Note("certificate_request_applied", fields={
        "action": request.action, "approved_by": request.approved_by, "serial": serial,
        "certificate_number": record["certificate_number"], "version": record["version"]})
    return Transition(Ledger(_compact(record), block),
                      outputs=_emits(outputs, application_id, event), documents=documents,
                      notes=(note,))


def _with_current(record: dict[str, Any], current: Current, application_id: str
                  ) -> dict[str, Any]:
    """The record as a request's rules read it: with the current version's document and
    signed XML where they were read back (``reads``)."""
    found = dict(record)
    if "sequence" not in found and "document" in found:  # a record of an earlier version
        found["sequence"] = sequence_of(_document(str(found["document"]), application_id),
                                        application_id)
    if current.document is not None:
        found["document"] = current.document
    if current.xml is not None:
        if hashlib.sha256(current.xml.encode()).hexdigest() != record.get("xml_sha256"):
            raise BusinessRejection(
                f"the signed XML at {record.get('xml_at')} is not that of certificate "
                f"{record.get('certificate_number')} v{record.get('version')}")
        found["document_xml"] = current.xml
    return found


def _compact(record: Record) -> dict[str, Any]:
    """The record as the table keeps it: no signed XML (in ``eco.issuance``, at ``xml_at``),
    and each applied request's outputs without it."""
    requests = {rid: [
        {**o, "data": {k: v for k, v in o["data"].items() if k != "document_xml"}}
        if isinstance(o, Mapping) and "data" in o else o for o in outputs]
        for rid, outputs in dict(record.get("requests", {})).items()}
    kept = {k: v for k, v in record.items() if k != "document_xml"}
    return {**kept, "requests": requests} if requests else kept


def _emits(outputs: list[versions.Output], application_id: str, trigger: Envelope
           ) -> tuple[Emit, ...]:
    return tuple(Emit(events.new_envelope(
        o.type, dict(o.data), source=SOURCE, subject=application_id,
        id=derived_id(*o.key_parts), traceparent=trigger.traceparent)) for o in outputs)


def _document_of(record: Record, xml: str) -> Document:
    return Document(f"{record['certificate_number']}-v{record['version']}.xml", xml.encode())


def _issued_note(record: Record, serial: int) -> Note:
    return Note("certificate_issued", fields={
        "certificate_number": record["certificate_number"], "version": record["version"],
        "issuing_office": record["issuing_office"], "agreement": record["agreement"],
        "serial": serial, "signed": record["signed"]})


def _issued_at(event: Envelope) -> datetime:
    """A certificate's date, to the second: the examination's moment a verification carries
    (``completed_at``, ``pipeline.clock``), or the time of the officer's request."""
    examined = event.data.get("completed_at") if event.type == COMPLETED else None
    return issue_moment(examined if isinstance(examined, datetime) else event.time)


def _document(text: str, source: str) -> Mapping[str, Any]:
    """The application document an event carries, parsed once for the router's and the
    issuer's reads of the same event (``_parsed``; callers never change it)."""
    document, error = _parsed(text)
    if error is not None:
        raise InvalidApplication([Problem("document", error)], source)
    return document


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> tuple[dict[str, Any], str | None]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        return {}, f"not JSON: {exc}"
    if not isinstance(document, dict):
        return {}, "not a JSON object"
    return document, None
