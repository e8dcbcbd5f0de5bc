"""Issuance against a real broker: reference numbers stay unique and gapless per issuing office
while several workers share the work and one of them is killed (Form E Rule 8(c))."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import events, feeds
from pipeline.certificate.numbering import ReferenceFormat
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

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

QUALIFYING = ["01-rcep-led-luminaires-vn.json", "02-acfta-kettles-th.json",
              "03-rcep-tshirts-my.json", "04-acfta-frozen-fish-vn.json",
              "05-rcep-brake-pads-id.json"]
ISSUED = "eco.certificate.issued.v1"


@pytest.fixture
def shared_group(tmp_path: Path) -> Iterator[Stack]:
    """A broker and three workers (verification and issuance) in one consumer group.

    A short session timeout makes the group notice a killed member in seconds.
    """
    with Stack.started(tmp_path, {"BROKER_SESSION_TIMEOUT": "10",
                                  "BROKER_HEARTBEAT_INTERVAL": "1",
                                  "ECO_FAUST_LOG_LEVEL": "info"}) as stack:
        for name in ("worker-a", "worker-b", "worker-c"):
            stack.start_worker(name, "verification", "issuance", web_port=free_port())
        wait_for(lambda: group_is_stable(stack, members=3), 120, "the group to settle")
        yield stack


def _submit(stack: Stack, copies: int) -> set[str]:
    envelopes, ids = [], set()
    for name in QUALIFYING:
        document, _ = read_document(SAMPLES / name)
        for _ in range(copies):
            sub = submission(document, source=name, id_suffix=f"-{uuid.uuid4().hex[:8]}")
            envelopes.append(sub.envelope)
            ids.add(sub.application_id)
    asyncio.run(feeds.publish(stack.bootstrap, envelopes))
    return ids


def _numbers(stack: Stack, ids: set[str]) -> dict[str, set[str]]:
    numbers: dict[str, set[str]] = defaultdict(set)
    for envelope in decoded(stack, "eco.issuance", ids):
        if envelope.type == ISSUED:
            numbers[envelope.subject].add(envelope.data["certificate_number"])
    return numbers


def test_numbers_stay_unique_and_gapless_when_a_worker_is_killed(shared_group: Stack) -> None:
    stack = shared_group
    first = _submit(stack, copies=6)
    wait_for(lambda: len(_numbers(stack, first)) >= 5, 180, "the first certificates")
    stack.stop("worker-b", signal.SIGKILL)  # a crash in the middle of the run
    second = _submit(stack, copies=6)
    everyone = first | second

    def all_issued() -> dict[str, set[str]]:
        found = _numbers(stack, everyone)
        return found if len(found) == len(everyone) else {}

    numbers = wait_for(all_issued, 300, "a certificate for every application")
    assert all(len(issued) == 1 for issued in numbers.values()), numbers
    serials: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (number,) in numbers.values():
        reference = ReferenceFormat(prefix=number[0]).parse(number)
        serials[(reference.registration, str(reference.year))].append(reference.serial)
    assert len(serials) == len(QUALIFYING)  # one sequence per issuing office this year
    for office, used in serials.items():
        assert sorted(used) == list(range(1, len(used) + 1)), (office, sorted(used))
    assert sum(len(used) for used in serials.values()) == len(everyone)


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[Stack]:
    with Stack.started(tmp_path) as stack:
        stack.start_worker("worker", "verification", "issuance", "status")
        yield stack


def test_officer_requests_make_new_versions_and_a_revocation(one_worker: Stack,
                                                              tmp_path: Path) -> None:
    stack = one_worker
    [app_id] = _submit_one(stack)
    [number] = wait_for(lambda: _numbers(stack, {app_id}).get(app_id, set()), 120,
                        "the certificate")

    copied = eco(stack, "certificate", "copy", app_id, "--approved-by", "officer-17",
                 "--reason", "original lost", "--number", number)
    assert copied.returncode == 0, copied.stderr
    document = json.loads((SAMPLES / "04-acfta-frozen-fish-vn.json").read_text())
    document["importer"]["address"] = "12 New Street, Hai Phong"
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps({**document, "application_id": app_id}))

    def versions() -> list[events.Envelope]:
        return [e for e in decoded(stack, "eco.issuance", {app_id}) if e.type == ISSUED]

    wait_for(lambda: len({e.data["version"] for e in versions()}) == 2, 60, "the copy")
    stale = eco(stack, "certificate", "supersede", app_id, "--approved-by", "officer-17",
                "--reason", "consignee address", "--document", str(corrected))
    assert stale.returncode == 0, stale.stderr  # the current number, read from eco.status
    wait_for(lambda: len({e.data["version"] for e in versions()}) == 3, 60, "the correction")
    by_version = {e.data["version"]: e.data for e in versions()}
    assert by_version[2]["certificate_number"] == number  # the copy keeps the number
    assert "CERTIFIED TRUE COPY" in by_version[2]["document_xml"]
    assert by_version[3]["certificate_number"] != number  # a correction gets a new serial
    assert by_version[3]["supersedes"] == number
    assert "12 New Street, Hai Phong" in by_version[3]["document_xml"]

    # Restarted, the worker has no certificate in memory: a copy reads the current version's
    # signed XML back from eco.issuance, where the issuer's record says it is.
    stack.stop("worker")
    stack.start_worker("worker", "verification", "issuance", "status")
    copied = eco(stack, "certificate", "copy", app_id, "--approved-by", "officer-17",
                 "--reason", "original lost again", "--number",
                 by_version[3]["certificate_number"])
    assert copied.returncode == 0, copied.stderr
    wait_for(lambda: len({e.data["version"] for e in versions()}) == 4, 60, "the second copy")
    fourth = {e.data["version"]: e.data for e in versions()}[4]
    assert fourth["certificate_number"] == by_version[3]["certificate_number"]
    assert "CERTIFIED TRUE COPY" in fourth["document_xml"]
    assert "12 New Street, Hai Phong" in fourth["document_xml"]
    assert '"what": "xml"' in stack.log("worker").split("issuer_read_back", 1)[-1]
    # The issuer's records hold where the XML and the document are, never them.
    changelog = [r for r in read_all(stack, "eco-test-issuance-issued-changelog")
                 if r.value and app_id.encode() in (r.key or b"")]
    assert len(changelog) >= 4, changelog
    for record in changelog:
        stored = json.loads(record.value)
        assert "document_xml" not in json.dumps(stored) and "document" not in stored
        assert stored["xml_at"].startswith("eco.issuance:")
    assert json.loads(changelog[-1].value)["version"] == 4

    revoked = eco(stack, "certificate", "revoke", app_id, "--approved-by", "officer-9",
                  "--reason", "issued in error", "--number", by_version[3]["certificate_number"])
    assert revoked.returncode == 0, revoked.stderr

    def kinds() -> list[str]:
        return [e.type for e in decoded(stack, "eco.issuance", {app_id})]

    wait_for(lambda: "eco.certificate.revoked.v1" in kinds(), 60, "the revocation")
    superseded = [e.data for e in decoded(stack, "eco.issuance", {app_id})
                  if e.type == "eco.certificate.superseded.v1"]
    assert {(s["version"], s["superseded_by_version"]) for s in superseded} == {
        (1, 2), (2, 3), (3, 4)}
    assert all(s["approved_by"] == "officer-17" for s in superseded)
    shown = eco(stack, "status", app_id)
    assert f"superseded by {by_version[3]['certificate_number']}" in shown.stdout, shown.stdout


def _submit_one(stack: Stack) -> list[str]:
    document, _ = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")
    sub = submission(document, source="04", id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    return [sub.application_id]
