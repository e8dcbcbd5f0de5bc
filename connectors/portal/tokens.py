"""Checking bearer tokens: JWT access tokens (RFC 9068) signed by the OpenID provider.

The keys come from the provider's discovery document and JWKS, cached; a token whose key id
is unknown makes the cache refresh, at most once per ``refresh_every`` seconds, so a flood of
forged key ids cannot hammer the provider. Signature (asymmetric algorithms only, never
``none``), issuer, audience, expiry, not-before and issued-at are checked with a small clock
skew, by joserfc.

The ID token a sign-in receives is checked the same way (same keys, same algorithms), then
as OpenID Connect Core 3.1.3.7 asks: issuer, audience = the portal's client id (and ``azp``
when there are several audiences), expiry, issued-at, and the ``nonce`` the sign-in sent.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


class TokenRejected(Exception):
    """The bearer token is not acceptable (401); the message says why."""


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys cannot be fetched (503)."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str | None


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class TokenVerifier:
    """The one place bearer tokens are checked."""

    def __init__(self, issuer: str, audience: str, *, ca_file: Path | None = None,
                 leeway: float = 30.0, refresh_every: float = 30.0) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = int(leeway)
        self.refresh_every = refresh_every
        self._tls = tls_context(ca_file)
        self._keys: KeySet | None = None
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await self._get_json(url)
            if document.get("issuer") != self.issuer:
                raise ProviderUnavailable(f"the discovery document at {url} names issuer "
                                          f"{document.get('issuer')!r}, not {self.issuer!r}")
            try:
                self._metadata = ProviderMetadata(
                    issuer=str(document["issuer"]), jwks_uri=str(document["jwks_uri"]),
                    authorization_endpoint=str(document["authorization_endpoint"]),
                    token_endpoint=str(document["token_endpoint"]),
                    end_session_endpoint=document.get("end_session_endpoint"))
            except KeyError as exc:
                raise ProviderUnavailable(f"the discovery document lacks {exc}") from exc
        return self._metadata

    async def _get_json(self, url: str) -> Mapping[str, Any]:
        try:
            async with httpx.AsyncClient(verify=self._tls, timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"cannot read {url}: {exc}") from exc
        if not isinstance(document, Mapping):
            raise ProviderUnavailable(f"{url} is not a JSON object")
        return document

    async def _key_set(self, kid: str | None) -> KeySet:
        """The cached keys; refreshed when ``kid`` is not among them (rate-limited)."""
        async with self._lock:
            known = self._keys is not None and (kid is None or _has_kid(self._keys, kid))
            due = time.monotonic() - self._fetched_at >= self.refresh_every
            if self._keys is None or (not known and due):
                metadata = await self.metadata()
                document = await self._get_json(metadata.jwks_uri)
                try:
                    self._keys = KeySet.import_key_set(dict(document))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise ProviderUnavailable(f"the provider's JWKS is unusable: {exc}") from exc
                self._fetched_at = time.monotonic()
                self.refreshes += 1
            assert self._keys is not None
            return self._keys

    async def _signed_claims(self, token: str, what: str) -> tuple[dict[str, Any], Any]:
        """The claims and the header of a JWT whose signature verifies against the
        provider's keys; TokenRejected saying why otherwise."""
        try:
            compact = jws.extract_compact(token.encode())
        except (JoseError, ValueError, UnicodeError) as exc:
            raise TokenRejected(f"the {what} is not a signed JWT") from exc
        header = compact.headers()
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"the {what}'s algorithm {alg!r} is not accepted")
        keys = await self._key_set(str(kid) if kid is not None else None)
        if kid is not None and not _has_kid(keys, str(kid)):
            raise TokenRejected(f"the {what} is signed with an unknown key {kid!r}")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            raise TokenRejected(f"the {what}'s signature does not verify ({exc.error})"
                                ) from exc
        return decoded.claims, header

    async def verify(self, token: str) -> Mapping[str, Any]:
        """The claims of a valid access token; TokenRejected saying why otherwise."""
        try:
            typ = jws.extract_compact(token.encode()).headers().get("typ")
        except (JoseError, ValueError, UnicodeError) as exc:
            raise TokenRejected("the bearer token is not a signed JWT") from exc
        if typ is not None and str(typ).lower() not in ACCESS_TOKEN_TYPES:
            raise TokenRejected(f"the token's type {typ!r} is not an access token (at+jwt)")
        claims, _ = await self._signed_claims(token, "token")
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise TokenRejected(f"the token is not valid here: {exc.description or exc.error}"
                                ) from exc
        return claims

    async def verify_id_token(self, token: str, *, client_id: str, nonce: str
                              ) -> Mapping[str, Any]:
        """The claims of the ID token a sign-in received; TokenRejected saying why otherwise."""
        claims, _ = await self._signed_claims(token, "ID token")
        check_id_token(claims, issuer=self.issuer, client_id=client_id, nonce=nonce,
                       leeway=self.leeway)
        return claims


def check_id_token(claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str,
                   leeway: int, now: int | None = None) -> None:
    """The claims checks of an ID token whose signature verified (OpenID Connect Core
    3.1.3.7 and 3.1.2.1): TokenRejected saying what is wrong."""
    sent = claims.get("nonce")
    if not sent:
        raise TokenRejected("the ID token carries no nonce; this sign-in sent one")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise TokenRejected("the ID token's nonce is not the one this sign-in sent")
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise TokenRejected(f"the ID token is for several audiences and authorised for "
                            f"{claims.get('azp')!r}, not {client_id!r}")
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(dict(claims))
    except JoseError as exc:
        raise TokenRejected(f"the ID token is not valid here: {exc.description or exc.error}"
                            ) from exc


def _has_kid(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (ValueError, KeyError, JoseError):
        return False
    return True
