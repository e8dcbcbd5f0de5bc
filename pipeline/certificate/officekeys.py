"""The issuing offices' signing keys of a deployment, read from configured places and never
written: ``ECO_OFFICE_KEYS_DIR`` holds ``<OFFICE>.key`` and ``<OFFICE>.pem`` (the certificate may
sit in ``ECO_TRUST_DIR`` instead), ``ECO_TRUST_DIR`` the trust anchors (the issuing authority's
CA certificates). An office listed in ``ECO_PKCS11_KEY_LABELS`` signs inside its token instead
of with a key file.

Every office is checked before the first certificate: the files are there, readable by their
owner only, the key matches the certificate (a test signature verifies with the certificate's
key), and the certificate was issued by a CA of the trust directory and is valid now. Every
problem is reported at once, each naming the office and the file.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from pipeline.certificate.pkcs11key import Pkcs11Key, Pkcs11Token
from pipeline.certificate.signing import Signer, SigningKey
from pipeline.certificate.trust import is_ca
from pipeline.errors import ConfigurationError
from pipeline.settings import Settings

KEY_CHECK = b"eco-pipeline: does this key belong to its certificate?"


@dataclass(frozen=True)
class OfficeKeys:
    """Where the offices' keys and certificates are, and the token for those kept in one."""

    keys_dir: Path
    trust_dir: Path
    token: Pkcs11Token | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> OfficeKeys:
        token = None
        if settings.pkcs11_module is not None:
            pin = settings.pkcs11_pin
            if settings.pkcs11_pin_file is not None:
                pin = settings.pkcs11_pin_file.read_text(encoding="utf-8").strip()
            token = Pkcs11Token(settings.pkcs11_module, settings.pkcs11_token_label, pin)
        return cls(settings.office_keys, settings.trust, token, dict(settings.pkcs11_key_labels))

    def key_path(self, office: str) -> Path:
        return self.keys_dir / f"{office}.key"

    def certificate_path(self, office: str) -> Path:
        """``<OFFICE>.pem`` in the keys directory, else in the trust directory."""
        beside_key = self.keys_dir / f"{office}.pem"
        in_trust = self.trust_dir / f"{office}.pem"
        return in_trust if not beside_key.exists() and in_trust.exists() else beside_key

    def load(self, office: str) -> Signer:
        """The office's signer, checked; ConfigurationError naming every problem otherwise."""
        signer, problems = self._load(office, self._anchors())
        if signer is None:
            raise ConfigurationError(problems)
        return signer

    def load_all(self, offices: Iterable[str]) -> dict[str, Signer]:
        """Every office's signer; one ConfigurationError naming the problems of all of them."""
        anchors = self._anchors()
        signers: dict[str, Signer] = {}
        problems: list[str] = []
        if not anchors:
            problems.append(f"{self.trust_dir}: no CA certificate (*.pem) to trust "
                            "(ECO_TRUST_DIR)")
        for office in offices:
            signer, found = self._load(office, anchors)
            problems += found
            if signer is not None:
                signers[office] = signer
        if problems:
            raise ConfigurationError(problems)
        return signers

    def _anchors(self) -> list[x509.Certificate]:
        anchors = []
        for path in sorted(self.trust_dir.glob("*.pem")) if self.trust_dir.is_dir() else []:
            try:
                certificate = x509.load_pem_x509_certificate(path.read_bytes())
            except (OSError, ValueError):
                continue
            if is_ca(certificate):
                anchors.append(certificate)
        return anchors

    def _load(self, office: str, anchors: list[x509.Certificate]
              ) -> tuple[Signer | None, list[str]]:
        cert_path = self.certificate_path(office)
        where = f"office {office}"
        try:
            cert_pem = cert_path.read_bytes()
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except FileNotFoundError:
            return None, [f"{where}: {cert_path} is missing (the office's certificate, "
                          "<OFFICE>.pem in ECO_OFFICE_KEYS_DIR or ECO_TRUST_DIR)"]
        except (OSError, ValueError) as exc:
            return None, [f"{where}: {cert_path} is not a PEM X.509 certificate ({exc})"]
        problems = _certificate_problems(where, cert_path, certificate, anchors)
        signer: Signer | None = None
        label = self.labels.get(office)
        if label is not None:
            if self.token is None:
                return None, [*problems, f"{where}: ECO_PKCS11_KEY_LABELS names it but "
                                         "ECO_PKCS11_MODULE is not set"]
            try:
                signer = Pkcs11Key(self.token, label, cert_pem)
                _check_pair(signer, certificate)
            except Exception as exc:  # any token error: name it, with the office
                return None, [*problems, f"{where}: key {label!r} in token "
                                         f"{self.token.token_label!r} for {cert_path}: {exc}"]
        else:
            key_path = self.key_path(office)
            try:
                mode = stat.S_IMODE(key_path.stat().st_mode)
                if mode & 0o077:
                    problems.append(f"{where}: {key_path} is readable by others (mode "
                                    f"{mode:o}); make it 0600")
                signer = SigningKey(key_path.read_bytes(), cert_pem)
                _check_pair(signer, certificate)
            except FileNotFoundError:
                return None, [*problems, f"{where}: {key_path} is missing (the office's "
                                         "private key, <OFFICE>.key in ECO_OFFICE_KEYS_DIR)"]
            except (OSError, ValueError, TypeError) as exc:
                return None, [*problems, f"{where}: {key_path} with {cert_path}: {exc}"]
        return (None if problems else signer), problems


def _certificate_problems(where: str, path: Path, certificate: x509.Certificate,
                          anchors: list[x509.Certificate]) -> list[str]:
    problems = []
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        problems.append(f"{where}: {path} is not valid now (valid "
                        f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
                        f"{certificate.not_valid_after_utc:%Y-%m-%d})")
    if anchors and not any(_issued_by(certificate, ca) for ca in anchors):
        problems.append(f"{where}: {path} was not issued by a CA certificate of the trust "
                        "directory (ECO_TRUST_DIR)")
    return problems


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_pair(signer: Signer, certificate: x509.Certificate) -> None:
    """A test signature by ``signer`` verifies with the certificate's key; ValueError if not."""
    value = signer.sign(KEY_CHECK)
    public = certificate.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(value, KEY_CHECK, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            der = encode_dss_signature(int.from_bytes(value[:half], "big"),
                                       int.from_bytes(value[half:], "big"))
            public.verify(der, KEY_CHECK, ec.ECDSA(hashes.SHA256()))
        else:
            raise ValueError("the certificate's key is neither RSA nor ECDSA")
    except InvalidSignature:
        raise ValueError("the key does not match the certificate") from None
