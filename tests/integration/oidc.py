"""The demo OpenID provider (deploy/oidc) for the tests: started on loopback over HTTPS, and a
real sign-in through it (authorization code with PKCE, as a native client) that returns the
access token the provider issued."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import ssl
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from pipeline.services import free_port
from tests.integration.harness import REPO, wait_for

PROVIDER = REPO / "deploy" / "oidc"
TEST_CLIENT = "eco-cli"
SHORT_LIVED_CLIENT = "eco-short-lived"
REDIRECT = "http://127.0.0.1/callback"
PASSWORDS = {"exporter": "exporter-demo", "exporter2": "exporter2-demo", "broker": "broker-demo",
             "supplier": "supplier-demo", "officer": "officer-demo",
             "operations": "operations-demo"}


@dataclass
class Provider:
    issuer: str
    resource: str
    other_resource: str
    ca_file: Path
    client_secret: str
    process: subprocess.Popen[bytes]

    def token(self, user: str, *, client: str = TEST_CLIENT, resource: str | None = None,
              password: str | None = None) -> str:
        """Sign ``user`` in and return the JWT access token for ``resource``."""
        return sign_in(self.issuer, self.ca_file, user, password or PASSWORDS[user],
                       client=client, resource=resource or self.resource)


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A client TLS context that trusts the test CA."""
    return ssl.create_default_context(cafile=str(ca_file))


def node_available() -> bool:
    return shutil.which("node") is not None and (PROVIDER / "node_modules").is_dir()


@contextmanager
def started_provider(home: Path, cert: Path, key: Path, ca_file: Path, portal_url: str,
                     env: Mapping[str, str] | None = None) -> Iterator[Provider]:
    """The provider on a free loopback port; stopped on exit."""
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    resource = f"{portal_url.rstrip('/')}/"
    environment = {
        **os.environ, **(env or {}),
        "OIDC_ISSUER": issuer, "OIDC_RESOURCE": resource,
        "OIDC_OTHER_RESOURCE": "https://other-api.invalid/",
        "OIDC_PORTAL_CLIENT_ID": "eco-portal", "OIDC_PORTAL_CLIENT_SECRET": secret,
        "OIDC_PORTAL_REDIRECT_URI": f"{portal_url.rstrip('/')}/auth/callback",
        "OIDC_TLS_CERT": str(cert), "OIDC_TLS_KEY": str(key),
    }
    home.mkdir(parents=True, exist_ok=True)
    log = home / "oidc.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(["node", str(PROVIDER / "provider.mjs")], env=environment,
                                   stdout=handle, stderr=handle, start_new_session=True)
    provider = Provider(issuer, resource, "https://other-api.invalid/", ca_file, secret, process)
    try:
        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the OIDC provider exited:\n{log.read_text()}")
            try:
                return httpx.get(f"{issuer}/.well-known/openid-configuration",
                                 verify=trusting(ca_file), timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the OIDC provider")
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def sign_in(issuer: str, ca_file: Path, user: str, password: str, *, client: str,
            resource: str) -> str:
    """The authorization code flow with PKCE, driven over HTTP as a browser would."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    with httpx.Client(verify=trusting(ca_file), timeout=15, follow_redirects=False) as http:
        response = http.get(f"{issuer}/auth", params={
            "client_id": client, "response_type": "code", "scope": "openid profile api",
            "redirect_uri": REDIRECT, "code_challenge": challenge,
            "code_challenge_method": "S256", "state": state, "resource": resource})
        location = provider_redirect(http, issuer, response, user, password, REDIRECT)
        query = parse_qs(urlsplit(location).query)
        if "code" not in query:
            raise AssertionError(f"sign-in refused: {query}")
        assert query["state"] == [state]
        token = http.post(f"{issuer}/token", data={
            "grant_type": "authorization_code", "code": query["code"][0],
            "redirect_uri": REDIRECT, "client_id": client, "code_verifier": verifier,
            "resource": resource})
        token.raise_for_status()
        access: str = token.json()["access_token"]
        return access


def provider_redirect(http: httpx.Client, issuer: str, response: httpx.Response, user: str,
                      password: str, redirect: str) -> str:
    """Follow the provider's pages from the answer to an authorization request, signing
    ``user`` in, up to the redirect back to ``redirect``: that location."""
    for _ in range(8):
        if response.status_code not in (302, 303):
            break
        location = str(response.headers["location"])
        if location.startswith(redirect):
            return location
        response = http.get(httpx.URL(issuer).join(location))
        action = re.search(r'action="(/interaction/[^"]+/login)"', response.text)
        if action:
            response = http.post(f"{issuer}{action.group(1)}",
                                 data={"username": user, "password": password})
    raise AssertionError(f"sign-in of {user} did not end at the redirect: "
                         f"{response.status_code} {response.text[:300]}")
