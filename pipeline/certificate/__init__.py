"""The e-CO certificate document: build (XML + XSD), sign and verify (XMLDSig), the trust
registry of issuing authorities, reference numbers and the hardened XML parser."""

from pipeline.certificate.document import build_certificate
from pipeline.certificate.model import IssuingOffice, ItemCriterion, VerifiedCertificate
from pipeline.certificate.numbering import ReferenceFormat, ReferenceNumber, format_reference
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.signing import SigningKey, sign_certificate
from pipeline.certificate.trust import IssuingAuthority, TrustRegistry, TrustUpdate
from pipeline.certificate.verification import verify_certificate

__all__ = [
    "IssuingAuthority",
    "IssuingOffice",
    "ItemCriterion",
    "ReferenceFormat",
    "ReferenceNumber",
    "SigningKey",
    "TrustRegistry",
    "TrustUpdate",
    "VerifiedCertificate",
    "build_certificate",
    "format_reference",
    "parse_xml",
    "sign_certificate",
    "verify_certificate",
]
