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

from connectors.portal.tokens import TokenRejected, TokenVerifier

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
