"""Transmission hardening against the real broker, a real worker and the sandbox customs over
HTTPS with client certificates: the circuit breaker (customs down then back, and down for good),
the sandbox refusing a signature it does not trust, the pipeline refusing forged customs
responses, a duplicated response counted once, and the verification reply deadline."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.customs.signatures import SIGNATURE_HEADER, load_private_key, sign_response
from pipeline import feeds
from pipeline.certificate.devpki import generate_dev_pki
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, decoded, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FALLBACK_AFTER = 20


@pytest.fixture(scope="module")
def customs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("customs")
    scenarios = home / "scenarios.json"
    scenarios.write_text(json.dumps({"applications": {"verif-*": "verification",
                                                      "quiet-*": "silent"}}))
    with Stack.started(home, {
        "ECO_RESPONSE_DEADLINE": "60s",
        "ECO_RETRY_ATTEMPTS": "4",
        "ECO_CIRCUIT_FAILURES": "2",
        "ECO_CIRCUIT_RESET": "1s",
        "ECO_CIRCUIT_FALLBACK_AFTER": f"{FALLBACK_AFTER}s",
        "ECO_VERIFICATION_DEADLINES": "RCEP=12s,ACFTA=12s",
        "ECO_VERIFICATION_WARNING": "8s",
    }) as stack:
        stack.start_sandbox("--scenarios", str(scenarios))
        stack.start_worker()
        yield stack


def restart_sandbox(stack: Stack, *options: str) -> None:
    stack.stop("sandbox")
    stack.start_sandbox("--scenarios", str(stack.home / "scenarios.json"), *options)


def submit(stack: Stack, sample: str, application_id: str) -> str:
    document, _ = read_document(SAMPLES / sample)
    document["application_id"] = application_id
    sub = submission(document, source=sample)
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    return sub.application_id


def wait_state(stack: Stack, app_id: str, states: set[str], timeout: float = 120
               ) -> dict[str, Any]:
    statuses: dict[str, Any] = asyncio.run(feeds.wait_for_statuses(
        stack.bootstrap, [app_id], lambda s: s["state"] in states, timeout))
    status: dict[str, Any] = statuses.get(app_id, {})
    assert status.get("state") in states, f"{status}\n{stack.log('worker')}"
    return status


def post_response(stack: Stack, country: str, body: dict[str, Any],
                  headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"{stack.web_url}/v1/customs/{country}/responses", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def signed(body: dict[str, Any], key: ec.EllipticCurvePrivateKey, country: str
           ) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign_response(json.dumps(body).encode(), key, country)}


def test_customs_down_then_back_opens_and_closes_the_circuit_and_loses_nothing(
    customs_stack: Stack,
) -> None:
    stack = customs_stack
    stack.stop("sandbox")
    try:
        app_id = submit(stack, "04-acfta-frozen-fish-vn.json", f"down-{uuid.uuid4().hex[:8]}")
        wait_for(lambda: "customs_circuit_opened" in stack.log("worker"), 90,
                 "the circuit of VN to open")
    finally:
        restart_sandbox(stack)
    status = wait_state(stack, app_id, {"ACCEPTED", "TRANSMISSION_FAILED", "FALLBACK_MANUAL"})
    assert status["state"] == "ACCEPTED", status
    sent = decoded(stack, "eco.transmission", {app_id})
    assert [e.type for e in sent] == ["eco.transmission.delivered.v1"]
    assert sent[0].data["attempts"] >= 3  # two that opened the circuit, then probes
    assert "customs_circuit_closed" in stack.log("worker")


def test_a_circuit_open_past_its_time_sends_the_certificate_to_the_manual_channel(
    customs_stack: Stack,
) -> None:
    stack = customs_stack
    stack.stop("sandbox")
    try:
        app_id = submit(stack, "01-rcep-led-luminaires-vn.json", f"gone-{uuid.uuid4().hex[:8]}")
        status = wait_state(stack, app_id, {"FALLBACK_MANUAL", "TRANSMISSION_FAILED",
                                            "ACCEPTED"}, timeout=FALLBACK_AFTER + 120)
    finally:
        restart_sandbox(stack)
    assert status["state"] == "FALLBACK_MANUAL"
    [fallback] = [e for e in decoded(stack, "eco.transmission", {app_id})
                  if e.type == "eco.transmission.fallback.v1"]
    assert "circuit of VN customs has been open" in fallback.data["reason"]
    wait_state(stack, app_id, {"FALLBACK_MANUAL"})
    alerts = wait_for(lambda: [e for e in decoded(stack, "eco.alert", {app_id})
                               if e.data["kind"] == "FALLBACK_MANUAL"], 60, "the alert")
    assert len({a.data["alert_id"] for a in alerts}) == 1


def test_the_sandbox_refuses_a_signature_it_does_not_trust(customs_stack: Stack,
                                                           tmp_path: Path) -> None:
    stack = customs_stack
    strangers = generate_dev_pki(tmp_path / "strangers", algorithm="ecdsa")
    restart_sandbox(stack, "--trust-dir", str(strangers.trust_dir))
    try:
        app_id = submit(stack, "04-acfta-frozen-fish-vn.json", f"forged-{uuid.uuid4().hex[:8]}")
        status = wait_state(stack, app_id, {"TRANSMISSION_FAILED", "ACCEPTED"})
    finally:
        restart_sandbox(stack)
    assert status["state"] == "TRANSMISSION_FAILED"
    [failed] = [e for e in decoded(stack, "eco.transmission", {app_id})
                if e.type == "eco.transmission.failed.v1"]
    assert "signature or seal not recognised" in failed.data["reason"]
    assert failed.data["attempts"] == 1


def test_forged_responses_are_refused_and_a_duplicate_is_counted_once(
    customs_stack: Stack,
) -> None:
    stack = customs_stack
    app_id = submit(stack, "03-rcep-tshirts-my.json", f"quiet-{uuid.uuid4().hex[:8]}")
    status = wait_state(stack, app_id, {"TRANSMITTED"})
    delivered = next(e for e in decoded(stack, "eco.transmission", {app_id})
                     if e.type == "eco.transmission.delivered.v1")
    body = {
        "response_id": f"MY-TEST-{uuid.uuid4().hex[:8]}",
        "application_id": app_id,
        "certificate_number": status["certificate_number"],
        "version": delivered.data["version"],
        "importing_country": "MY",
        "status": "REJECTION",
        "box4_reasons": [{"code": "MY01", "text": "criterion does not match the PSR"}],
        "responded_at": datetime.now(UTC).isoformat(),
    }
    real_key = load_private_key(stack.data_dir / "customs" / "keys", "MY")
    impostor = ec.generate_private_key(ec.SECP256R1())
    assert post_response(stack, "MY", body, {}) == 401
    assert post_response(stack, "MY", body, signed(body, impostor, "MY")) == 401
    assert post_response(stack, "MY", body, signed(body, real_key, "TH")) == 401
    tampered = {**body, "status": "UTILISATION", "box4_reasons": []}
    assert post_response(stack, "MY", tampered, signed(body, real_key, "MY")) == 401
    assert not [e for e in decoded(stack, "eco.customs-response", {app_id})
                if e.data["response_id"] == body["response_id"]], "nothing forged is recorded"

    assert post_response(stack, "MY", body, signed(body, real_key, "MY")) == 202
    assert post_response(stack, "MY", body, signed(body, real_key, "MY")) == 202
    status = wait_state(stack, app_id, {"REJECTED"})
    box4 = wait_for(lambda: [e for e in decoded(stack, "eco.alert", {app_id})
                             if e.data["kind"] == "BOX4_REJECTION"], 60, "the Box 4 alert")
    assert len({a.data["alert_id"] for a in box4}) == 1
    assert "CRITERION_PSR_MISMATCH" in box4[0].data["suggested_action"]
    rejections = [h for h in status["history"] if h["state"] == "REJECTED"]
    assert len(rejections) == 1


def test_a_verification_request_warns_before_its_deadline_and_alerts_when_it_passes(
    customs_stack: Stack,
) -> None:
    stack = customs_stack
    app_id = submit(stack, "01-rcep-led-luminaires-vn.json", f"verif-{uuid.uuid4().hex[:8]}")
    wait_state(stack, app_id, {"VERIFICATION_REQUESTED"})

    def deadline_alerts() -> list[str]:
        found = {e.data["alert_id"]: e.data["severity"]
                 for e in decoded(stack, "eco.alert", {app_id})
                 if e.data["kind"] == "VERIFICATION_DEADLINE"}
        return sorted(found.values()) if len(found) >= 2 else []

    assert wait_for(deadline_alerts, 90, "two VERIFICATION_DEADLINE alerts") == [
        "CRITICAL", "WARNING"]


def _trusting(stack: Stack) -> ssl.SSLContext:
    tls = stack.data_dir / "tls"
    context = ssl.create_default_context(cafile=str(tls / "ca.pem"))
    context.load_cert_chain(str(tls / "worker.pem"), str(tls / "worker.key"))
    return context


def test_the_sandbox_serves_https_and_requires_a_client_certificate(customs_stack: Stack) -> None:
    stack = customs_stack
    url = stack.env["ECO_SANDBOX_URL"] + "/sandbox/stats"
    with urllib.request.urlopen(url, timeout=10, context=_trusting(stack)) as response:
        assert "deliveries" in json.loads(response.read())
    anonymous = ssl.create_default_context(cafile=str(stack.data_dir / "tls" / "ca.pem"))
    # The handshake (or, with TLS 1.3, the first read) fails without a client certificate.
    with pytest.raises(OSError), urllib.request.urlopen(url, timeout=10,
                                                        context=anonymous) as response:
        response.read()
