"""The pure-work rate: everything one certificate's journey computes, done in one process on
one core, without Kafka or HTTP. It is the ceiling the end-to-end rate is compared with
(``throughput_ratio``).

One journey: the submission is encoded, then decoded by each stage that reads it; the
application is parsed and examined; the verification event is encoded and decoded by its
readers; the certificate is numbered, built (XSD-valid), signed and its signer checked against
the trust registry, as the issuer does (``pipeline.stages.issuance.Issuer``); the issued,
delivered and both customs-response events are encoded and decoded by each of their readers,
as in the pipeline (``docs/architecture.md``, "Topics").
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline import events
from pipeline.application import parse_application
from pipeline.certificate.trust import TrustRegistry
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.origin.event import verification_data
from pipeline.origin.examination import examine
from pipeline.origin.rules import default_rulebook
from pipeline.stages.issuance import Issuer
from pipeline.submission import read_document, submission

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
JOURNEY_SAMPLES = ("01-rcep-led-luminaires-vn.json", "04-acfta-frozen-fish-vn.json")
EXAMINED_ON = date(2026, 5, 20)
READERS = {
    "eco.application.submitted.v1": 2,  # verification, status
    "eco.verification.completed.v1": 3,  # issuance router, issuer, status
    "eco.certificate.issued.v1": 3,  # transmission, exceptions, status
    "eco.transmission.delivered.v1": 2,  # exceptions, status
    "eco.customs.responded.v1": 2,  # exceptions, status
}


def _hop(envelope: events.Envelope) -> events.Envelope:
    """Encode an event as a record and decode it once per stage that reads it."""
    key, value, headers = events.to_record(envelope)
    decoded = envelope
    for _ in range(READERS[envelope.type]):
        decoded = events.from_record(key, value, headers)
    return decoded


class Journey:
    """The pure work of certificate journeys, with the keys and trust registry of a scratch
    development PKI made once."""

    def __init__(self, home: Path) -> None:
        self.factory = CertificateFactory.development(load_offices(), home / "pki",
                                                      home / "documents")
        self.trust = TrustRegistry.from_dir(home / "pki" / "trust")
        self.issuer = Issuer(self.factory, self.trust)
        self.rulebook = default_rulebook()
        self.documents = [read_document(SAMPLES / name)[0] for name in JOURNEY_SAMPLES]
        self.count = 0

    def run_one(self) -> str:
        """One application from submission to acceptance, every computation of its way; its
        certificate's reference number."""
        self.count += 1
        document = self.documents[self.count % len(self.documents)]
        submitted = _hop(submission(document, source="bench",
                                    id_suffix=f"-pure-{self.count}").envelope)
        app_id = submitted.subject
        text = submitted.data["document"]
        application = parse_application(json.loads(text), source=app_id)
        exam = examine(application, self.rulebook, EXAMINED_ON)
        completed = _hop(events.new_envelope(
            "eco.verification.completed.v1",
            verification_data(app_id, exam.agreement.value, exam, text),
            source="eco/verification", subject=app_id))
        parsed = json.loads(completed.data["document"])
        office = self.factory.office(str(parsed.get("issuing_office") or ""))
        now = datetime.now(UTC).replace(microsecond=0)
        certificate = self.factory.issue(parsed, completed.data["items"], office=office,
                                         serial=self.count % 99999 + 1, version=1,
                                         issued_at=now, issued_retroactively=False)
        self.issuer.in_force(certificate, office, now)
        common = {"application_id": app_id, "certificate_number": certificate.number,
                  "version": 1, "importing_country": str(parsed["importer"]["country"])}
        _hop(events.new_envelope("eco.certificate.issued.v1", {
            **common, "issuing_office": office.code, "agreement": str(parsed["agreement"]),
            "tenant": "", "issued_at": now, "document_xml": certificate.xml.decode(),
            "document_sha256": "0" * 64, "signed": True, "supersedes": None},
            source="eco/issuance", subject=app_id))
        _hop(events.new_envelope("eco.transmission.delivered.v1", {
            **common, "channel": "direct:VN", "attempts": 1, "receipt_id": "VN-1",
            "delivered_at": now}, source="eco/transmission", subject=app_id))
        for n, status in enumerate(("ACKNOWLEDGED", "PREFERENCE_GIVEN")):
            _hop(events.new_envelope("eco.customs.responded.v1", {
                **common, "response_id": f"R-{self.count}-{n}", "status": status,
                "box4_reasons": [], "message": "", "responded_at": now},
                source="eco/customs/VN", subject=app_id))
        return certificate.number


def bench_pure_work(seconds: float) -> float:
    """Whole journeys per second on one core, over about ``seconds`` (set-up excluded)."""
    with tempfile.TemporaryDirectory(prefix="eco-purework-") as scratch:
        journey = Journey(Path(scratch))
        journey.run_one()  # warm caches: schemas, XSD, keys
        done = 0
        started = time.perf_counter()
        while True:
            journey.run_one()
            done += 1
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                return done / elapsed
