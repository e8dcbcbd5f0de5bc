"""The trust registry of issuing authorities: loading, updates, history, chain checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.certificate.devpki import (
    DEV_AUTHORITY,
    DevPki,
    authority_certificate,
    certificate_pem,
    new_private_key,
    office_certificate,
)
from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.trust import IssuingAuthority, TrustRegistry, TrustUpdate
from pipeline.errors import SignatureInvalid

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=365)
THAI_AUTHORITY = IssuingOffice("TH-DFT", "Department of Foreign Trade", "Nonthaburi", "TH")


def test_from_dir_keeps_only_authorities(rsa_pki: DevPki) -> None:
    registry = TrustRegistry.from_dir(rsa_pki.trust_dir)
    assert len(rsa_pki.offices) >= 6
    assert len(registry.authorities) == 1
    authority = registry.authorities[0]
    assert (authority.country, authority.name) == ("CN", DEV_AUTHORITY.name)
    assert authority.address == DEV_AUTHORITY.address
    assert registry.countries == frozenset({"CN"})


def test_from_dir_reports_a_bad_file_and_a_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("not a certificate")
    with pytest.raises(ValueError, match=r"broken\.pem"):
        TrustRegistry.from_dir(tmp_path)
    with pytest.raises(FileNotFoundError):
        TrustRegistry.from_dir(tmp_path / "absent")


def test_updates_are_idempotent_and_per_country() -> None:
    key = new_private_key("ecdsa")
    pem = certificate_pem(authority_certificate(key, THAI_AUTHORITY, not_before=START,
                                                not_after=END))
    add = TrustUpdate("add", pem, START, name="DFT Bangkok", address="Bangkok")
    once = TrustRegistry().apply_update(add)
    assert once.apply_update(add) == once
    (authority,) = once.for_country("TH")
    assert (authority.name, authority.address, authority.in_force_from) == (
        "DFT Bangkok", "Bangkok", START)
    assert once.for_country("CN") == ()
    withdrawn = once.apply_update(TrustUpdate("withdraw", pem, START + timedelta(days=10)))
    assert withdrawn.for_country("TH")[0].in_force_until == START + timedelta(days=10)
    assert once.for_country("TH")[0].in_force_until is None  # the old value is untouched


def test_an_office_certificate_is_not_an_authority() -> None:
    ca_key, office_key = new_private_key("ecdsa"), new_private_key("ecdsa")
    ca = authority_certificate(ca_key, THAI_AUTHORITY, not_before=START, not_after=END)
    office = office_certificate(THAI_AUTHORITY, office_key, ca_certificate=ca, ca_key=ca_key,
                                not_before=START, not_after=END)
    with pytest.raises(ValueError, match="must be a CA"):
        IssuingAuthority.from_certificate(office)


def test_authority_for_checks_issuer_validity_and_role() -> None:
    ca_key, office_key = new_private_key("ecdsa"), new_private_key("ecdsa")
    ca = authority_certificate(ca_key, THAI_AUTHORITY, not_before=START, not_after=END)
    signer = office_certificate(THAI_AUTHORITY, office_key, ca_certificate=ca, ca_key=ca_key,
                                not_before=START, not_after=START + timedelta(days=30))
    registry = TrustRegistry().add(IssuingAuthority.from_certificate(ca))
    assert registry.authority_for(signer, START + timedelta(days=1)).country == "TH"
    with pytest.raises(SignatureInvalid, match="was not valid on"):
        registry.authority_for(signer, START + timedelta(days=31))
    with pytest.raises(SignatureInvalid, match="is a CA certificate"):
        registry.authority_for(ca, START + timedelta(days=1))
    with pytest.raises(SignatureInvalid, match="not an issuing authority"):
        TrustRegistry().authority_for(signer, START + timedelta(days=1))
    with pytest.raises(ValueError, match="time zone"):
        registry.authority_for(signer, datetime(2026, 1, 2))
