"""TLS between the worker and the customs: the client context the connectors use, and a
development PKI for it (a CA, a server certificate for the sandbox customs, a client certificate
for the worker) under ``ECO_DATA_DIR/tls``. Never for production use.

Layout: ``ca.pem`` ``ca.key`` ``sandbox.pem`` ``sandbox.key`` ``worker.pem`` ``worker.key``.
Generation is idempotent: existing files are kept, only what is missing is created.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from connectors.customs.http import client_ssl_context
from pipeline.certificate.devpki import certificate_pem, private_key_pem
from pipeline.keyfiles import write_key_file
from pipeline.settings import Settings

LIFETIME = timedelta(days=825)
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class DevTls:
    """Where the development TLS files live."""

    root: Path

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.root / "sandbox.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "sandbox.key"

    @property
    def client_cert(self) -> Path:
        return self.root / "worker.pem"

    @property
    def client_key(self) -> Path:
        return self.root / "worker.key"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.ca_file, self.root / "ca.key", self.server_cert,
                                         self.server_key, self.client_cert, self.client_key))


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eco-pipeline development TLS"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _leaf(common_name: str, usage: x509.ObjectIdentifier, ca: x509.Certificate,
          ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey,
          now: datetime) -> x509.Certificate:
    names: list[x509.GeneralName] = []
    for name in SERVER_NAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def generate_dev_tls(root: Path) -> DevTls:
    """Create (or reuse) the development CA, the sandbox's server and the worker's client
    certificates; a missing CA re-issues both leaves."""
    tls = DevTls(root)
    if tls.complete():
        return tls
    root.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key_path = root / "ca.key"
    if tls.ca_file.is_file() and ca_key_path.is_file():
        ca_key = _load_ec_key(ca_key_path)
        ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("eco-pipeline development TLS CA"))
            .issuer_name(_name("eco-pipeline development TLS CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        write_key_file(ca_key_path, private_key_pem(ca_key), private=True)
        write_key_file(tls.ca_file, certificate_pem(ca))
    for cert_path, key_path, cn, usage in (
        (tls.server_cert, tls.server_key, "sandbox customs", ExtendedKeyUsageOID.SERVER_AUTH),
        (tls.client_cert, tls.client_key, "eco worker", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        write_key_file(key_path, private_key_pem(key), private=True)
        write_key_file(cert_path, certificate_pem(_leaf(cn, usage, ca, ca_key, key, now)))
    return tls


def customs_client_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the customs connectors: the configured CA bundle and client
    certificate; the development TLS when the sandbox URL is https and none is configured;
    None (the library default) for plain http."""
    if settings.tls_ca_file or settings.tls_cert_file:
        return client_ssl_context(settings.tls_ca_file, settings.tls_cert_file,
                                  settings.tls_key_file)
    if not settings.sandbox_url.startswith("https:") or not settings.dev_pki:
        return None  # the library's default: the system's CA store, no client certificate
    dev = generate_dev_tls(settings.data_dir / "tls")
    return client_ssl_context(dev.ca_file, dev.client_cert, dev.client_key)


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an ECDSA private key")
    return key
