"""The issuance transitions: routing by office, numbering from the serial block, the date
from the event, the same certificate again for a replay, and no number for a certificate the
trust registry refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.certificate.trust import TrustRegistry
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
    Issuer,
    Ledger,
    block_key,
    issue,
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


def test_a_replay_publishes_the_same_certificate_and_stores_it_again(issuer: Issuer) -> None:
    event = verified("02-acfta-kettles-th.json")
    first = issue(Ledger(None, SerialBlock()), event, issuer)
    # The record was written (and the serial block with it): the same event again.
    again = issue(first.state, replace(event, time=datetime(2027, 1, 1, tzinfo=UTC)), issuer)
    assert again.state.record == first.state.record
    assert [o.envelope.id for o in again.outputs if isinstance(o, Emit)] == [
        o.envelope.id for o in first.outputs if isinstance(o, Emit)]
    assert again.documents == first.documents
    # Not written before a crash: the block still holds the serial for the application.
    rebuilt = issue(Ledger(None, first.state.block), event, issuer)
    assert rebuilt.state.record is not None and first.state.record is not None
    assert rebuilt.state.record["certificate_number"] == first.state.record["certificate_number"]
    # The wiring writes the record again for a replay (its changelog may have missed it).
    assert replayed(event, first.state.record)
    request = new_envelope("eco.certificate.requested.v1", {}, source="x", subject="A")
    assert not replayed(request, first.state.record)
    assert replayed(request, {**first.state.record, "requests": {request.id: []}})


def test_a_refused_certificate_gives_its_serial_back(issuer: Issuer) -> None:
    nobody = Issuer(issuer.factory, TrustRegistry(()))
    event = verified("04-acfta-frozen-fish-vn.json")
    held = SerialBlock().serial_for(event.subject, event.subject)[1]
    with pytest.raises(SignatureInvalid, match="not issued"):
        issue(Ledger(None, held), event, nobody)
    step = release_on_failure(Ledger(None, held), event, "withdrawn")
    assert step is not None and step.dead_letter == "withdrawn"
    assert step.state.block.serial_for("next", "next")[0] == 1
