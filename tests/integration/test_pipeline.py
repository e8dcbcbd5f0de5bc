"""The whole pipeline against a real Kafka broker, the sandbox customs over HTTPS with client
certificates and a real worker process: the samples' journeys (with the clarification after
the Box 4 rejection), the events in every topic, dead letters."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pipeline import feeds
from pipeline.demo import clarify_argv, journey_done, needs_clarification
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, by_id, decoded, eco, read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

EXPECTED = {
    "01-rcep-led-luminaires-vn.json": ("ACCEPTED", set()),
    "02-acfta-kettles-th.json": ("ACCEPTED", {"BOX4_REJECTION"}),  # after the clarification
    "03-rcep-tshirts-my.json": ("TRANSMITTED", {"RESPONSE_TIMEOUT"}),
    "04-acfta-frozen-fish-vn.json": ("ACCEPTED", set()),
    "05-rcep-brake-pads-id.json": ("FALLBACK_MANUAL", {"FALLBACK_MANUAL"}),
    "06-rcep-lamp-kits-not-qualified.json": ("NOT_QUALIFIED", set()),
    "07-acfta-incomplete.json": ("INCOMPLETE", set()),
}


def submit_samples(stack: Stack, suffix: str) -> dict[str, str]:
    """Submit every sample under a fresh id suffix; returns application id -> file name."""
    subs = []
    for path in sorted(SAMPLES.glob("*.json")):
        document, _ = read_document(path)
        subs.append((path.name, submission(document, source=path.name, id_suffix=suffix)))
    asyncio.run(feeds.publish(stack.bootstrap, [s.envelope for _, s in subs]))
    return {s.application_id: name for name, s in subs}


def wait_journeys(stack: Stack, ids: dict[str, str], timeout: float = 180,
                  clarify: bool = True) -> dict[str, Any]:
    """Follow the journeys until done; with ``clarify``, run ``eco clarify`` (as the demo does)
    for each certificate refused in Box 4 and wait for the customs' second decision."""
    clarified: set[str] = set()

    def on_change(app_id: str, status: dict[str, Any]) -> None:
        if clarify and needs_clarification(status) and app_id not in clarified:
            clarified.add(app_id)
            subprocess.run(clarify_argv(app_id), env=stack.env, check=True, timeout=60,
                           capture_output=True)

    def done(status: dict[str, Any]) -> bool:
        return journey_done(status) and not (clarify and status["state"] == "REJECTED")

    statuses: dict[str, Any] = asyncio.run(
        feeds.wait_for_statuses(stack.bootstrap, list(ids), done, timeout, on_change=on_change)
    )
    missing = {
        ids[i]: statuses.get(i, {}).get("state")
        for i in ids
        if i not in statuses or not done(statuses[i])
    }
    assert not missing, f"journeys not finished: {missing}\n{stack.log('worker')}"
    return statuses


