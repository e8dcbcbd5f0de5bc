"""Token checks without a provider: keys served by a stand-in for the discovery document and
JWKS (the real provider is used by the integration tests). An unknown key id refreshes the
keys, but no more than once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from connectors.portal.tokens import TokenRejected, TokenVerifier, check_id_token

ISSUER, AUDIENCE = "https://idp.test", "https://portal.test/"


class Verifier(TokenVerifier):
    def __init__(self, keys: KeySet, **kwargs: Any) -> None:
        super().__init__(ISSUER, AUDIENCE, leeway=5, **kwargs)
        self.served = keys
        self.fetches: list[str] = []

    async def _get_json(self, url: str) -> Mapping[str, Any]:
        self.fetches.append(url)
        if url.endswith("openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks",
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token"}
        return self.served.as_dict()


def token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + 60, **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, body, key)


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def test_claims_are_checked_and_unknown_keys_refresh_at_most_once_per_interval() -> None:
    first = new_key("k1")
    verifier = Verifier(KeySet([first]), refresh_every=3600)

    async def scenario() -> None:
        assert (await verifier.verify(token(first)))["sub"] == "u1"
        for bad in (token(first, aud="https://other/"), token(first, iss="https://evil"),
                    token(first, exp=int(time.time()) - 60),
                    token(first, nbf=int(time.time()) + 600)):
            with pytest.raises(TokenRejected, match="not valid here"):
                await verifier.verify(bad)
        rotated = new_key("k2")
        verifier.served = KeySet([first, rotated])
        for _ in range(5):  # a flood of unknown key ids costs one refresh
            with pytest.raises(TokenRejected, match="unknown key"):
                await verifier.verify(token(new_key("forged")))
        assert verifier.refreshes == 1

    asyncio.run(scenario())


def test_a_rotated_key_is_found_by_refreshing_when_the_interval_allows() -> None:
    first = new_key("k1")
    verifier = Verifier(KeySet([first]), refresh_every=0)

    async def scenario() -> None:
        await verifier.verify(token(first))
        rotated = new_key("k2")
        verifier.served = KeySet([rotated])
        assert (await verifier.verify(token(rotated)))["sub"] == "u1"
        assert verifier.refreshes == 2

    asyncio.run(scenario())


CLIENT, NONCE = "eco-portal", "n-0S6_WzA2Mj"


def id_token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "iat": now, "exp": now + 60,
            "nonce": NONCE, **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


def id_claims(**changes: Any) -> dict[str, Any]:
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "iat": 1000, "exp": 1600, "nonce": NONCE}
    return {k: v for k, v in {**body, **changes}.items() if v is not None}


def check(claims: dict[str, Any], now: int = 1200) -> None:
    check_id_token(claims, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, leeway=5, now=now)


def test_the_id_tokens_claims_are_checked_for_the_sign_in_that_sent_the_nonce() -> None:
    check(id_claims())
    check(id_claims(aud=[CLIENT, "https://portal.test/"], azp=CLIENT))
    refusals = {
        "carries no nonce": id_claims(nonce=None),
        "nonce is not the one": id_claims(nonce="n-replayed"),
        "several audiences": id_claims(aud=[CLIENT, "other"], azp="other"),
    }
    for reason, claims in refusals.items():
        with pytest.raises(TokenRejected, match=reason):
            check(claims)
    for claims, now in ((id_claims(aud="https://portal.test/"), 1200),
                        (id_claims(iss="https://evil"), 1200), (id_claims(iat=None), 1200),
                        (id_claims(sub=None), 1200), (id_claims(), 1700)):
        with pytest.raises(TokenRejected, match="ID token is not valid here"):
            check(claims, now)


def test_the_id_token_is_verified_with_the_providers_keys() -> None:
    key = new_key("k1")
    verifier = Verifier(KeySet([key]))

    async def scenario() -> None:
        claims = await verifier.verify_id_token(id_token(key), client_id=CLIENT, nonce=NONCE)
        assert claims["sub"] == "u1"
        forged = id_token(RSAKey.generate_key(2048, parameters={"kid": "k1"}))
        with pytest.raises(TokenRejected, match="ID token's signature does not verify"):
            await verifier.verify_id_token(forged, client_id=CLIENT, nonce=NONCE)
        with pytest.raises(TokenRejected, match="nonce is not the one"):
            await verifier.verify_id_token(id_token(key), client_id=CLIENT, nonce="another")
        with pytest.raises(TokenRejected, match="not an access token"):  # not for the API
            await verifier.verify(id_token(key, aud=CLIENT))

    asyncio.run(scenario())
