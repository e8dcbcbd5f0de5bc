"""A development PKI: one issuing authority CA and a certificate and key per issuing office, so
the demo and the tests can sign and verify certificates. Never for production use.

Layout under ``out_dir``: ``trust/ca.pem`` (the authority), ``trust/<office>.pem`` (each office's
certificate), ``keys/ca.key`` and ``keys/<office>.key`` (private keys, mode 0600). Generation is
idempotent: existing files are reused as they are, and only what is missing is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.signing import SigningKey
from pipeline.certificate.trust import TrustRegistry
from pipeline.keyfiles import write_key_file

Algorithm = Literal["rsa", "ecdsa"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEV_AUTHORITY = IssuingOffice(
    code="CN-DEV",
    name="eco-pipeline development issuing authority",
    address="Development only, not an authority of any Party",
    country="CN",
)
DEV_OFFICES: tuple[IssuingOffice, ...] = tuple(
    IssuingOffice(code=f"CN-{code}", name=f"{city} issuing office (development)",
                  address=f"{city}, China", country="CN")
    for code, city in (
        ("SZX", "Shenzhen"), ("NGB", "Ningbo"), ("SHA", "Shanghai"),
        ("XMN", "Xiamen"), ("TSN", "Tianjin"), ("GZH", "Guangzhou"),
    )
)
DEV_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
DEV_LIFETIME = timedelta(days=3650)


def new_private_key(algorithm: Algorithm = "rsa") -> PrivateKey:
    """A fresh RSA-2048 or ECDSA P-256 private key."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown algorithm {algorithm!r}: rsa or ecdsa")


def _name(entity: IssuingOffice, *, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, entity.country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, entity.name),
        x509.NameAttribute(NameOID.STREET_ADDRESS, entity.address),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def authority_certificate(
    key: PrivateKey, authority: IssuingOffice, *, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    """A self-signed CA certificate naming the authority (country, name, address; Rule 3)."""
    name = _name(authority, common_name=f"{authority.name} CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificate_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def office_certificate(
    office: IssuingOffice,
    office_key: PrivateKey,
    *,
    ca_certificate: x509.Certificate,
    ca_key: PrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """An issuing office's signing certificate, issued directly by the authority's CA."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(office, common_name=office.code))
        .issuer_name(ca_certificate.subject)
        .public_key(office_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificate_sign=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(*, certificate_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not certificate_sign,
        content_commitment=not certificate_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificate_sign,
        crl_sign=certificate_sign,
        encipher_only=False,
        decipher_only=False,
    )


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class DevPki:
    """Where a development PKI lives, and how to get its keys and trust registry."""

    root: Path
    offices: tuple[IssuingOffice, ...]

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def ca_certificate_path(self) -> Path:
        return self.trust_dir / "ca.pem"

    def office(self, code: str) -> IssuingOffice:
        for office in self.offices:
            if office.code == code:
                return office
        raise KeyError(f"no office {code} in the development PKI")

    def signing_key(self, office_code: str) -> SigningKey:
        """The key and certificate an office signs with."""
        self.office(office_code)
        return SigningKey.from_files(
            self.keys_dir / f"{office_code}.key", self.trust_dir / f"{office_code}.pem"
        )

    def trust_registry(self) -> TrustRegistry:
        return TrustRegistry.from_dir(self.trust_dir)


def generate_dev_pki(
    out_dir: Path,
    offices: Sequence[IssuingOffice] = DEV_OFFICES,
    *,
    algorithm: Algorithm = "rsa",
) -> DevPki:
    """Create (or reuse) the development authority and one certificate and key per office.

    Existing files are kept whatever their algorithm; an office certificate that its CA did not
    issue (the CA was replaced) is issued again.
    """
    pki = DevPki(root=out_dir, offices=tuple(offices))
    pki.trust_dir.mkdir(parents=True, exist_ok=True)
    pki.keys_dir.mkdir(parents=True, exist_ok=True)
    not_after = datetime.now(UTC) + DEV_LIFETIME
    ca_key_path = pki.keys_dir / "ca.key"
    if pki.ca_certificate_path.exists() and ca_key_path.exists():
        ca_key = _load_key(ca_key_path)
        ca_cert = x509.load_pem_x509_certificate(pki.ca_certificate_path.read_bytes())
    else:
        ca_key = new_private_key(algorithm)
        ca_cert = authority_certificate(
            ca_key, DEV_AUTHORITY, not_before=DEV_VALID_FROM, not_after=not_after
        )
        write_key_file(ca_key_path, private_key_pem(ca_key), private=True)
        write_key_file(pki.ca_certificate_path, certificate_pem(ca_cert))
    for office in pki.offices:
        cert_path = pki.trust_dir / f"{office.code}.pem"
        key_path = pki.keys_dir / f"{office.code}.key"
        if key_path.exists() and cert_path.exists() and _issued_by(cert_path, ca_cert):
            continue
        office_key = _load_key(key_path) if key_path.exists() else new_private_key(algorithm)
        certificate = office_certificate(
            office, office_key, ca_certificate=ca_cert, ca_key=ca_key,
            not_before=DEV_VALID_FROM, not_after=not_after,
        )
        write_key_file(key_path, private_key_pem(office_key), private=True)
        write_key_file(cert_path, certificate_pem(certificate))
    return pki


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an RSA or ECDSA private key")
    return key


def _issued_by(cert_path: Path, ca_cert: x509.Certificate) -> bool:
    try:
        x509.load_pem_x509_certificate(cert_path.read_bytes()).verify_directly_issued_by(ca_cert)
    except Exception:  # any failure means: issue it again
        return False
    return True