def test_samples_travel_every_topic_to_their_final_states(stack: Stack) -> None:
    ids = submit_samples(stack, f"-{uuid.uuid4().hex[:8]}")
    statuses = wait_journeys(stack, ids)
    for app_id, name in ids.items():
        state, alerts = EXPECTED[name]
        assert statuses[app_id]["state"] == state, (name, statuses[app_id])
        assert alerts <= set(statuses[app_id]["alerts"]), (name, statuses[app_id]["alerts"])
    wanted = set(ids)
    name_of = {i: ids[i] for i in ids}

    submitted = decoded(stack, "eco.application", wanted)
    assert sorted(name_of[e.subject] for e in submitted) == sorted(EXPECTED)

    verdicts = {
        name_of[e.subject]: e.data["verdict"] for e in decoded(stack, "eco.verification", wanted)
    }
    assert verdicts["06-rcep-lamp-kits-not-qualified.json"] == "NOT_QUALIFIED"
    assert verdicts["07-acfta-incomplete.json"] == "INCOMPLETE"
    assert sum(v == "QUALIFIED" for v in verdicts.values()) == 5

    issued = [
        e for e in decoded(stack, "eco.issuance", wanted) if e.type == "eco.certificate.issued.v1"
    ]
    numbers = {e.subject: e.data["certificate_number"] for e in issued}
    assert len(numbers) == 5 and len(set(numbers.values())) == 5
    for envelope in issued:
        assert envelope.data["document_xml"].startswith("<")
        assert numbers[envelope.subject] == statuses[envelope.subject]["certificate_number"]

    transmission = Counter(
        (name_of[e.subject], e.type) for e in decoded(stack, "eco.transmission", wanted)
    )
    assert transmission[("05-rcep-brake-pads-id.json", "eco.transmission.fallback.v1")] == 1
    delivered = {n for (n, t) in transmission if t == "eco.transmission.delivered.v1"}
    assert delivered == {
        "01-rcep-led-luminaires-vn.json",
        "02-acfta-kettles-th.json",
        "03-rcep-tshirts-my.json",
        "04-acfta-frozen-fish-vn.json",
    }

    responses = {
        (name_of[e.subject], e.data["status"])
        for e in decoded(stack, "eco.customs-response", wanted)
    }
    assert ("01-rcep-led-luminaires-vn.json", "PREFERENCE_GIVEN") in responses
    assert ("02-acfta-kettles-th.json", "PREFERENCE_NOT_GIVEN") in responses
    assert ("02-acfta-kettles-th.json", "PREFERENCE_GIVEN") in responses  # after clarifying
    assert transmission[("02-acfta-kettles-th.json", "eco.certificate.clarified.v1")] == 1
    kettles = next(i for i in ids if ids[i] == "02-acfta-kettles-th.json")
    states = [h["state"] for h in statuses[kettles]["history"] if h["state"]]
    assert states[-3:] == ["REJECTED", "CLARIFIED", "ACCEPTED"], states
    assert ("03-rcep-tshirts-my.json", "ACKNOWLEDGED") in responses

    alerts = Counter(
        (name_of[e.subject], e.data["kind"]) for e in decoded(stack, "eco.alert", wanted)
    )
    unique_alerts = {e.data["alert_id"] for e in decoded(stack, "eco.alert", wanted)}
    assert alerts[("02-acfta-kettles-th.json", "BOX4_REJECTION")] >= 1
    assert alerts[("05-rcep-brake-pads-id.json", "FALLBACK_MANUAL")] >= 1
    timeouts = {
        e.data["alert_id"]
        for e in decoded(stack, "eco.alert", wanted)
        if e.data["kind"] == "RESPONSE_TIMEOUT"
    }
    assert len(timeouts) == 1, "one RESPONSE_TIMEOUT alert, for the silent customs only"
    assert len(unique_alerts) == 3


def test_undecodable_message_goes_to_deadletter_and_the_next_one_goes_on(stack: Stack) -> None:
    garbage_key = f"garbage-{uuid.uuid4().hex[:8]}".encode()

    async def produce_garbage() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                "eco.application",
                b"\x00not avro",
                key=garbage_key,
                headers=[("ce_type", b"eco.application.submitted.v1")],
            )
        finally:
            await producer.stop()

    asyncio.run(produce_garbage())
    document, _ = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")
    good = submission(document, source="04", id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [good.envelope]))
    statuses = wait_journeys(stack, {good.application_id: "04"})
    assert statuses[good.application_id]["state"] == "ACCEPTED"

    dead = [r for r in read_all(stack, "eco.deadletter") if r.key == garbage_key]
    stages = {dict(r.headers)["eco_dlq_stage"].decode() for r in dead}
    assert "verification" in stages and "status" in stages
    for record in dead:
        headers = dict(record.headers)
        assert headers["eco_dlq_topic"] == b"eco.application"
        assert headers["eco_dlq_error"] == b"UndecodableEvent"
        assert headers["eco_dlq_reason"]
        assert int(headers["eco_dlq_offset"]) >= 0
        assert record.value == b"\x00not avro"


def test_resubmitting_the_same_document_issues_one_certificate(stack: Stack) -> None:
    document, _ = read_document(SAMPLES / "01-rcep-led-luminaires-vn.json")
    first = submission(document, source="01", id_suffix=f"-{uuid.uuid4().hex[:8]}")
    asyncio.run(feeds.publish(stack.bootstrap, [first.envelope, first.envelope]))
    again = submission(
        json.loads(json.dumps(document)),
        source="01",
        id_suffix=first.application_id.removeprefix(document["application_id"]),
    )
    assert again.envelope.id == first.envelope.id
    asyncio.run(feeds.publish(stack.bootstrap, [again.envelope]))
    wait_journeys(stack, {first.application_id: "01"})
    issued = [
        e
        for e in decoded(stack, "eco.issuance", {first.application_id})
        if e.type == "eco.certificate.issued.v1"
    ]
    assert len({e.data["certificate_number"] for e in issued}) == 1
    assert len(by_id(issued)[first.application_id]) >= 1


