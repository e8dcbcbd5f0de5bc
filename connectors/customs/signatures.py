"""Signed customs responses: a detached JWS (RFC 7515, Appendix F) over the exact JSON body,
ES256 with the key of the responding country's customs, in the ``X-Eco-Signature`` header.

The header is ``BASE64URL(protected) + ".." + BASE64URL(signature)``, the protected header
``{"alg": "ES256", "kid": "<COUNTRY>"}``, and the signing input
``BASE64URL(protected) + "." + BASE64URL(body)``. The pipeline keeps each customs' public key
as ``<COUNTRY>.pem`` in its customs trust directory; the sandbox keeps the private keys as
``<COUNTRY>.key`` in its own directory (``generate_customs_keys`` makes both, for development).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from connectors.customs.receiver import CustomsAuthenticator
from pipeline.errors import SignatureInvalid
from pipeline.keyfiles import write_key_file

SIGNATURE_HEADER = "X-Eco-Signature"
ALGORITHM = "ES256"
COORDINATE_BYTES = 32  # P-256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_response(body: bytes, key: ec.EllipticCurvePrivateKey, country: str) -> str:
    """The ``X-Eco-Signature`` value for ``body`` signed by ``country``'s customs."""
    protected = _b64(json.dumps({"alg": ALGORITHM, "kid": country.upper()},
                                separators=(",", ":")).encode())
    der = key.sign(f"{protected}.{_b64(body)}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(COORDINATE_BYTES, "big") + s.to_bytes(COORDINATE_BYTES, "big")
    return f"{protected}..{_b64(raw)}"


def verify_response(body: bytes, signature: str, key: ec.EllipticCurvePublicKey,
                    country: str) -> None:
    """Check that ``signature`` is ``country``'s customs' over ``body``; SignatureInvalid says
    why not."""
    protected, empty, encoded = ([*signature.split("."), "", ""])[:3]
    if empty or not protected or not encoded or signature.count(".") != 2:
        raise SignatureInvalid("not a detached JWS (header..signature)")
    try:
        header = json.loads(_unb64(protected))
        raw = _unb64(encoded)
    except (ValueError, binascii.Error) as exc:
        raise SignatureInvalid(f"unreadable signature: {exc}") from exc
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"the signature's algorithm must be {ALGORITHM}")
    if header.get("kid") != country.upper():
        raise SignatureInvalid(f"signed by {header.get('kid')!r}, not by {country.upper()}")
    if len(raw) != 2 * COORDINATE_BYTES:
        raise SignatureInvalid("an ES256 signature has 64 bytes")
    der = encode_dss_signature(int.from_bytes(raw[:COORDINATE_BYTES], "big"),
                               int.from_bytes(raw[COORDINATE_BYTES:], "big"))
    try:
        key.verify(der, f"{protected}.{_b64(body)}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise SignatureInvalid(f"the body is not what {country.upper()} customs signed") from exc


def load_public_key(trust_dir: Path, country: str,
                    keys: Mapping[str, Path] | None = None) -> ec.EllipticCurvePublicKey:
    """``country``'s customs key from ``keys`` (the ``response_key`` of ``ECO_CUSTOMS_FILE``),
    else ``trust_dir/<COUNTRY>.pem``; SignatureInvalid if absent."""
    path = (keys or {}).get(country.upper()) or trust_dir / f"{country.upper()}.pem"
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SignatureInvalid(f"no usable key of {country.upper()} customs: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureInvalid(f"the key of {country.upper()} customs is not an EC key")
    return key


def load_private_key(keys_dir: Path, country: str) -> ec.EllipticCurvePrivateKey:
    """``country``'s customs signing key from ``keys_dir/<COUNTRY>.key``."""
    key = serialization.load_pem_private_key(
        (keys_dir / f"{country.upper()}.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"the signing key of {country.upper()} customs is not an EC key")
    return key


def signed_by_customs(trust_dir: Path, keys: Mapping[str, Path] | None = None
                      ) -> CustomsAuthenticator:
    """The receiver's authenticator: the body must carry a valid signature of the customs of
    the country in the URL. A key file is parsed again only when it changed (its size or
    modification time), so a key added or replaced later is used."""
    parsed: dict[str, tuple[tuple[int, int], ec.EllipticCurvePublicKey]] = {}

    def key_of(country: str) -> ec.EllipticCurvePublicKey:
        path = (keys or {}).get(country.upper()) or trust_dir / f"{country.upper()}.pem"
        try:
            stat = path.stat()
        except OSError as exc:
            raise SignatureInvalid(f"no usable key of {country.upper()} customs: {exc}") from exc
        version = (stat.st_mtime_ns, stat.st_size)
        known = parsed.get(country.upper())
        if known is not None and known[0] == version:
            return known[1]
        key = load_public_key(trust_dir, country, keys)
        parsed[country.upper()] = (version, key)
        return key

    async def authenticate(country: str, request: web.Request, body: bytes) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        try:
            verify_response(body, signature, key_of(country), country)
        except SignatureInvalid:
            return False
        return True

    return authenticate


def generate_customs_keys(root: Path, countries: Iterable[str]) -> tuple[Path, Path]:
    """Development keys: ``root/keys/<C>.key`` (private) and ``root/trust/<C>.pem`` (public) for
    each country, keeping the existing ones. Returns (keys dir, trust dir)."""
    keys, trust = root / "keys", root / "trust"
    keys.mkdir(parents=True, exist_ok=True)
    trust.mkdir(parents=True, exist_ok=True)
    for country in (c.upper() for c in countries):
        key_path, public_path = keys / f"{country}.key", trust / f"{country}.pem"
        if key_path.is_file() and public_path.is_file():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        write_key_file(key_path, key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), private=True)
        write_key_file(public_path, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return keys, trust
