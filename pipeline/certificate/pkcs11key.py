"""An issuing office's key that never leaves its token: signing through PKCS#11 (an HSM, or
SoftHSM2 in the tests) with ``python-pkcs11``.

The token signs; the office's X.509 certificate is read from a file (``<OFFICE>.pem``), so that
the certificate can be renewed without touching the token. An authority points the worker at its
HSM with ``ECO_PKCS11_MODULE`` (the vendor's PKCS#11 library), ``ECO_PKCS11_TOKEN_LABEL``,
``ECO_PKCS11_PIN_FILE`` (or ``ECO_PKCS11_PIN``) and ``ECO_PKCS11_KEY_LABELS``
(``OFFICE=LABEL,...``).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import KeyType, Mechanism, ObjectClass

from pipeline.certificate.signing import MIN_RSA_BITS

_SESSIONS: dict[tuple[str, str], Any] = {}
_LOCK = threading.RLock()


@dataclass(frozen=True)
class Pkcs11Token:
    """Where the office keys are: the PKCS#11 library, the token's label and its user PIN."""

    module: Path
    token_label: str
    pin: str = field(repr=False)

    def session(self) -> Any:
        """One logged-in session per token and process, opened on first use."""
        key = (str(self.module), self.token_label)
        with _LOCK:
            if key not in _SESSIONS:
                library = pkcs11.lib(str(self.module))
                token = library.get_token(token_label=self.token_label)
                _SESSIONS[key] = token.open(user_pin=self.pin)
            return _SESSIONS[key]


@dataclass(frozen=True)
class Pkcs11Key:
    """A :class:`~pipeline.certificate.signing.Signer` whose private key is the token object
    labelled ``label``; ``cert_pem`` is the office's certificate for it."""

    token: Pkcs11Token
    label: str
    cert_pem: bytes
    algorithm: str = field(init=False)

    def __post_init__(self) -> None:
        public = x509.load_pem_x509_certificate(self.cert_pem).public_key()
        if isinstance(public, rsa.RSAPublicKey) and public.key_size >= MIN_RSA_BITS:
            object.__setattr__(self, "algorithm", "rsa")
        elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve,
                                                                           ec.SECP256R1):
            object.__setattr__(self, "algorithm", "ecdsa")
        else:
            raise ValueError("the certificate's key must be RSA (2048 bits or more) or ECDSA P-256")

    def _private_key(self) -> Any:
        key_type = KeyType.RSA if self.algorithm == "rsa" else KeyType.EC
        try:
            return self.token.session().get_key(object_class=ObjectClass.PRIVATE_KEY,
                                                key_type=key_type, label=self.label)
        except pkcs11.NoSuchKey:
            raise ValueError(f"token {self.token.token_label!r} has no {self.algorithm} "
                             f"private key labelled {self.label!r}") from None

    def sign(self, data: bytes) -> bytes:
        """The SignatureValue over ``data``, computed inside the token."""
        with _LOCK:  # one session: PKCS#11 operations on it must not interleave
            key = self._private_key()
            if self.algorithm == "rsa":
                return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            # Hashed here, as not every token offers CKM_ECDSA_SHA256; CKM_ECDSA returns r || s,
            # the form XMLDSig wants.
            return bytes(key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))
