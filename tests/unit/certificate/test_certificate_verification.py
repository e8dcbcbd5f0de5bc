"""Sign and verify: round trips for both agreements and both algorithms, tampering, signature
wrapping, untrusted and expired certificates, and the trust registry's history."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta

import pytest
from certificate_samples import (
    ACFTA_SAMPLE,
    ISSUED_AT,
    NUMBERS,
    RCEP_SAMPLE,
    build_sample,
    load_sample,
    sign_sample,
)
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline.certificate.devpki import (
    DEV_AUTHORITY,
    DevPki,
    authority_certificate,
    certificate_pem,
    new_private_key,
    office_certificate,
    private_key_pem,
)
from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.schema import NAMESPACE
from pipeline.certificate.signing import DSIG_NS, SigningKey, sign_certificate
from pipeline.certificate.trust import TrustRegistry, TrustUpdate
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import InvalidInput, SignatureInvalid, UnsafeXml

DS = f"{{{DSIG_NS}}}"
ECO = f"{{{NAMESPACE}}}"


def _tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("sample", [RCEP_SAMPLE, ACFTA_SAMPLE])
@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_round_trip(sample: str, algorithm: str, request: pytest.FixtureRequest) -> None:
    pki: DevPki = request.getfixturevalue(f"{algorithm}_pki")
    signed = sign_sample(sample, pki)
    method = "rsa-sha256" if algorithm == "rsa" else "ecdsa-sha256"
    assert f"xmldsig-more#{method}".encode() in signed
    verified = verify_certificate(signed, pki.trust_registry())
    assert verified.number == NUMBERS[sample]
    assert verified.version == 1
    assert verified.issued_at == ISSUED_AT
    assert verified.issuing_office.code in ("CN-SZX", "CN-NGB")
    assert f"CN={verified.issuing_office.code}" in verified.signer_subject
    assert verified.authority == DEV_AUTHORITY.name


def test_signature_is_enveloped_over_the_whole_document(signed_acfta: bytes) -> None:
    root = _tree(signed_acfta)
    signature = root[-1]
    assert signature.tag == f"{DS}Signature"
    reference = signature.find(f"{DS}SignedInfo/{DS}Reference")
    assert reference is not None and reference.get("URI") == ""
    assert signature.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate") is not None


def test_a_signed_certificate_cannot_be_signed_again(rsa_pki: DevPki, signed_acfta: bytes) -> None:
    with pytest.raises(InvalidInput, match="already signed"):
        sign_certificate(signed_acfta, rsa_pki.signing_key("CN-NGB"))


def _content_text_nodes(root: etree._Element) -> list[etree._Element]:
    return [
        element for element in root.iter()
        if isinstance(element.tag, str) and element.tag.startswith(ECO) and element.text
        and element.text.strip()
    ]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_changing_any_character_of_the_content_fails(
    signed_acfta: bytes, rsa_pki: DevPki, data: st.DataObject
) -> None:
    root = _tree(signed_acfta)
    nodes = _content_text_nodes(root)
    node = nodes[data.draw(st.integers(0, len(nodes) - 1), label="node")]
    text = node.text or ""
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(
        st.sampled_from("ABCXYZabcxyz0123456789 -.").filter(lambda c: c != text[position]),
        label="replacement",
    )
    node.text = text[:position] + replacement + text[position + 1:]
    with pytest.raises(SignatureInvalid, match="does not match the document"):
        verify_certificate(_bytes(root), rsa_pki.trust_registry())


def test_changing_an_attribute_fails(signed_acfta: bytes, rsa_pki: DevPki) -> None:
    root = _tree(signed_acfta)
    criterion = root.find(f".//{ECO}OriginCriterion")
    assert criterion is not None
    criterion.set("criterion", "WO")
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_certificate(_bytes(root), rsa_pki.trust_registry())


def test_wrapping_the_signed_content_in_an_object_fails(
    signed_acfta: bytes, rsa_pki: DevPki
) -> None:
    """Classic wrapping: the signed original hidden in ds:Object, forged content outside."""
    original = _tree(signed_acfta)
    forged = copy.deepcopy(original)
    number = forged.find(f"{ECO}ReferenceNumber")
    assert number is not None
    number.text = "E263302000029999"
    signature = forged[-1]
    reference = signature.find(f"{DS}SignedInfo/{DS}Reference")
    assert reference is not None
    reference.set("URI", "#original")
    wrapper = etree.SubElement(signature, f"{DS}Object")
    hidden = copy.deepcopy(original)
    hidden.remove(hidden[-1])
    hidden.set("Id", "original")
    wrapper.append(hidden)
    with pytest.raises(SignatureInvalid):
        verify_certificate(_bytes(forged), rsa_pki.trust_registry())
    signature.remove(wrapper)
    with pytest.raises(SignatureInvalid, match="signature wrapping"):
        verify_certificate(_bytes(forged), rsa_pki.trust_registry())


def test_a_forged_certificate_around_the_signed_one_fails(
    signed_acfta: bytes, rsa_pki: DevPki
) -> None:
    outer = copy.deepcopy(_tree(signed_acfta))
    outer.remove(outer[-1])
    outer.find(f"{ECO}FormE").append(_tree(signed_acfta))  # type: ignore[union-attr]
    with pytest.raises(SignatureInvalid, match="last child"):
        verify_certificate(_bytes(outer), rsa_pki.trust_registry())
    two = _tree(signed_acfta)
    two.append(copy.deepcopy(two[-1]))
    with pytest.raises(SignatureInvalid, match="2 signatures"):
        verify_certificate(_bytes(two), rsa_pki.trust_registry())


def test_an_unsigned_certificate_fails(rsa_pki: DevPki) -> None:
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify_certificate(build_sample(ACFTA_SAMPLE, rsa_pki), rsa_pki.trust_registry())


def test_a_weak_profile_is_refused(signed_acfta: bytes, rsa_pki: DevPki) -> None:
    root = _tree(signed_acfta)
    method = root.find(f".//{DS}SignatureMethod")
    assert method is not None
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    with pytest.raises(SignatureInvalid, match="signature method"):
        verify_certificate(_bytes(root), rsa_pki.trust_registry())


def test_a_dtd_in_a_signed_certificate_is_refused(signed_acfta: bytes, rsa_pki: DevPki) -> None:
    body = signed_acfta.split(b"?>", 1)[1]
    with pytest.raises(UnsafeXml, match="DTD"):
        verify_certificate(b"<!DOCTYPE Certificate [<!ENTITY x 'y'>]>" + body,
                           rsa_pki.trust_registry())


def _foreign_key(office: IssuingOffice, not_before: datetime, not_after: datetime,
                 *, authority: IssuingOffice = DEV_AUTHORITY) -> tuple[SigningKey, bytes]:
    """A signing key under a fresh CA with the same name as the development authority."""
    ca_key, office_key = new_private_key("ecdsa"), new_private_key("ecdsa")
    ca = authority_certificate(ca_key, authority, not_before=not_before, not_after=not_after)
    certificate = office_certificate(office, office_key, ca_certificate=ca, ca_key=ca_key,
                                     not_before=not_before, not_after=not_after)
    key = SigningKey(private_key_pem(office_key), certificate_pem(certificate))
    return key, certificate_pem(ca)


YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_untrusted_authority_fails_even_with_the_same_name(rsa_pki: DevPki) -> None:
    office = rsa_pki.office("CN-NGB")
    key, _ = _foreign_key(office, YEAR_START, YEAR_START + timedelta(days=3650))
    signed = sign_certificate(build_sample(ACFTA_SAMPLE, rsa_pki), key)
    with pytest.raises(SignatureInvalid, match="not an issuing authority in the trust registry"):
        verify_certificate(signed, rsa_pki.trust_registry())


def test_an_office_certificate_expired_at_issue_fails(rsa_pki: DevPki) -> None:
    office = rsa_pki.office("CN-NGB")
    key, ca_pem = _foreign_key(office, YEAR_START, YEAR_START + timedelta(days=30))
    registry = TrustRegistry().apply_update(TrustUpdate("add", ca_pem, YEAR_START))
    signed = sign_certificate(build_sample(ACFTA_SAMPLE, rsa_pki), key)
    with pytest.raises(SignatureInvalid, match="was not valid on 2026-05-09"):
        verify_certificate(signed, registry)
    # The same certificate verifies for a moment when its signer was valid.
    assert verify_certificate(signed, registry, at=YEAR_START + timedelta(days=1)).number


def test_a_certificate_signed_before_a_key_rollover_still_verifies(rsa_pki: DevPki) -> None:
    """Form E Rule 3: the registry keeps the old authority key for what it signed."""
    office = rsa_pki.office("CN-NGB")
    key, ca_pem = _foreign_key(office, YEAR_START, YEAR_START + timedelta(days=3650))
    rollover = datetime(2026, 6, 1, tzinfo=UTC)
    registry = (
        TrustRegistry()
        .apply_update(TrustUpdate("add", ca_pem, YEAR_START))
        .apply_update(TrustUpdate("withdraw", ca_pem, rollover))
    )
    before = sign_certificate(build_sample(ACFTA_SAMPLE, rsa_pki), key)
    assert verify_certificate(before, registry).issued_at == ISSUED_AT
    after = sign_certificate(
        build_sample(ACFTA_SAMPLE, rsa_pki, issued_at=rollover + timedelta(days=1)), key
    )
    with pytest.raises(SignatureInvalid, match="was not in force"):
        verify_certificate(after, registry)


def test_an_office_of_another_country_fails(rsa_pki: DevPki) -> None:
    foreign_office = IssuingOffice("VN-HAN", "Hanoi office", "Hanoi", "VN")
    application = load_sample(ACFTA_SAMPLE) | {"issuing_office": "VN-HAN"}
    key = rsa_pki.signing_key("CN-NGB")
    xml = build_sample(ACFTA_SAMPLE, rsa_pki, application=application,
                       issuing_office=foreign_office)
    with pytest.raises(SignatureInvalid, match="names an office in VN"):
        verify_certificate(sign_certificate(xml, key), rsa_pki.trust_registry())


def test_a_replaced_signer_certificate_fails(signed_acfta: bytes, ecdsa_pki: DevPki) -> None:
    """Swapping in another office's certificate breaks the signature even if it is trusted."""
    root = _tree(signed_acfta)
    other = ecdsa_pki.signing_key("CN-NGB").certificate
    der = other.public_bytes(serialization.Encoding.DER)
    element = root.find(f".//{DS}X509Certificate")
    assert element is not None
    element.text = base64.b64encode(der).decode()
    with pytest.raises(SignatureInvalid):
        verify_certificate(_bytes(root), ecdsa_pki.trust_registry())
