"""The trust registry updated by events on ``eco.trust`` against a real broker and one worker
that is never restarted: a withdrawn issuing authority issues nothing (the request is
dead-lettered with the reason and uses no number), certificates signed before the withdrawal
still verify, the authority added again issues the next number, and an invalid notification
is dead-lettered while the next one is still applied (Form E Rule 3). With two workers, the
one that did not read the notification applies it too, from the global table."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pipeline import events, feeds
from pipeline.certificate.devpki import authority_certificate, certificate_pem, new_private_key
from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.notices import notice_signer
from pipeline.certificate.notification import TRUST_UPDATED
from pipeline.certificate.numbering import ReferenceFormat
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.settings import Settings
from pipeline.submission import read_document, submission
from tests.integration.harness import (
    SAMPLES,
    Stack,
    decoded,
    eco,
    free_port,
    group_is_stable,
    read_all,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

SAMPLE = "04-acfta-frozen-fish-vn.json"  # issued by CN-XMN under the development CA
ISSUED = "eco.certificate.issued.v1"
AUTHORITY = "eco-pipeline development issuing authority (CN)"
OFFICES_SAMPLES = ["01-rcep-led-luminaires-vn.json", "02-acfta-kettles-th.json",
                   "03-rcep-tshirts-my.json", "04-acfta-frozen-fish-vn.json",
                   "05-rcep-brake-pads-id.json"]  # CN-SZX, CN-NGB, CN-SHA, CN-XMN, CN-TSN


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A broker and one worker running verification, issuance, trust and status."""
    with Stack.started(tmp_path_factory.mktemp("trust")) as stack:
        stack.start_worker("worker", "verification", "issuance", "trust", "status")
        yield stack


def next_second() -> datetime:
    """Now, rounded up to a whole second. A certificate carries its issue time to the second,
    so a change dated on a whole second splits certificates without ambiguity: every one
    issued so far is before it, every one issued once the worker says it applies is after."""
    return (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)


