"""Signed notices: what the signature covers, and every way a notice is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.certificate.notices import (
    REQUESTED,
    TRUST_UPDATED,
    NoticeKeys,
    NoticeSigner,
    notice_keys,
    notice_signer,
    signing_payload,
)
from pipeline.errors import ConfigurationError, SignatureInvalid
from pipeline.settings import Settings

AT = datetime(2026, 5, 2, 8, 30, 15, 250123, tzinfo=UTC)
REQUEST = {"application_id": "A-1", "action": "REVOKE", "certificate_number": "E26-1",
           "reason": "issued in error", "approved_by": "Officer Li", "document": None,
           "requested_at": AT}


@pytest.fixture
def dev(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, dev_pki=True)


def test_a_signed_request_verifies_and_names_its_key(dev: Settings) -> None:
    data = notice_signer(dev, REQUESTED).sign("id-1", REQUESTED, "A-1", REQUEST)
    assert notice_keys(dev).verify("id-1", REQUESTED, "A-1", data) == "dev-officer"


def test_instants_are_signed_to_the_millisecond_as_avro_keeps_them(dev: Settings) -> None:
    data = notice_signer(dev, REQUESTED).sign("id-1", REQUESTED, "A-1", REQUEST)
    as_read = {**data, "requested_at": AT.replace(microsecond=250000).astimezone(
        timezone(timedelta(hours=8)))}
    assert notice_keys(dev).verify("id-1", REQUESTED, "A-1", as_read) == "dev-officer"


@pytest.mark.parametrize(("event_id", "subject", "change", "reason"), [
    ("id-2", "A-1", {}, "does not verify"),  # replayed under another id
    ("id-1", "A-2", {}, "does not verify"),  # about another application
    ("id-1", "A-1", {"action": "SUPERSEDE"}, "does not verify"),
    ("id-1", "A-1", {"signature": "not base64!"}, "does not verify"),
    ("id-1", "A-1", {"signed_by": None, "signature": None}, "is not signed"),
    ("id-1", "A-1", {"signed_by": "../keys/dev-officer"}, "not an accepted officers key"),
    ("id-1", "A-1", {"signed_by": "dev-trust-admin"}, "not an accepted officers key"),
])
def test_a_changed_or_misattributed_request_is_refused(
        dev: Settings, event_id: str, subject: str, change: dict[str, object],
        reason: str) -> None:
    data = notice_signer(dev, REQUESTED).sign("id-1", REQUESTED, "A-1", REQUEST)
    with pytest.raises(SignatureInvalid, match=reason):
        notice_keys(dev).verify(event_id, REQUESTED, subject, {**data, **change})


def test_a_trust_key_cannot_sign_an_officer_request(dev: Settings) -> None:
    trust_signer = notice_signer(dev, TRUST_UPDATED)
    data = trust_signer.sign("id-1", REQUESTED, "A-1", REQUEST)
    with pytest.raises(SignatureInvalid, match=r"dev-trust-admin.*not an accepted officers"):
        notice_keys(dev).verify("id-1", REQUESTED, "A-1", data)


def test_an_ecdsa_key_from_the_configuration_signs(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = tmp_path / "officer-7.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    (tmp_path / "accepted" / "officers").mkdir(parents=True)
    (tmp_path / "accepted" / "officers" / "officer-7.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = Settings(data_dir=tmp_path / "data", notification_key_file=private,
                        notification_keys_dir=tmp_path / "accepted")
    signer = notice_signer(settings, REQUESTED)
    assert signer.key_id == "officer-7"
    data = signer.sign("id-9", REQUESTED, "A-1", REQUEST)
    assert NoticeKeys(tmp_path / "accepted").verify("id-9", REQUESTED, "A-1", data) == "officer-7"
    assert not (tmp_path / "data").exists()  # nothing generated without ECO_DEV_PKI


def test_without_a_key_or_the_dev_pki_signing_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ECO_NOTIFICATION_KEY"):
        notice_signer(Settings(data_dir=tmp_path), TRUST_UPDATED)


def test_the_payload_leaves_out_the_signature_fields() -> None:
    plain = signing_payload("i", REQUESTED, "A-1", REQUEST)
    signed = signing_payload("i", REQUESTED, "A-1", {**REQUEST, "signed_by": "x",
                                                       "signature": "y"})
    assert plain == signed
    assert b'"requested_at":"2026-05-02T08:30:15.250+00:00"' in plain


def test_a_signer_never_shows_its_key() -> None:
    signer = NoticeSigner("k", ec.generate_private_key(ec.SECP256R1()))
    assert "key=" not in repr(signer)


def test_a_null_field_signs_the_same_as_an_absent_one(dev: Settings) -> None:
    """What a decoder gives back: optional fields the sender left out, as null."""
    sent = {k: v for k, v in REQUEST.items() if v is not None}
    data = notice_signer(dev, REQUESTED).sign("id-1", REQUESTED, "A-1", sent)
    as_read = {**data, "document": None, "added_later": None}
    assert notice_keys(dev).verify("id-1", REQUESTED, "A-1", as_read) == "dev-officer"
