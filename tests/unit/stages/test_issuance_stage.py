"""The issuance transitions: routing by office, numbering from the serial block, the date
from the event, the same certificate again for a replay, and no number for a certificate the
trust registry refuses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from pipeline.certificate.trust import TrustRegistry, TrustUpdate
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import BusinessRejection, SignatureInvalid
from pipeline.events import Envelope, new_envelope
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.origin import default_rulebook
from pipeline.origin.evidence import default_evidence
from pipeline.stages import Emit
from pipeline.stages.issuance import (
    ISSUED,
    REQUESTS_TOPIC,
    Current,
    Issuer,
    Ledger,
    block_key,
    current_document,
    issue,
    located,
    reads,
    release_on_failure,
    replayed,
    route,
)
from pipeline.stages.serials import SerialBlock
from pipeline.stages.verification import Examiner, Registers, decide
from tests.unit.stages.conftest import NOW, submitted

VERIFIED_AT = datetime(2026, 12, 31, 23, 59, 58, 700000, tzinfo=UTC)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    home: Path = tmp_path_factory.mktemp("issuing")
    factory = CertificateFactory.development(load_offices(), home / "pki", home / "documents")
    return Issuer(factory, TrustRegistry.from_dir(home / "pki" / "trust"))


def verified(name: str, at: datetime = VERIFIED_AT) -> Envelope:
    step = decide(None, submitted(name), NOW, Examiner(default_rulebook(), default_evidence()),
                  Registers({}, {}))
    [completed] = [o.envelope for o in step.outputs if isinstance(o, Emit)]
    return replace(completed, time=at, data={**completed.data, "completed_at": at})


def test_the_router_keys_a_qualified_verification_by_its_office() -> None:
    event = verified("04-acfta-frozen-fish-vn.json")
    step = route("", event)
    [forwarded] = step.outputs
    assert isinstance(forwarded, Emit)
    assert forwarded.topic == REQUESTS_TOPIC and forwarded.key == step.state != ""
    assert forwarded.envelope is event
    request = new_envelope("eco.certificate.requested.v1", {}, source="x", subject="other")
    with pytest.raises(BusinessRejection, match="no certificate has been issued"):
        route("", request)


def test_a_certificate_takes_the_next_serial_and_the_date_of_its_verification(
        issuer: Issuer) -> None:
    event = verified("04-acfta-frozen-fish-vn.json")
    assert block_key(event, None) is not None and block_key(event, None).endswith(":2026")
    step = issue(Ledger(None, SerialBlock(last=41)), event, issuer)
    assert step.state.record is not None
    assert step.state.record["certificate_number"].endswith("0042")
    assert step.state.record["issued_at"] == "2026-12-31T23:59:58+00:00"
    [output] = step.outputs
    assert isinstance(output, Emit) and output.envelope.type == ISSUED
    [document] = step.documents
    assert document.name == f"{step.state.record['certificate_number']}-v1.xml"


def test_a_record_points_at_the_log_instead_of_holding_xml_and_document(
        issuer: Issuer) -> None:
    event = verified("02-acfta-kettles-th.json")
    step = issue(Ledger(None, SerialBlock()), event, issuer, here="eco.issuance-requests:3:17")
    record = step.state.record
    assert record is not None
    assert "document_xml" not in record and "document" not in record
    assert record["document_at"] == "eco.issuance-requests:3:17"
    [output] = step.outputs
    assert isinstance(output, Emit)
    xml = str(output.envelope.data["document_xml"])
    assert record["xml_sha256"] == hashlib.sha256(xml.encode()).hexdigest()
    assert record["xml_at"] is None and record["issued_by"] == event.id
    # Once published: the issued event's position, for this event only.
    other = replace(event, id="someone-else")
    assert located(record, other, ["eco.issuance:3:90"]) is record
    placed = located(record, event, ["eco.issuance:3:90"])
    assert placed["xml_at"] == "eco.issuance:3:90"
    assert located(placed, event, ["eco.issuance:3:91"]) is placed


def test_a_replay_finds_its_record_and_changes_nothing(issuer: Issuer) -> None:
    event = verified("02-acfta-kettles-th.json")
    first = issue(Ledger(None, SerialBlock()), event, issuer)
    # The record is written once the events are published: the same event again.
    again = issue(first.state, replace(event, time=datetime(2027, 1, 1, tzinfo=UTC)), issuer)
    assert again.state == first.state
    assert not again.outputs and not again.documents
    # Not written before a crash: the block still holds the serial for the application.
    rebuilt = issue(Ledger(None, first.state.block), event, issuer)
    assert rebuilt.state.record is not None and first.state.record is not None
    assert rebuilt.state.record["certificate_number"] == first.state.record["certificate_number"]
    [out1], [out2] = first.outputs, rebuilt.outputs
    assert isinstance(out1, Emit) and isinstance(out2, Emit)
    assert out1.envelope.id == out2.envelope.id
    # The wiring writes the record again for a replay (its changelog may have missed it).
    assert replayed(event, first.state.record)
    request = new_envelope("eco.certificate.requested.v1", {}, source="x", subject="A")
    assert not replayed(request, first.state.record)
    assert replayed(request, {**first.state.record, "requests": {request.id: []}})


def test_a_record_of_an_earlier_version_with_its_xml_publishes_it_again(
        issuer: Issuer) -> None:
    event = verified("02-acfta-kettles-th.json")
    first = issue(Ledger(None, SerialBlock()), event, issuer)
    [output] = first.outputs
    assert isinstance(output, Emit) and first.state.record is not None
    xml = str(output.envelope.data["document_xml"])
    legacy = {k: v for k, v in first.state.record.items()
              if k not in ("xml_at", "xml_sha256", "issued_by", "document_at", "sequence")}
    legacy = {**legacy, "document_xml": xml, "document": event.data["document"]}
    again = issue(Ledger(legacy, first.state.block), event, issuer)
    [emit] = again.outputs
    assert isinstance(emit, Emit) and emit.envelope.id == output.envelope.id
    assert emit.envelope.data["document_xml"] == xml
    assert [d.content for d in again.documents] == [xml.encode()]
    assert block_key(_request(legacy, "REVOKE"), legacy) == block_key(
        _request(first.state.record, "REVOKE"), first.state.record)


def _request(record: Mapping[str, Any], action: str, **data: Any) -> Envelope:
    return new_envelope("eco.certificate.requested.v1", {
        "application_id": "A", "action": action,
        "certificate_number": record["certificate_number"], "reason": "asked",
        "approved_by": "officer-1", **data}, source="x", subject="A")


def test_a_request_reads_the_current_version_back_from_the_log(issuer: Issuer) -> None:
    event = verified("02-acfta-kettles-th.json")
    first = issue(Ledger(None, SerialBlock()), event, issuer, here="eco.issuance-requests:0:5")
    [output] = first.outputs
    assert isinstance(output, Emit) and first.state.record is not None
    xml = str(output.envelope.data["document_xml"])
    record = located(first.state.record, event, ["eco.issuance:0:9"])
    copy = _request(record, "CERTIFIED_TRUE_COPY")
    assert reads(copy, record) == {"xml": "eco.issuance:0:9"}
    assert reads(copy, first.state.record) == {"xml": ""}  # not published yet
    assert reads(_request(record, "REVOKE"), record) == {}
    assert reads(event, record) == {}
    # The XML read back must be the one the record names.
    with pytest.raises(BusinessRejection, match="is not that of certificate"):
        issue(Ledger(record, first.state.block), copy, issuer,
              current=Current(xml=xml.replace("</", " </", 1)))
    copied = issue(Ledger(record, first.state.block), copy, issuer, here="eco.x:0:1",
                   current=Current(xml=xml))
    assert copied.state.record is not None
    assert copied.state.record["version"] == 2 and "document_xml" not in copied.state.record
    assert copied.state.record["document_at"] == "eco.issuance-requests:0:5"  # the same
    assert copied.state.record["xml_at"] is None
    # A correction reads the current document; its own request then carries the document.
    document = json.loads(event.data["document"])
    document["items"][0]["marks"] = "CORRECTED"
    fix = _request(copied.state.record, "SUPERSEDE", document=json.dumps(document))
    assert reads(fix, copied.state.record) == {"document": "eco.issuance-requests:0:5"}
    assert json.loads(current_document(event)) == json.loads(event.data["document"])
    fixed = issue(Ledger(copied.state.record, copied.state.block), fix, issuer,
                  here="eco.issuance-requests:0:8", current=Current(
                      document=current_document(event)))
    assert fixed.state.record is not None and fixed.state.record["version"] == 3
    assert fixed.state.record["document_at"] == "eco.issuance-requests:0:8"
    assert "document" not in fixed.state.record
    assert all("document_xml" not in o["data"] for outputs in
               fixed.state.record["requests"].values() for o in outputs)
    # Replayed, the request finds itself applied: nothing again.
    assert not issue(fixed.state, fix, issuer).outputs


def test_a_refused_certificate_gives_its_serial_back(issuer: Issuer) -> None:
    nobody = Issuer(issuer.factory, TrustRegistry(()))
    event = verified("04-acfta-frozen-fish-vn.json")
    held = SerialBlock().serial_for(event.subject, event.subject)[1]
    with pytest.raises(SignatureInvalid, match="not issued"):
        issue(Ledger(None, held), event, nobody)
    step = release_on_failure(Ledger(None, held), event, "withdrawn")
    assert step is not None and step.dead_letter == "withdrawn"
    assert step.state.block.serial_for("next", "next")[0] == 1


def test_an_office_whose_key_is_under_another_countrys_authority_issues_nothing(
        issuer: Issuer) -> None:
    """The issuer checks each certificate's signer as ``verify_certificate`` would: an
    authority re-registered for another country no longer covers a Chinese office."""
    ca = next(iter(issuer.trust.authorities))
    pem = ca.certificate.public_bytes(serialization.Encoding.PEM)
    elsewhere = issuer.trust.apply_update(TrustUpdate("add", pem, NOW, country="VN"))
    event = verified("04-acfta-frozen-fish-vn.json")
    with pytest.raises(SignatureInvalid, match=r"office CN-.* not issued: certificate .* "
                                               r"names an office in CN but is signed under "
                                               r".* of VN"):
        issue(Ledger(None, SerialBlock()), event, Issuer(issuer.factory, elsewhere))


def test_what_the_issuer_lets_out_verifies(issuer: Issuer) -> None:
    """The signature is not verified again at issue (the keys are checked when loaded): what
    is issued verifies all the same, under the authority the issuer checked."""
    step = issue(Ledger(None, SerialBlock()), verified("04-acfta-frozen-fish-vn.json"), issuer)
    [issued] = [o.envelope for o in step.outputs
                if isinstance(o, Emit) and o.envelope.type == ISSUED]
    checked = verify_certificate(issued.data["document_xml"].encode(), issuer.trust)
    assert checked.number == issued.data["certificate_number"]
    assert checked.issuing_office.country == "CN"