def submit(stack: Stack, sample: str = SAMPLE) -> str:
    document, _ = read_document(SAMPLES / sample)
    sub = submission(document, source=sample, id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    return sub.application_id


def issued(stack: Stack, app_id: str) -> list[events.Envelope]:
    return [e for e in decoded(stack, "eco.issuance", {app_id}) if e.type == ISSUED]


def dead_letters(stack: Stack, stage: str) -> list[dict[str, str]]:
    """Headers of the dead-lettered records of one stage, as text."""
    found = [{name: value.decode() for name, value in r.headers}
             for r in read_all(stack, "eco.deadletter")]
    return [h for h in found if h.get("eco_dlq_stage") == stage]


def trust_entries(stack: Stack, fingerprint: str, web_url: str | None = None
                  ) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{web_url or stack.web_url}/trust", timeout=5) as response:
        registry = json.load(response)
    return [a for a in registry["authorities"] if a["fingerprint"] == fingerprint]


def number_issued(stack: Stack, app_id: str) -> str:
    [event] = wait_for(lambda: issued(stack, app_id), 120, f"the certificate of {app_id}")
    number: str = event.data["certificate_number"]
    return number


def serial(number: str) -> int:
    return ReferenceFormat(prefix=number[0]).parse(number).serial


def sign_now(stack: Stack, app_id: str, out: Path) -> Path:
    """A certificate for the same application, signed now by its office's real key, outside
    the pipeline (as a key holder could): what a signature after a withdrawal looks like."""
    verified = [e for e in asyncio.run(feeds.read_events(stack.bootstrap, "eco.verification"))
                if e.subject == app_id]
    data = verified[0].data
    factory = CertificateFactory.development(load_offices(), stack.data_dir / "pki", out)
    document = json.loads(data["document"])
    certificate = factory.issue(
        document, data["items"], office=factory.office(document["issuing_office"]),
        serial=9999, version=1, issued_at=datetime.now(UTC).replace(microsecond=0),
        issued_retroactively=False)
    return factory.store(certificate)


def test_a_withdrawn_authority_issues_nothing_and_history_still_verifies(
        trusted: Stack, tmp_path: Path) -> None:
    stack = trusted
    trust_dir = stack.data_dir / "pki" / "trust"
    ca = trust_dir / "ca.pem"  # the development issuing authority every office chains to
    fingerprint = x509.load_pem_x509_certificate(ca.read_bytes()).fingerprint(
        hashes.SHA256()).hex()

    # (a) an authority in force: the certificate is issued
    first_app = submit(stack)
    first = number_issued(stack, first_app)
    first_xml = stack.data_dir / "documents" / f"{first}-v1.xml"

    # (b) the authority is withdrawn; the running worker sees it
    withdrawn_at = next_second()
    result = eco(stack, "trust", "withdraw", str(ca), "--effective-at", withdrawn_at.isoformat(),
                 "--reference", "NV-TEST-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"published WITHDRAW CN sha256:{fingerprint[:16]}")

    def withdrawn() -> bool:
        return any(e["in_force_until"] == withdrawn_at.isoformat() and not e["in_force_now"]
                   for e in trust_entries(stack, fingerprint))

    wait_for(withdrawn, 60, "GET /trust to show the authority withdrawn")

    # (c) an application for the same office is refused: dead-lettered with the reason
    refused_app = submit(stack)

    def refusal() -> list[dict[str, str]]:
        return [h for h in dead_letters(stack, "issuance") if h["ce_subject"] == refused_app]

    [headers] = wait_for(refusal, 120, "the refused request in eco.deadletter")
    assert headers["eco_dlq_error"] == "SignatureInvalid"
    assert f"the issuing authority {AUTHORITY} was not in force on" in headers["eco_dlq_reason"]
    assert "of office CN-XMN not issued" in headers["eco_dlq_reason"]
    assert issued(stack, refused_app) == []

    # (d) the first certificate still verifies with the published updates (history) ...
    checked = eco(stack, "verify", str(first_xml), "--trust", str(trust_dir), "--with-updates")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"VALID {first_xml}" in checked.stdout
    # ... and one signed after the withdrawal does not, though the files alone would accept it
    late_xml = sign_now(stack, first_app, tmp_path / "late")
    late = eco(stack, "verify", str(late_xml), "--trust", str(trust_dir), "--with-updates")
    assert late.returncode == 1, late.stdout + late.stderr
    assert f"the issuing authority {AUTHORITY} was not in force on" in late.stdout
    files_only = eco(stack, "verify", str(late_xml), "--trust", str(trust_dir))
    assert files_only.returncode == 0, files_only.stdout + files_only.stderr

    # (e) the authority is added again: the next application gets the next number, no gap
    readded_at = next_second()
    result = eco(stack, "trust", "add", str(ca), "--effective-at", readded_at.isoformat(),
                 "--reference", "NV-TEST-2")
    assert result.returncode == 0, result.stderr

    def readded() -> bool:
        return any(e["in_force_from"] == readded_at.isoformat() and e["in_force_now"]
                   for e in trust_entries(stack, fingerprint))

    wait_for(readded, 60, "GET /trust to show the authority in force again")
    entries = trust_entries(stack, fingerprint)
    assert [(e["in_force_from"], e["in_force_until"]) for e in entries] == [
        (None, withdrawn_at.isoformat()), (readded_at.isoformat(), None)]
    third = number_issued(stack, submit(stack))
    assert third[:-4] == first[:-4]  # same office and year: one sequence
    assert serial(third) == serial(first) + 1  # the refused request used no number

    assert eco(stack, "verify", str(first_xml), "--trust", str(trust_dir),
               "--with-updates").returncode == 0
    third_xml = stack.data_dir / "documents" / f"{third}-v1.xml"
    assert eco(stack, "verify", str(third_xml), "--trust", str(trust_dir),
               "--with-updates").returncode == 0
    gap = eco(stack, "verify", str(late_xml), "--trust", str(trust_dir), "--with-updates")
    assert gap.returncode == 1, gap.stdout  # signed while withdrawn: the gap stays a gap
    listed = eco(stack, "trust", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = [a for a in json.loads(listed.stdout)["authorities"] if a["fingerprint"] == fingerprint]
    assert [a["in_force"] for a in shown] == [False, True]


def test_an_invalid_notification_is_dead_lettered_and_the_next_one_applied(
        trusted: Stack) -> None:
    stack = trusted
    now = datetime.now(UTC)
    office_pem = (stack.data_dir / "pki" / "trust" / "CN-SZX.pem").read_text()
    second = authority_certificate(
        new_private_key("ecdsa"),
        IssuingOffice("CN-T2", "Second test authority", "Beijing, China", "CN"),
        not_before=now - timedelta(days=1), not_after=now + timedelta(days=365))
    second_fingerprint = second.fingerprint(hashes.SHA256()).hex()

    signer = notice_signer(Settings.from_env(stack.env), TRUST_UPDATED)

    def notice(pem: str) -> events.Envelope:
        data = {"country": "CN", "action": "ADD", "certificate_pem": pem,
                "effective_at": now - timedelta(seconds=1), "published_at": now}
        event_id = str(uuid.uuid4())
        return events.new_envelope(TRUST_UPDATED, signer.sign(event_id, TRUST_UPDATED, "CN", data),
                                   source="test", subject="CN", id=event_id)

    bad, good = notice(office_pem), notice(certificate_pem(second).decode())
    asyncio.run(feeds.publish(stack.bootstrap, [bad, good]))  # one key: one partition, in order

    def refused() -> list[dict[str, str]]:
        return [h for h in dead_letters(stack, "trust") if h["ce_id"] == bad.id]

    [headers] = wait_for(refused, 60, "the invalid notification in eco.deadletter")
    assert headers["eco_dlq_error"] == "InvalidInput"
    assert "CN=CN-SZX" in headers["eco_dlq_reason"]
    assert "is not a CA certificate" in headers["eco_dlq_reason"]
    [entry] = wait_for(lambda: trust_entries(stack, second_fingerprint), 60,
                       "the valid notification after it in GET /trust")
    assert (entry["name"], entry["country"], entry["in_force_now"]) == (
        "Second test authority", "CN", True)

    def gauge() -> bool:
        with urllib.request.urlopen(f"{stack.web_url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return 'eco_trust_authorities{country="CN"} 2.0' in text

    wait_for(gauge, 30, "eco_trust_authorities of CN to count both authorities")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Stack, list[str]]]:
    """Two workers of one group running the same stages; each owns half of the partitions."""
    with Stack.started(tmp_path) as stack:
        urls = []
        for name in ("worker-a", "worker-b"):
            port = free_port()
            stack.start_worker(name, "verification", "issuance", "trust", "status",
                               web_port=port)
            urls.append(f"http://127.0.0.1:{port}")
        wait_for(lambda: group_is_stable(stack, members=2), 120, "the group to settle")
        yield stack, urls


def test_every_worker_applies_a_change_whichever_worker_read_it(
        pair: tuple[Stack, list[str]]) -> None:
    """Only the worker owning the country's partition of eco.trust applies the notification;
    the other reads it from the global table and refuses to issue just the same."""
    stack, urls = pair
    ca = stack.data_dir / "pki" / "trust" / "ca.pem"
    fingerprint = x509.load_pem_x509_certificate(ca.read_bytes()).fingerprint(
        hashes.SHA256()).hex()
    withdrawn_at = next_second()
    result = eco(stack, "trust", "withdraw", str(ca), "--effective-at", withdrawn_at.isoformat())
    assert result.returncode == 0, result.stderr

    def withdrawn_everywhere() -> bool:
        return all(
            any(not e["in_force_now"] and e["in_force_until"] == withdrawn_at.isoformat()
                for e in trust_entries(stack, fingerprint, url))
            for url in urls)

    wait_for(withdrawn_everywhere, 60, "both workers' /trust to show the withdrawal")
    applied_by = [name for name in ("worker-a", "worker-b")
                  if '"trust_updated"' in stack.services.log(name, chars=10**7)]
    assert len(applied_by) == 1, applied_by  # one applied it, the other only read the table

    # One application per office: the offices' requests spread over both workers' partitions.
    refused = [submit(stack, sample) for sample in OFFICES_SAMPLES]

    def refusals() -> list[dict[str, str]]:
        return [h for h in dead_letters(stack, "issuance") if h["ce_subject"] in refused]

    found = wait_for(lambda: len(refusals()) == len(refused) and refusals(), 120,
                     "every request refused in eco.deadletter")
    assert all(f"the issuing authority {AUTHORITY} was not in force on" in h["eco_dlq_reason"]
               for h in found)
    assert all(issued(stack, app_id) == [] for app_id in refused)
