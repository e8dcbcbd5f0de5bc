"""A worker on an authority's own keys (ECO_DEV_PKI unset): office certificates issued by a CA
whose private key is not there, one office key in a file and one inside a SoftHSM2 token.
It writes none of those files, and its certificates verify with xmlsec1 and ``eco verify``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from pipeline import events, feeds
from pipeline.certificate.notices import TRUST_UPDATED, notice_signer
from pipeline.settings import Settings
from pipeline.submission import read_document, submission
from tests.integration.authority import (
    SOFTHSM_MODULE,
    TOKEN_LABEL,
    USER_PIN,
    Authority,
    SoftHsm,
    digests,
)
from tests.integration.harness import SAMPLES, Stack, decoded, eco, read_all, wait_for
from tests.integration.test_security_pkcs11 import xmlsec1_verifies

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400),
              pytest.mark.skipif(not SOFTHSM_MODULE.exists(), reason="softhsm2 not installed")]

SAMPLES_BY_OFFICE = {"CN-SZX": "01-rcep-led-luminaires-vn.json",  # key file
                     "CN-SHA": "03-rcep-tshirts-my.json"}  # key inside the token


def authority_env(root: Path) -> tuple[Authority, dict[str, str]]:
    hsm = SoftHsm.create(root / "hsm")
    authority = Authority.create(root / "authority")
    authority.file_office("CN-SZX")
    authority.issue("CN-SHA", hsm.generate("cn-sha-signing", "rsa"))
    authority.run_offices("CN-SZX", "CN-SHA")
    pin = root / "pin"
    pin.write_text(USER_PIN + "\n")
    pin.chmod(0o600)
    for kind, key_id in (("trust", "trust-admin-1"), ("officers", "officer-1")):
        notice_key(root / f"{key_id}.key", authority.root / "notifiers" / kind / f"{key_id}.pem")
    return authority, {
        "ECO_NOTIFICATION_KEYS_DIR": str(authority.root / "notifiers"),
        **hsm.env,
        "ECO_DEV_PKI": "",
        "ECO_OFFICE_KEYS_DIR": str(authority.keys),
        "ECO_TRUST_DIR": str(authority.trust),
        "ECO_OFFICES_FILE": str(authority.offices_file),
        "ECO_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "ECO_PKCS11_TOKEN_LABEL": TOKEN_LABEL,
        "ECO_PKCS11_PIN_FILE": str(pin),
        "ECO_PKCS11_KEY_LABELS": "CN-SHA=cn-sha-signing",
    }


def notice_key(private: Path, public: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.parent.mkdir(parents=True, exist_ok=True)
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


@pytest.fixture(scope="module")
def authority_stack(tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[tuple[Stack, Authority, dict[str, str]]]:
    root = tmp_path_factory.mktemp("authority")
    authority, env = authority_env(root)
    before = digests(authority.root)
    with Stack.started(root / "stack", env) as stack:
        stack.start_worker("worker", "verification", "issuance", "trust")
        yield stack, authority, before


def test_a_worker_on_real_keys_writes_none_and_its_certificates_verify(
        authority_stack: tuple[Stack, Authority, dict[str, str]]) -> None:
    stack, authority, before = authority_stack
    ids = {}
    envelopes = []
    for office, name in SAMPLES_BY_OFFICE.items():
        document, _ = read_document(SAMPLES / name)
        sub = submission(document, source=name, id_suffix="-real-keys")
        envelopes.append(sub.envelope)
        ids[sub.application_id] = office
    asyncio.run(feeds.publish(stack.bootstrap, envelopes))
    issued = wait_for(
        lambda: (found := [e for e in decoded(stack, "eco.issuance", set(ids))
                           if e.type == "eco.certificate.issued.v1"]) and len(found) == 2
        and found, 180, "two certificates", every=1.0)
    assert {e.data["issuing_office"] for e in issued} == {"CN-SZX", "CN-SHA"}
    assert not (stack.data_dir / "pki").exists()  # no development PKI anywhere
    assert digests(authority.root) == before  # not one byte of the authority's files changed

    documents = sorted((stack.data_dir / "documents").glob("*.xml"))
    assert len(documents) == 2
    for path in documents:
        checked = xmlsec1_verifies(path, authority.trust / "ca.pem")
        assert checked.returncode == 0, checked.stderr
        verified = eco(stack, "verify", str(path))  # the worker's trust: ECO_TRUST_DIR
        assert verified.returncode == 0, verified.stderr
        assert "CN-" in verified.stdout


def test_a_missing_key_stops_the_worker_naming_the_file_and_the_office(tmp_path: Path) -> None:
    authority, env = authority_env(tmp_path)
    (authority.keys / "CN-SZX.key").unlink()
    (authority.keys / "CN-SHA.pem").unlink()
    (authority.trust / "CN-SHA.pem").unlink()
    env = {**env, "ECO_DATA_DIR": str(tmp_path / "data"), "ECO_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "ECO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    result = subprocess.run([sys.executable, "-m", "pipeline", "worker"],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2
    assert "3 problems" in result.stderr
    assert f"office CN-SZX: {authority.keys / 'CN-SZX.key'} is missing" in result.stderr
    assert f"office CN-SHA: {authority.keys / 'CN-SHA.pem'} is missing" in result.stderr
    assert "ECO_KAFKA_SASL_USERNAME" in result.stderr  # every problem at once
    assert "set ECO_DEV_PKI=true" in result.stderr
    assert not (tmp_path / "data" / "pki").exists()


def signed_by(stack: Stack, key_id: str) -> dict[str, str]:
    """The stack's environment for a CLI that signs with ``key_id``'s key."""
    root = stack.home.parent
    return {**stack.env, "ECO_NOTIFICATION_KEY": str(root / f"{key_id}.key"),
            "ECO_NOTIFICATION_KEY_ID": key_id}


def run_eco(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def dead_letter_reasons(stack: Stack, stage: str) -> dict[str, str]:
    found = [{name: value.decode() for name, value in r.headers}
             for r in read_all(stack, "eco.deadletter")]
    return {h["ce_id"]: h["eco_dlq_reason"] for h in found if h.get("eco_dlq_stage") == stage}


def test_officer_requests_must_be_signed_by_an_officer_key(
        authority_stack: tuple[Stack, Authority, dict[str, str]]) -> None:
    stack, _, _ = authority_stack
    every = [events.from_record(r.key, r.value, list(r.headers))
             for r in read_all(stack, "eco.issuance")]
    [issued] = [e for e in every if e.type == "eco.certificate.issued.v1"
                and e.data["issuing_office"] == "CN-SZX"]
    application_id, number = issued.subject, issued.data["certificate_number"]
    revoke = ["certificate", "revoke", application_id, "--number", number,
              "--approved-by", "Officer Li", "--reason", "issued in error"]

    unsigned = run_eco(stack.env | {"ECO_DEV_PKI": ""}, *revoke)
    assert unsigned.returncode == 2 and "ECO_NOTIFICATION_KEY" in unsigned.stderr
    wrong_kind = run_eco(signed_by(stack, "trust-admin-1"), *revoke)  # a trust key
    assert wrong_kind.returncode == 0, wrong_kind.stderr
    wrong_id = wrong_kind.stdout.split()[0]
    reasons = wait_for(lambda: (r := dead_letter_reasons(stack, "issuance-router"))
                       and wrong_id in r and r, 90, "the request signed by a trust key refused")
    assert "not an accepted officers key" in reasons[wrong_id]
    assert not [e for e in decoded(stack, "eco.issuance", {application_id})
                if e.type == "eco.certificate.revoked.v1"]

    good = run_eco(signed_by(stack, "officer-1"), *revoke)
    assert good.returncode == 0, good.stderr
    wait_for(lambda: [e for e in decoded(stack, "eco.issuance", {application_id})
                      if e.type == "eco.certificate.revoked.v1"], 90, "the revocation")


def test_trust_notifications_unsigned_or_tampered_are_dead_lettered(
        authority_stack: tuple[Stack, Authority, dict[str, str]], tmp_path: Path) -> None:
    stack, _, _ = authority_stack
    second = Authority.create(tmp_path / "second")
    ca = second.trust / "ca.pem"
    env = signed_by(stack, "trust-admin-1")
    signer = notice_signer(Settings.from_env(env), TRUST_UPDATED)
    now = datetime.now(UTC)
    data = {"country": "CN", "action": "ADD", "certificate_pem": ca.read_text(),
            "effective_at": now - timedelta(seconds=1), "published_at": now}
    signed = signer.sign("tampered", TRUST_UPDATED, "CN", data)
    tampered = events.new_envelope(TRUST_UPDATED, {**signed, "name": "Someone else"},
                                   source="test", subject="CN", id="tampered")
    unsigned = events.new_envelope(TRUST_UPDATED, data, source="test", subject="CN",
                                   id="unsigned")
    asyncio.run(feeds.publish(stack.bootstrap, [tampered, unsigned]))
    reasons = wait_for(lambda: (r := dead_letter_reasons(stack, "trust"))
                       and {"tampered", "unsigned"} <= set(r) and r, 90,
                       "both notifications refused")
    assert "does not verify" in reasons["tampered"]
    assert "is not signed" in reasons["unsigned"]

    added = run_eco(env, "trust", "add", str(ca))
    assert added.returncode == 0, added.stderr
    fingerprint = x509.load_pem_x509_certificate(ca.read_bytes()).fingerprint(
        hashes.SHA256()).hex()

    def listed() -> bool:
        with urllib.request.urlopen(f"{stack.web_url}/trust", timeout=5) as response:
            registry = json.load(response)
        return any(a["fingerprint"] == fingerprint for a in registry["authorities"])

    wait_for(listed, 90, "the signed notification applied (GET /trust)")
