"""Issuance signs with a key that never leaves its token (SoftHSM2 through PKCS#11), and the
certificate verifies with xmlsec1 and ``eco verify``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.certificate.officekeys import OfficeKeys
from pipeline.certificate.pkcs11key import Pkcs11Token
from pipeline.errors import ConfigurationError
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from tests.integration.authority import (
    SOFTHSM_MODULE,
    TOKEN_LABEL,
    USER_PIN,
    Authority,
    SoftHsm,
    digests,
)
from tests.integration.harness import SAMPLES

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not SOFTHSM_MODULE.exists(), reason="softhsm2 not installed")]

ITEMS = [{"item_no": 1, "criterion": "WO", "box": "WO"}]


@pytest.fixture(scope="module")
def hsm_authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Authority,
                                                                                SoftHsm]]:
    root = tmp_path_factory.mktemp("hsm")
    hsm = SoftHsm.create(root / "hsm")
    authority = Authority.create(root / "authority")
    authority.issue("CN-SHA", hsm.generate("cn-sha-2026", "rsa"))
    authority.issue("CN-SZX", hsm.generate("cn-szx-2026", "ecdsa"))
    authority.run_offices("CN-SHA", "CN-SZX")
    yield authority, hsm


def keys_in_token(authority: Authority, labels: dict[str, str]) -> OfficeKeys:
    token = Pkcs11Token(SOFTHSM_MODULE, TOKEN_LABEL, USER_PIN)
    return OfficeKeys(authority.keys, authority.trust, token, labels)


def xmlsec1_verifies(path: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    xmlsec1 = shutil.which("xmlsec1")
    assert xmlsec1, "xmlsec1 is needed (Debian package xmlsec1)"
    return subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(ca), str(path)],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("office", "sample"), [("CN-SHA", "03-rcep-tshirts-my.json"),
                                                ("CN-SZX", "01-rcep-led-luminaires-vn.json")])
def test_issuance_signs_inside_the_token(hsm_authority: tuple[Authority, SoftHsm],
                                         tmp_path: Path, office: str, sample: str) -> None:
    authority, _ = hsm_authority
    before = digests(authority.root)
    keys = keys_in_token(authority, {"CN-SHA": "cn-sha-2026", "CN-SZX": "cn-szx-2026"})
    assert not list(authority.keys.glob("*.key"))  # no private key outside the token
    factory = CertificateFactory(load_offices(authority.offices_file), keys, tmp_path / "docs")
    factory.prepare_keys()
    document = json.loads((SAMPLES / sample).read_text())
    certificate = factory.issue(document, ITEMS, office=factory.office(office), serial=1,
                                version=1, issued_at=datetime.now(UTC).replace(microsecond=0),
                                issued_retroactively=False)
    path = factory.store(certificate)

    checked = xmlsec1_verifies(path, authority.trust / "ca.pem")
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout + checked.stderr
    verified = subprocess.run([sys.executable, "-m", "pipeline", "verify", str(path),
                               "--trust", str(authority.trust)],
                              capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert certificate.number in verified.stdout
    assert digests(authority.root) == before


def test_a_label_the_token_does_not_hold_stops_start_up(
        hsm_authority: tuple[Authority, SoftHsm], tmp_path: Path) -> None:
    authority, _ = hsm_authority
    keys = keys_in_token(authority, {"CN-SHA": "no-such-key", "CN-SZX": "cn-sha-2026"})
    factory = CertificateFactory(load_offices(authority.offices_file), keys, tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        factory.prepare_keys()
    problems = caught.value.problems
    assert any("office CN-SHA" in p and "no-such-key" in p for p in problems), problems
    # CN-SZX's certificate is ECDSA, the label names CN-SHA's RSA key: not its key.
    assert any("office CN-SZX" in p and "cn-sha-2026" in p for p in problems), problems
