"""Verifies a signed certificate: the signature profile, the signature itself (xmlsec), the
document against the XSD, and the signer against the trust registry (Form E Rule 3).

Only one profile is accepted, the one ``signing`` produces: exactly one ds:Signature, the last
child of the root, whose single Reference has URI="" (the whole document) with the enveloped
transform. That closes the door on signature wrapping: what is read is what was signed.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from pipeline.certificate.model import IssuingOffice, VerifiedCertificate
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.schema import NAMESPACE, validate_certificate
from pipeline.certificate.signing import (
    DSIG_NS,
    ECDSA_SHA256,
    ENVELOPED,
    EXC_C14N,
    MIN_RSA_BITS,
    RSA_SHA256,
    SHA256,
)
from pipeline.certificate.trust import IssuingAuthority, TrustRegistry
from pipeline.errors import SignatureInvalid

DS = f"{{{DSIG_NS}}}"
ECO = f"{{{NAMESPACE}}}"
FORMS = {"ACFTA": f"{ECO}FormE", "RCEP": f"{ECO}FormRCEP"}


def verify_certificate(
    xml: bytes, trust: TrustRegistry, *, at: datetime | None = None,
    schema_checked: bool = False,
) -> VerifiedCertificate:
    """Verify a signed certificate and return what it establishes.

    The signer's certificate must chain to an issuing authority of the registry and both must
    have been valid at ``at`` (by default the certificate's own issue time).
    ``schema_checked`` skips the XSD validation for a document its issuer has just built and
    validated (one validation per certificate on the issuing path). Raises
    SignatureInvalid with the reason, UnsafeXml or InvalidInput for a document that is not a
    readable certificate.
    """
    root = parse_xml(xml, source="certificate")
    signature = _the_signature(root)
    signer = _check_profile(signature)
    _check_signature_value(signature, signer)
    if not schema_checked:
        validate_certificate(root, source="certificate")

    number = _child_text(root, "ReferenceNumber")
    issued_at = datetime.fromisoformat(_child_text(root, "IssuedAt"))
    office_element = root.find(f"{ECO}IssuingOffice")
    assert office_element is not None  # guaranteed by the XSD
    office = IssuingOffice(
        code=office_element.get("code", ""),
        name=_child_text(office_element, "Name"),
        address=_child_text(office_element, "Address"),
        country=_child_text(office_element, "Country"),
    )
    agreement = root.get("agreement", "")
    if root.find(FORMS[agreement]) is None:
        raise SignatureInvalid(f"certificate {number} says {agreement} but carries another form")
    authority = authorised_signer(trust, signer, office.country, at or issued_at,
                                  f"certificate {number}")
    if _child_text(root, "IssuedIn") != office.country:
        raise SignatureInvalid(
            f"certificate {number} names an office in {office.country} but says it was "
            f"issued in {_child_text(root, 'IssuedIn')}"
        )
    supersedes = root.find(f"{ECO}Supersedes")
    return VerifiedCertificate(
        number=number,
        version=int(_child_text(root, "Version")),
        agreement=agreement,
        issuing_office=office,
        issued_at=issued_at,
        signer_subject=signer.subject.rfc4514_string(),
        authority=authority.name,
        supersedes=supersedes.text if supersedes is not None else None,
    )


def authorised_signer(trust: TrustRegistry, signer: x509.Certificate, country: str,
                      at: datetime, what: str) -> IssuingAuthority:
    """The issuing authority under which ``signer`` signs for an office in ``country`` at
    ``at`` (Form E Rule 3); SignatureInvalid naming ``what`` otherwise. The issuer checks the
    signer of each certificate it makes with this too."""
    authority = trust.authority_for(signer, at)
    if authority.country != country:
        raise SignatureInvalid(
            f"{what} names an office in {country} but is signed under {authority.name} of "
            f"{authority.country}"
        )
    return authority


def _the_signature(root: etree._Element) -> etree._Element:
    """Exactly one signature, placed as the last child of the certificate element."""
    signatures = root.findall(f".//{DS}Signature")
    if root.tag == f"{DS}Signature":
        signatures.insert(0, root)
    if not signatures:
        raise SignatureInvalid("the certificate is not signed")
    if len(signatures) > 1:
        raise SignatureInvalid(f"the document carries {len(signatures)} signatures; one allowed")
    signature = signatures[0]
    if root.tag != f"{ECO}Certificate":
        raise SignatureInvalid(f"the signed element is {root.tag}, not an eco-pipeline certificate")
    if signature.getparent() is not root or root[-1] is not signature:
        raise SignatureInvalid("the signature must be the last child of the certificate element")
    return signature


def _check_profile(signature: etree._Element) -> x509.Certificate:
    """The only accepted profile: URI="" + enveloped, exclusive C14N, SHA-256, one X.509 cert."""
    children = [child.tag for child in signature if isinstance(child.tag, str)]
    if children != [f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo"]:
        raise SignatureInvalid(
            "the signature must hold SignedInfo, SignatureValue and KeyInfo, nothing else"
        )
    signed_info = signature.find(f"{DS}SignedInfo")
    assert signed_info is not None  # checked just above
    c14n = _algorithm(signed_info, "CanonicalizationMethod")
    if c14n != EXC_C14N:
        raise SignatureInvalid(f"canonicalization {c14n} is not exclusive C14N")
    method = _algorithm(signed_info, "SignatureMethod")
    if method not in (RSA_SHA256, ECDSA_SHA256):
        raise SignatureInvalid(f"signature method {method} is not rsa-sha256 or ecdsa-sha256")
    references = signed_info.findall(f"{DS}Reference")
    if len(references) != 1:
        raise SignatureInvalid(
            f"the signature has {len(references)} references; exactly one is allowed"
        )
    reference = references[0]
    uri = reference.get("URI")
    if uri != "":
        raise SignatureInvalid(
            f"the signature references {uri!r}, not the whole document (URI=\"\"): "
            "possible signature wrapping"
        )
    transforms = [t.get("Algorithm") for t in reference.findall(f"{DS}Transforms/{DS}Transform")]
    if transforms not in ([ENVELOPED], [ENVELOPED, EXC_C14N]):
        raise SignatureInvalid(
            f"reference transforms {transforms} are not enveloped + exclusive C14N"
        )
    digest = _algorithm(reference, "DigestMethod")
    if digest != SHA256:
        raise SignatureInvalid(f"digest method {digest} is not SHA-256")

    encoded = signature.findall(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    if len(encoded) != 1:
        raise SignatureInvalid("KeyInfo must carry exactly one X.509 certificate, the signer's")
    try:
        signer = x509.load_der_x509_certificate(base64.b64decode(encoded[0].text or ""))
    except (ValueError, binascii.Error) as exc:
        raise SignatureInvalid(f"the signer's X.509 certificate cannot be read: {exc}") from exc
    key = signer.public_key()
    expected = RSA_SHA256 if isinstance(key, rsa.RSAPublicKey) else ECDSA_SHA256
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise SignatureInvalid(
            f"the signer's RSA key has {key.key_size} bits; {MIN_RSA_BITS} are needed"
        )
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise SignatureInvalid(f"the signer's ECDSA key is on {key.curve.name}, not P-256")
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or method != expected:
        raise SignatureInvalid(f"signature method {method} does not match the signer's key")
    return signer


def _check_signature_value(signature: etree._Element, signer: x509.Certificate) -> None:
    """Check the signature with xmlsec, with the signer's key only and the profile's transforms."""
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(
        signer.public_bytes(serialization.Encoding.PEM),
        xmlsec.constants.KeyDataFormatCertPem,
        None,
    )
    for transform in (
        xmlsec.constants.TransformExclC14N,
        xmlsec.constants.TransformRsaSha256,
        xmlsec.constants.TransformEcdsaSha256,
    ):
        context.enable_signature_transform(transform)
    for transform in (
        xmlsec.constants.TransformEnveloped,
        xmlsec.constants.TransformExclC14N,
        xmlsec.constants.TransformSha256,
    ):
        context.enable_reference_transform(transform)
    try:
        context.verify(signature)
    except xmlsec.Error as exc:
        raise SignatureInvalid(
            "the signature does not match the document: it was changed after signing "
            f"or signed with another key ({exc})"
        ) from exc


def _algorithm(parent: etree._Element, name: str) -> str | None:
    element = parent.find(f"{DS}{name}")
    return None if element is None else element.get("Algorithm")


def _child_text(parent: etree._Element, name: str) -> str:
    element = parent.find(f"{ECO}{name}")
    if element is None or element.text is None:
        raise SignatureInvalid(f"the certificate has no {name}")
    return element.text