def test_cli_submit_status_and_alerts_against_the_broker(stack: Stack, tmp_path: Path) -> None:
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    document["application_id"] = f"demo-02-kettle-th-cli-{uuid.uuid4().hex[:8]}"  # box4 scenario
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    bad_document = json.loads(json.dumps(document))
    bad_document["application_id"] = f"cli-bad-{uuid.uuid4().hex[:8]}"
    bad_document["items"][0]["fob"]["amount"] = "-5"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_document))

    result = eco(stack, "submit", str(good), str(bad))
    assert result.returncode == 2, result.stderr
    assert f"{bad}: items[0].fob.amount" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.split("\t")[0] == document["application_id"]

    wait_journeys(stack, {document["application_id"]: "good"}, clarify=False)
    shown = eco(stack, "status", document["application_id"], "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "REJECTED"
    assert [h["state"] for h in status["history"] if h["state"]][:4] == [
        "SUBMITTED", "VERIFIED", "ISSUED", "TRANSMITTED"]
    human = eco(stack, "status", document["application_id"])
    assert "REJECTED" in human.stdout and status["certificate_number"] in human.stdout

    missing = eco(stack, "status", bad_document["application_id"])
    assert missing.returncode == 1 and "no application" in missing.stderr
    assert not decoded(stack, "eco.application", {bad_document["application_id"]}), \
        "nothing is produced for an invalid document"

    alerts = eco(stack, "alerts", "--json")
    assert alerts.returncode == 0, alerts.stderr
    kinds = {(a["application_id"], a["kind"])
             for a in map(json.loads, alerts.stdout.splitlines())}
    assert (document["application_id"], "BOX4_REJECTION") in kinds
    box4 = [a for a in map(json.loads, alerts.stdout.splitlines())
            if a["application_id"] == document["application_id"]]
    assert "CRITERION_PSR_MISMATCH" in box4[0]["suggested_action"], box4

    unknown = eco(stack, "clarify", bad_document["application_id"], "--explanation", "x",
                  "--approved-by", "y")
    assert unknown.returncode == 1 and "no application" in unknown.stderr
    clarified = eco(stack, "clarify", document["application_id"], "--explanation",
                    "cost statement attached", "--approved-by", "Officer Chen")
    assert clarified.returncode == 0, clarified.stderr
    assert "BOX4_REJECTION" in clarified.stdout
    settled = asyncio.run(feeds.wait_for_statuses(
        stack.bootstrap, [document["application_id"]],
        lambda s: s["state"] in ("ACCEPTED", "REJECTED_FINAL"), 120))
    assert settled[document["application_id"]]["state"] == "ACCEPTED"
    again = eco(stack, "clarify", document["application_id"], "--explanation", "x",
                "--approved-by", "y")
    assert again.returncode == 2 and "ACCEPTED" in again.stderr


def test_worker_serves_metrics_and_health(stack: Stack) -> None:
    with urllib.request.urlopen(stack.web_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'eco_stage_events_total{outcome="processed",stage="verification"}' in text
    assert "eco_stage_processing_seconds_bucket" in text
    assert 'eco_certificates_issued_total{agreement=' in text
    with urllib.request.urlopen(stack.web_url + "/healthz", timeout=5) as response:
        assert json.loads(response.read())["status"] == "ok"


def test_customs_down_fails_after_bounded_retries_and_alerts(stack: Stack) -> None:
    stack.stop("sandbox")
    try:
        document, _ = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")
        sub = submission(document, source="04", id_suffix=f"-down-{uuid.uuid4().hex[:8]}")
        asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
        statuses = wait_journeys(stack, {sub.application_id: "04"})
        status = statuses[sub.application_id]
        assert status["state"] == "TRANSMISSION_FAILED"
        assert "TRANSMISSION_FAILED" in status["alerts"]
        failed = [e for e in decoded(stack, "eco.transmission", {sub.application_id})
                  if e.type == "eco.transmission.failed.v1"]
        assert len(failed) == 1
        assert failed[0].data["attempts"] == int(stack.env["ECO_RETRY_ATTEMPTS"])
        assert "no answer after" in failed[0].data["reason"]
    finally:
        stack.start_sandbox()
