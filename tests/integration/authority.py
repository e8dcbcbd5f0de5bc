"""An issuing authority's own files for the security tests: a CA whose private key is kept
elsewhere (absent here), office keys and certificates it issued, and a SoftHSM2 token whose
office keys were generated inside it and never left it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
from asn1crypto.core import OctetString
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, KeyType
from pkcs11.util.ec import encode_named_curve_parameters

from pipeline.certificate.devpki import (
    _key_usage,
    _name,
    authority_certificate,
    certificate_pem,
    new_private_key,
    private_key_pem,
)
from pipeline.certificate.model import IssuingOffice
from pipeline.offices import BUILT_IN, Office

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL = "eco-authority"
USER_PIN = "24681357"
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def digests(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots``: a directory's contents to compare later."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


def office(code: str) -> Office:
    return next(o for o in BUILT_IN if o.code == code)


@dataclass(frozen=True)
class Authority:
    """``keys``: <OFFICE>.key (mode 0600) and <OFFICE>.pem; ``trust``: ca.pem and the offices'
    certificates; ``offices_file``: the offices it runs. The CA's key is not among them."""

    root: Path
    ca: x509.Certificate
    ca_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def trust(self) -> Path:
        return self.root / "trust"

    @property
    def offices_file(self) -> Path:
        return self.root / "offices.json"

    @classmethod
    def create(cls, root: Path) -> Authority:
        ca_key = new_private_key("rsa")
        authority = IssuingOffice("CN-AUTH", "Test issuing authority of China",
                                  "1 Authority Road, Beijing", "CN")
        now = datetime.now(UTC)
        ca = authority_certificate(ca_key, authority, not_before=now - timedelta(days=1),
                                   not_after=now + timedelta(days=365))
        made = cls(root, ca, ca_key)
        made.keys.mkdir(parents=True)
        made.trust.mkdir(parents=True)
        (made.trust / "ca.pem").write_bytes(certificate_pem(ca))
        return made

    def issue(self, code: str, public_key: PublicKey) -> bytes:
        """The office's certificate for ``public_key``, in keys/ and trust/."""
        the_office = office(code)
        entity = IssuingOffice(the_office.code, the_office.name, the_office.address, "CN")
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(entity, common_name=code))
            .issuer_name(self.ca.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=180))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(certificate_sign=False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        pem = certificate_pem(certificate)
        (self.keys / f"{code}.pem").write_bytes(pem)
        (self.trust / f"{code}.pem").write_bytes(pem)
        return pem

    def file_office(self, code: str) -> None:
        """An office whose key is a file, mode 0600 (as an authority installs it)."""
        key = new_private_key("ecdsa")
        path = self.keys / f"{code}.key"
        path.write_bytes(private_key_pem(key))
        path.chmod(0o600)
        self.issue(code, key.public_key())

    def run_offices(self, *codes: str) -> None:
        self.offices_file.write_text(json.dumps([asdict(office(c)) for c in codes]))


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token of its own (config and token directory under ``root``)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "softhsm2.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.config)}

    @classmethod
    def create(cls, root: Path) -> SoftHsm:
        hsm = cls(root)
        (root / "tokens").mkdir(parents=True)
        hsm.config.write_text(f"directories.tokendir = {root / 'tokens'}\n"
                              "objectstore.backend = file\nlog.level = ERROR\n")
        util = shutil.which("softhsm2-util")
        assert util, "softhsm2-util is needed (Debian package softhsm2)"
        subprocess.run([util, "--init-token", "--free", "--label", TOKEN_LABEL,
                        "--so-pin", "13572468", "--pin", USER_PIN],
                       env={**os.environ, **hsm.env}, check=True, capture_output=True)
        return hsm

    def generate(self, label: str, kind: str) -> PublicKey:
        """A key pair generated inside the token (the private half is not extractable);
        returns the public half."""
        os.environ["SOFTHSM2_CONF"] = str(self.config)
        token = pkcs11.lib(str(SOFTHSM_MODULE)).get_token(token_label=TOKEN_LABEL)
        with token.open(rw=True, user_pin=USER_PIN) as session:
            private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
            if kind == "rsa":
                public, _ = session.generate_keypair(KeyType.RSA, 2048, label=label, store=True,
                                                     private_template=private)
                return rsa.RSAPublicNumbers(
                    int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                    int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
            parameters = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True)
            public, _ = parameters.generate_keypair(store=True, label=label,
                                                    private_template=private)
            point = bytes(OctetString.load(public[Attribute.EC_POINT]))
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
