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


# History (Form E Rule 3): every period an authority was in force is kept.

def _thai_ca() -> bytes:
    key = new_private_key("ecdsa")
    return certificate_pem(authority_certificate(key, THAI_AUTHORITY, not_before=START,
                                                 not_after=END))


def test_an_add_of_a_certificate_in_force_updates_its_entry_and_keeps_its_start() -> None:
    pem = _thai_ca()
    registry = TrustRegistry().apply_update(TrustUpdate("add", pem, START))
    later = START + timedelta(days=5)
    renamed = registry.apply_update(TrustUpdate("add", pem, later, name="DFT", address="Bangkok"))
    (entry,) = renamed.for_country("TH")
    assert (entry.name, entry.address, entry.in_force_from) == ("DFT", "Bangkok", START)
    unnamed = renamed.apply_update(TrustUpdate("add", pem, later))
    assert unnamed.for_country("TH")[0].name == "DFT"  # no name notified: the entry keeps its


def test_a_withdrawal_closes_the_entry_and_a_new_add_opens_another() -> None:
    pem = _thai_ca()
    withdrawn_at, readded_at = START + timedelta(days=10), START + timedelta(days=20)
    registry = (TrustRegistry()
                .apply_update(TrustUpdate("add", pem, START))
                .apply_update(TrustUpdate("withdraw", pem, withdrawn_at))
                .apply_update(TrustUpdate("add", pem, readded_at, name="DFT again")))
    first, second = registry.for_country("TH")
    assert (first.in_force_from, first.in_force_until) == (START, withdrawn_at)
    assert (second.in_force_from, second.in_force_until) == (readded_at, None)
    assert (first.name, second.name) == (THAI_AUTHORITY.name, "DFT again")
    assert first.fingerprint == second.fingerprint
    assert registry.in_force_at(START + timedelta(days=15)) == ()
    assert registry.in_force_at(START + timedelta(days=25)) == (second,)


def test_a_withdrawal_again_changes_nothing_and_of_an_unknown_certificate_is_an_error() -> None:
    pem = _thai_ca()
    registry = TrustRegistry().apply_update(TrustUpdate("add", pem, START))
    withdrawn = registry.apply_update(TrustUpdate("withdraw", pem, START + timedelta(days=1)))
    again = withdrawn.apply_update(TrustUpdate("withdraw", pem, START + timedelta(days=2)))
    assert again == withdrawn
    with pytest.raises(ValueError, match=r"cannot withdraw .*O=Department of Foreign Trade.*"
                                         r"not an issuing authority in the trust registry"):
        TrustRegistry().apply_update(TrustUpdate("withdraw", pem, START))


def test_a_withdrawal_before_the_entry_came_into_force_is_an_error() -> None:
    pem = _thai_ca()
    registry = TrustRegistry().apply_update(TrustUpdate("add", pem, START + timedelta(days=3)))
    with pytest.raises(ValueError, match="in force only from 2026-01-04"):
        registry.apply_update(TrustUpdate("withdraw", pem, START))


def test_updates_refuse_a_naive_time_and_text_that_is_not_pem() -> None:
    with pytest.raises(ValueError, match="time zone"):
        TrustRegistry().apply_update(TrustUpdate("add", _thai_ca(), datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="not a PEM certificate"):
        TrustRegistry().apply_update(TrustUpdate("add", b"garbage", START))


def test_a_certificate_verifies_against_the_period_its_authority_was_in_force(
    rsa_pki: DevPki,
) -> None:
    """Issued before the withdrawal: valid, and stays valid; issued while withdrawn: invalid;
    issued after the authority is added again: valid."""
    from certificate_samples import ACFTA_SAMPLE, ISSUED_AT, sign_sample

    from pipeline.certificate.verification import verify_certificate

    ca_pem = rsa_pki.ca_certificate_path.read_bytes()
    withdrawn_at, readded_at = ISSUED_AT + timedelta(days=7), ISSUED_AT + timedelta(days=30)
    before = sign_sample(ACFTA_SAMPLE, rsa_pki)
    during = sign_sample(ACFTA_SAMPLE, rsa_pki, issued_at=ISSUED_AT + timedelta(days=10))
    after = sign_sample(ACFTA_SAMPLE, rsa_pki, issued_at=ISSUED_AT + timedelta(days=40))
    files = rsa_pki.trust_registry()
    withdrawn = files.apply_update(TrustUpdate("withdraw", ca_pem, withdrawn_at))
    readded = withdrawn.apply_update(TrustUpdate("add", ca_pem, readded_at))

    assert verify_certificate(before, withdrawn).number == "E263302000020001"
    with pytest.raises(SignatureInvalid, match=r"the issuing authority eco-pipeline development "
                                               r"issuing authority \(CN\) was not in force on "):
        verify_certificate(during, withdrawn)
    with pytest.raises(SignatureInvalid, match="was not in force"):
        verify_certificate(after, withdrawn)
    assert verify_certificate(after, readded).authority == DEV_AUTHORITY.name
    assert verify_certificate(before, readded).authority == DEV_AUTHORITY.name
    with pytest.raises(SignatureInvalid, match="was not in force"):
        verify_certificate(during, readded)  # the gap stays a gap
    assert len(readded.authorities) == 2
