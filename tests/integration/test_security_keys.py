"""A worker on an authority's own keys (ECO_DEV_PKI unset): office certificates issued by a CA
whose private key is not there, one office key in a file and one inside a SoftHSM2 token.
It writes none of those files, and its certificates verify with xmlsec1 and ``eco verify``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import feeds
from pipeline.submission import read_document, submission
from tests.integration.authority import (
    SOFTHSM_MODULE,
    TOKEN_LABEL,
    USER_PIN,
    Authority,
    SoftHsm,
    digests,
)
from tests.integration.harness import SAMPLES, Stack, decoded, eco, wait_for
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
    return authority, {
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


@pytest.fixture(scope="module")
def authority_stack(tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[tuple[Stack, Authority, dict[str, str]]]:
    root = tmp_path_factory.mktemp("authority")
    authority, env = authority_env(root)
    before = digests(authority.root)
    with Stack.started(root / "stack", env) as stack:
        stack.start_worker("worker", "verification", "issuance")
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
    assert not (tmp_path / "data" / "pki").exists()
