"""The development PKI: files, permissions, idempotence, both algorithms."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.certificate.devpki import DEV_OFFICES, DevPki, generate_dev_pki

REQUIRED_OFFICES = {"CN-SZX", "CN-NGB", "CN-SHA", "CN-XMN", "CN-TSN", "CN-GZH"}


def test_layout_has_the_authority_and_every_office(rsa_pki: DevPki) -> None:
    assert {office.code for office in DEV_OFFICES} >= REQUIRED_OFFICES
    assert (rsa_pki.trust_dir / "ca.pem").is_file()
    for code in REQUIRED_OFFICES:
        assert (rsa_pki.trust_dir / f"{code}.pem").is_file()
        key_file = rsa_pki.keys_dir / f"{code}.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = rsa_pki.signing_key(code)
        assert key.algorithm == "rsa"
        assert f"CN={code}" in key.certificate.subject.rfc4514_string()
    assert not any(rsa_pki.trust_dir.glob("*.key"))


def test_ecdsa_keys_are_p256(ecdsa_pki: DevPki) -> None:
    key = ecdsa_pki.signing_key("CN-SZX")
    public = key.certificate.public_key()
    assert key.algorithm == "ecdsa"
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"


def test_generation_is_idempotent(tmp_path: Path) -> None:
    offices = DEV_OFFICES[:2]
    first = generate_dev_pki(tmp_path, offices, algorithm="ecdsa")
    before = {path.name: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    generate_dev_pki(tmp_path, offices, algorithm="ecdsa")
    after = {path.name: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert before == after
    assert first.trust_registry().authorities


def test_only_missing_files_are_made_and_a_new_ca_reissues_offices(tmp_path: Path) -> None:
    offices = DEV_OFFICES[:2]
    pki = generate_dev_pki(tmp_path, offices, algorithm="ecdsa")
    kept = (pki.trust_dir / f"{offices[0].code}.pem").read_bytes()
    (pki.trust_dir / f"{offices[1].code}.pem").unlink()
    generate_dev_pki(tmp_path, offices, algorithm="ecdsa")
    assert (pki.trust_dir / f"{offices[0].code}.pem").read_bytes() == kept
    assert (pki.trust_dir / f"{offices[1].code}.pem").is_file()
    (pki.trust_dir / "ca.pem").unlink()
    generate_dev_pki(tmp_path, offices, algorithm="ecdsa")
    assert (pki.trust_dir / f"{offices[0].code}.pem").read_bytes() != kept
    registry = pki.trust_registry()
    registry.authority_for(pki.signing_key(offices[0].code).certificate,
                           pki.signing_key(offices[0].code).certificate.not_valid_before_utc)
