"""Versions, never edits (Form E Rule 10): officer requests, corrections with a new serial,
certified true copies with the same number, revocations, and the events each produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from pipeline import events
from pipeline.certificate.document import NS
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import BusinessRejection, InvalidInput
from pipeline.issuing import CertificateFactory, IssuedDocument
from pipeline.offices import load_offices
from pipeline.versions import (
    CERTIFIED_TRUE_COPY,
    REVOKE,
    SUPERSEDE,
    OfficerRequest,
    Output,
    check_request,
    corrected_document,
    issued_data,
    new_version,
    revocation,
)

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "04-acfta-frozen-fish-vn.json"
ITEMS = [{"item_no": 1, "criterion": "WO", "box": "WO"}]
FIRST = datetime(2026, 5, 9, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> CertificateFactory:
    home = tmp_path_factory.mktemp("issuing")
    return CertificateFactory.development(load_offices(), home / "pki", home / "documents")


@pytest.fixture(scope="module")
def original(factory: CertificateFactory) -> tuple[dict[str, Any], IssuedDocument]:
    document = json.loads(SAMPLE.read_text())
    office = factory.office(document["issuing_office"])
    certificate = factory.issue(document, ITEMS, office=office, serial=7, version=1,
                                issued_at=FIRST, issued_retroactively=False)
    record = {
        "certificate_number": certificate.number, "version": 1, "issuing_office": office.code,
        "agreement": "ACFTA", "importing_country": "VN", "tenant": "T", "signed": True,
        "issued_at": FIRST.isoformat(), "document_xml": certificate.xml.decode(),
        "state": "ISSUED", "document": json.dumps(document), "items": ITEMS,
    }
    return record, certificate


def request(action: str, number: str, **changes: Any) -> OfficerRequest:
    base: dict[str, Any] = {
        "request_id": "req-1", "application_id": "demo-04-fish-vn", "action": action,
        "certificate_number": number, "reason": "consignee address corrected",
        "approved_by": "officer-17", "document": None,
    }
    return OfficerRequest(**{**base, **changes})


def corrected(record: dict[str, Any], change: Any) -> str:
    document = json.loads(record["document"])
    change(document)
    return json.dumps(document)


def test_a_request_needs_an_officer_a_reason_and_for_a_correction_the_document(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    with pytest.raises(InvalidInput) as caught:
        check_request(request(SUPERSEDE, certificate.number, approved_by=" ", reason=""), record)
    assert {p.path for p in caught.value.problems} == {"approved_by", "reason", "document"}
    with pytest.raises(InvalidInput, match="unknown action"):
        check_request(request("EDIT", certificate.number), record)


def test_a_request_about_a_replaced_or_revoked_certificate_is_refused(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    with pytest.raises(BusinessRejection, match="current certificate is"):
        check_request(request(REVOKE, "E260000000000001"), record)
    with pytest.raises(BusinessRejection, match="no certificate"):
        check_request(request(REVOKE, certificate.number), {})
    revoked, _ = revocation(record, request(REVOKE, certificate.number), LATER)
    with pytest.raises(BusinessRejection, match="revoked"):
        check_request(request(CERTIFIED_TRUE_COPY, certificate.number), revoked)
    check_request(request(CERTIFIED_TRUE_COPY, certificate.number), record)  # allowed


def test_revocation_records_the_officer_and_the_reason(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    revoked, outputs = revocation(record, request(REVOKE, certificate.number), LATER)
    assert revoked["state"] == "REVOKED" and record["state"] == "ISSUED"
    [event] = outputs
    assert event.type == "eco.certificate.revoked.v1"
    assert event.data["approved_by"] == "officer-17"
    assert event.data["version"] == 1 and event.data["certificate_number"] == certificate.number
    events.encode(event.type, dict(event.data))  # valid against the schema


def test_a_correction_may_change_particulars_but_not_what_origin_rests_on(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original

    def address(d: dict[str, Any]) -> None:
        d["importer"]["address"] = "12 New Street, Hai Phong"
        d["items"][0]["description"] = "Frozen fish fillets, corrected"

    def hs_code(d: dict[str, Any]) -> None:
        d["items"][0]["hs_code"] = "030499"

    def office(d: dict[str, Any]) -> None:
        d["issuing_office"] = "CN-SZX"

    good = corrected_document(
        request(SUPERSEDE, certificate.number, document=corrected(record, address)), record)
    assert good["importer"]["address"] == "12 New Street, Hai Phong"
    with pytest.raises(InvalidInput) as caught:
        corrected_document(
            request(SUPERSEDE, certificate.number, document=corrected(record, hs_code)), record)
    assert [p.path for p in caught.value.problems] == ["items[0]"]
    with pytest.raises(InvalidInput) as caught:
        corrected_document(
            request(SUPERSEDE, certificate.number, document=corrected(record, office)), record)
    assert [p.path for p in caught.value.problems] == ["issuing_office"]


def test_a_corrected_version_has_a_new_serial_and_supersedes_the_old_number(
        factory: CertificateFactory, original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    ask = request(SUPERSEDE, certificate.number, document=corrected(
        record, lambda d: d["importer"].update(address="12 New Street, Hai Phong")))
    document = corrected_document(ask, record)
    office = factory.office(record["issuing_office"])
    new = factory.issue(document, ITEMS, office=office, serial=8, version=2, issued_at=LATER,
                        issued_retroactively=False, supersedes=certificate.number)
    after, outputs = new_version(record, ask, number=new.number, xml=new.xml.decode(),
                                 issued_at=LATER)
    assert new.number != certificate.number and new.number.endswith("0008")
    assert [o.type for o in outputs] == ["eco.certificate.superseded.v1",
                                         "eco.certificate.issued.v1"]
    superseded, issued = outputs
    assert superseded.data["superseded_by_number"] == new.number
    assert superseded.data["superseded_by_version"] == 2
    assert superseded.data["approved_by"] == "officer-17"
    assert issued.data["supersedes"] == certificate.number and issued.data["version"] == 2
    root = etree.fromstring(new.xml)
    assert root.findtext(f"{NS}Supersedes") == certificate.number
    assert after["versions"] == [{"certificate_number": certificate.number, "version": 1}]
    for output in outputs:
        events.encode(output.type, dict(output.data))


def test_a_certified_true_copy_keeps_number_and_certification_date_and_verifies(
        factory: CertificateFactory, original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    office = factory.office(record["issuing_office"])
    copy = factory.copy(certificate.xml, certificate.number, office=office, version=2,
                        issued_at=LATER)
    root = etree.fromstring(copy.xml)
    certification = root.find(f"{NS}FormE/{NS}Certification")
    assert certification is not None
    assert certification.findtext(f"{NS}Endorsement") == "CERTIFIED TRUE COPY"
    assert certification.findtext(f"{NS}Date") == FIRST.date().isoformat()
    assert root.findtext(f"{NS}Version") == "2"
    trust = TrustRegistry.from_dir(factory.keys.trust_dir)
    verified = verify_certificate(copy.xml, trust)
    assert verified.number == certificate.number and verified.version == 2
    with pytest.raises(ValueError, match="must follow"):
        factory.copy(certificate.xml, certificate.number, office=office, version=1,
                     issued_at=LATER)


def test_a_replayed_request_yields_the_same_events(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, certificate = original
    after, outputs = revocation(record, request(REVOKE, certificate.number), LATER)
    stored = json.loads(json.dumps(after))  # as the table keeps it
    again = [Output.from_json(o) for o in stored["requests"]["req-1"]]
    assert again == outputs


def test_issued_data_of_a_first_version_supersedes_nothing(
        original: tuple[dict[str, Any], IssuedDocument]) -> None:
    record, _ = original
    data = issued_data("demo-04-fish-vn", record)
    assert data["supersedes"] is None and data["version"] == 1
    assert data["issued_at"] == FIRST
    events.encode("eco.certificate.issued.v1", data)
