"""Signs a certificate with its issuing office's key: an enveloped XML signature (XMLDSig) over
the whole document, so that nothing in it can change after issuance (Form E Rule 10).

Profile: Reference URI="" with the enveloped-signature and exclusive C14N transforms, SHA-256
digest, exclusive C14N of SignedInfo, rsa-sha256 (RSA 2048 or more) or ecdsa-sha256 (P-256), and
KeyInfo carrying the office's X.509 certificate.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from pipeline.certificate.safexml import parse_xml
from pipeline.errors import InvalidInput, Problem

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
MIN_RSA_BITS = 2048
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """An issuing office's private key and its X.509 certificate, both PEM.

    ``algorithm`` (``rsa`` or ``ecdsa``) is read from the key. The key is parsed once, here:
    loading an RSA key checks it, which costs far more than a signature. It is never shown in
    ``repr``.
    """

    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    algorithm: str = field(init=False)
    _key: PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        certificate = x509.load_pem_x509_certificate(self.cert_pem)
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < MIN_RSA_BITS:
                raise ValueError(f"an RSA signing key needs {MIN_RSA_BITS} bits or more")
            object.__setattr__(self, "algorithm", "rsa")
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise ValueError(f"an ECDSA signing key must be on P-256, not {key.curve.name}")
            object.__setattr__(self, "algorithm", "ecdsa")
        else:
            raise ValueError("the signing key must be RSA or ECDSA P-256")
        object.__setattr__(self, "_key", key)
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        encoding = serialization.Encoding.DER
        if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(
            encoding, public
        ):
            raise ValueError("the signing key does not match its certificate")

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> SigningKey:
        """Load a PEM private key (unencrypted) and the matching PEM certificate."""
        return cls(key_path.read_bytes(), cert_path.read_bytes())

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def sign(self, data: bytes) -> bytes:
        """The SignatureValue over ``data`` (see :class:`Signer`)."""
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return xmldsig_ecdsa_value(key.sign(data, ec.ECDSA(hashes.SHA256())))
        raise ValueError("the signing key must be RSA or ECDSA P-256")


class Signer(Protocol):
    """The signing seam: where an office's private key lives is the implementation's business
    (a file, :class:`SigningKey`; a PKCS#11 token, ``pipeline.certificate.pkcs11key``).

    ``sign`` returns the XMLDSig SignatureValue over ``data`` with SHA-256: PKCS#1 v1.5 for RSA,
    the raw ``r || s`` for ECDSA (RFC 4050).
    """

    @property
    def cert_pem(self) -> bytes: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def sign_certificate(xml: bytes, key: Signer) -> bytes:
    """Return ``xml`` with an enveloped signature appended as the last child of its root.

    The digest and SignatureValue are computed here and only the private operation is asked of
    ``key``, so a key that never leaves its token signs exactly like a key file. Refuses a
    document that is already signed: a signed certificate is never edited (Rule 10).
    """
    root = parse_xml(xml)
    if root.find(f".//{{{DSIG_NS}}}Signature") is not None:
        raise InvalidInput([Problem("Signature", "the document is already signed")])
    method = (
        xmlsec.constants.TransformRsaSha256
        if key.algorithm == "rsa"
        else xmlsec.constants.TransformEcdsaSha256
    )
    # The document as the enveloped-signature and exclusive C14N transforms will see it.
    document = etree.tostring(root, method="c14n", exclusive=True, with_comments=False)
    signature = xmlsec.template.create(
        root, xmlsec.constants.TransformExclC14N, method, ns="ds"
    )
    root.append(signature)
    reference = xmlsec.template.add_reference(
        signature, xmlsec.constants.TransformSha256, uri=""
    )
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    x509_data = xmlsec.template.add_x509_data(key_info)
    xmlsec.template.x509_data_add_certificate(x509_data)

    _child(reference, "DigestValue").text = _b64(hashlib.sha256(document).digest())
    certificate = x509.load_pem_x509_certificate(key.cert_pem)
    _child(x509_data, "X509Certificate").text = _b64(
        certificate.public_bytes(serialization.Encoding.DER))
    signed_info = _child(signature, "SignedInfo")
    canonical = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    _child(signature, "SignatureValue").text = _b64(key.sign(canonical))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _child(parent: etree._Element, name: str) -> etree._Element:
    found = parent.find(f".//{{{DSIG_NS}}}{name}")
    if found is None:
        raise ValueError(f"the signature template has no ds:{name}")
    return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def xmldsig_ecdsa_value(der_signature: bytes, size: int = 32) -> bytes:
    """An ECDSA signature as XMLDSig carries it: ``r || s``, each ``size`` bytes (RFC 4050)."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
