"""Signed notices: trust notifications on ``eco.trust`` and officers' requests on
``eco.issuance-commands`` carry a signature by a configured key, and the workers act only on
those whose signature verifies with a key they were given for that kind of notice. The ACLs
of the cluster are then one layer, not the only one.

What is signed: the canonical JSON (sorted keys, no spaces, instants in UTC to the
millisecond, as Avro keeps them) of ``{"id", "type", "subject", "data"}``, the data without
``signed_by``, ``signature`` and its null fields. The event id is in it, so a signed request
cannot be replayed under another id. Keys: Ed25519 (preferred) or ECDSA P-256.

Accepted keys: ``ECO_NOTIFICATION_KEYS_DIR/trust/<id>.pem`` for trust notifications,
``.../officers/<id>.pem`` for officers' requests (public keys, PEM). The signing key of a
process: ``ECO_NOTIFICATION_KEY`` (PEM private key) named ``ECO_NOTIFICATION_KEY_ID``. With
``ECO_DEV_PKI=true`` a development key of each kind is made under ``ECO_DATA_DIR/pki``.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from pipeline.errors import ConfigurationError, SignatureInvalid
from pipeline.keyfiles import write_key_file
from pipeline.settings import Settings

SIGNED_BY = "signed_by"
SIGNATURE = "signature"
TRUST_UPDATED = "eco.trust.updated.v1"
REQUESTED = "eco.certificate.requested.v1"
KIND_OF = {TRUST_UPDATED: "trust", REQUESTED: "officers"}
DEV_KEY_IDS = {"trust": "dev-trust-admin", "officers": "dev-officer"}

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, Decimal | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def signing_payload(event_id: str, ce_type: str, subject: str, data: Mapping[str, Any]
                    ) -> bytes:
    """The bytes a notice's signature covers."""
    # A null field is left out: an optional field read back with its default (null) or added to
    # the schema later does not change what was signed.
    signed = {k: v for k, v in data.items() if k not in (SIGNED_BY, SIGNATURE) and v is not None}
    return json.dumps({"id": event_id, "type": ce_type, "subject": subject,
                       "data": _plain(signed)},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class NoticeSigner:
    """A process's notice-signing key and its id."""

    key_id: str
    key: PrivateKey = field(repr=False)

    @classmethod
    def from_file(cls, path: Path, key_id: str = "") -> NoticeSigner:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: a notice key must be Ed25519 or ECDSA P-256")
        return cls(key_id or path.stem, key)

    def sign(self, event_id: str, ce_type: str, subject: str, data: Mapping[str, Any]
             ) -> dict[str, Any]:
        """``data`` with ``signed_by`` and ``signature`` added."""
        payload = signing_payload(event_id, ce_type, subject, data)
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            value = self.key.sign(payload)
        else:
            value = self.key.sign(payload, ec.ECDSA(hashes.SHA256()))
        return {**data, SIGNED_BY: self.key_id,
                SIGNATURE: base64.b64encode(value).decode("ascii")}


@dataclass(frozen=True)
class NoticeKeys:
    """The public keys accepted per kind of notice (``trust``, ``officers``), by id."""

    root: Path

    def _key(self, kind: str, key_id: str) -> PublicKey | None:
        if not key_id or "/" in key_id or key_id.startswith("."):
            return None
        path = self.root / kind / f"{key_id}.pem"
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError):
            return None
        return key if isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
                                 ) else None

    def verify(self, event_id: str, ce_type: str, subject: str, data: Mapping[str, Any]
               ) -> str:
        """The id of the key that signed the notice; SignatureInvalid saying why not."""
        kind = KIND_OF[ce_type]
        key_id = str(data.get(SIGNED_BY) or "")
        signature = str(data.get(SIGNATURE) or "")
        what = f"{ce_type} {event_id}"
        if not key_id or not signature:
            raise SignatureInvalid(f"{what} is not signed; a {kind} key must sign it "
                                   f"(signed_by and signature)")
        key = self._key(kind, key_id)
        if key is None:
            raise SignatureInvalid(f"{what} is signed by {key_id!r}, which is not an accepted "
                                   f"{kind} key (<id>.pem in {self.root / kind})")
        try:
            value = base64.b64decode(signature, validate=True)
            payload = signing_payload(event_id, ce_type, subject, data)
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(value, payload)
            else:
                key.verify(value, payload, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureInvalid(f"{what}: the signature of {key_id!r} does not verify "
                                   "(the notice was changed, or signed by another key)") from None
        return key_id


def notice_keys(settings: Settings) -> NoticeKeys:
    """The keys a worker accepts; with ``ECO_DEV_PKI=true`` the development ones exist."""
    if settings.dev_pki:
        ensure_dev_notice_keys(settings.data_dir / "pki")
    return NoticeKeys(settings.notification_keys)


def notice_signer(settings: Settings, ce_type: str) -> NoticeSigner:
    """The key this process signs ``ce_type`` notices with; ConfigurationError if none."""
    if settings.notification_key_file is not None:
        try:
            return NoticeSigner.from_file(settings.notification_key_file,
                                          settings.notification_key_id)
        except (OSError, ValueError) as exc:
            raise ConfigurationError([f"ECO_NOTIFICATION_KEY: {exc}"]) from exc
    if settings.dev_pki:
        pki = settings.data_dir / "pki"
        ensure_dev_notice_keys(pki)
        key_id = DEV_KEY_IDS[KIND_OF[ce_type]]
        return NoticeSigner.from_file(pki / "keys" / f"{key_id}.key", key_id)
    raise ConfigurationError([f"signing a {ce_type} needs ECO_NOTIFICATION_KEY (a private key "
                              "whose public key the workers accept) and ECO_NOTIFICATION_KEY_ID"])


def ensure_dev_notice_keys(pki: Path) -> None:
    """The development notice keys (``ECO_DEV_PKI=true`` only): one per kind, made once."""
    (pki / "keys").mkdir(parents=True, exist_ok=True)
    with (pki / ".notices.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind, key_id in DEV_KEY_IDS.items():
            private = pki / "keys" / f"{key_id}.key"
            public = pki / "notifiers" / kind / f"{key_id}.pem"
            if private.is_file() and public.is_file():
                continue
            key = ed25519.Ed25519PrivateKey.generate()
            public.parent.mkdir(parents=True, exist_ok=True)
            write_key_file(private, key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()), private=True)
            write_key_file(public, key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
