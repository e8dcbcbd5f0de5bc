"""Sign-in of people through the real OpenID provider: the portal's authorization request
(code with PKCE, state, nonce), the provider's login, the callback. The ID token is checked
for the nonce this sign-in sent: an authorization request whose nonce was changed or removed
on its way to the provider comes back with an ID token the portal refuses (401, a page saying
why, no session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.integration.oidc import PASSWORDS, node_available, provider_redirect, trusting
from tests.integration.portal_stack import PortalStack, portal_stack

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not node_available(), reason="npm ci --prefix deploy/oidc")]

Rewrite = Callable[[dict[str, list[str]]], None]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    with portal_stack(tmp_path_factory.mktemp("signin"), worker=False) as stack:
        yield stack


def signed_in_through(portal: PortalStack, user: str, rewrite: Rewrite | None = None
                      ) -> tuple[httpx.Client, httpx.Response, str]:
    """A browser's sign-in: the portal's /auth/login, the provider's login (the authorization
    request changed by ``rewrite`` on its way, as an attacker in the middle would), and the
    portal's answer to the callback. Returns the client, that answer and the nonce the portal
    sent."""
    http = httpx.Client(verify=trusting(portal.ca_file), timeout=15, follow_redirects=False)
    login = http.get(f"{portal.url}/auth/login")
    assert login.status_code == 303, login.text
    request = urlsplit(login.headers["location"])
    query = parse_qs(request.query)
    sent = query["nonce"][0]
    if rewrite is not None:
        rewrite(query)
    authorize = urlunsplit(request._replace(query=urlencode(query, doseq=True)))
    location = provider_redirect(http, portal.provider.issuer, http.get(authorize), user,
                                 PASSWORDS[user], f"{portal.url}/auth/callback")
    return http, http.get(location), sent


def test_a_sign_in_opens_a_session_after_the_id_token_checks(portal: PortalStack) -> None:
    http, answer, nonce = signed_in_through(portal, "exporter")
    with closing(http):
        assert len(nonce) >= 32
        assert answer.status_code == 303 and answer.headers["location"] == "/portal"
        assert any(c.name == "__Host-eco_session" for c in http.cookies.jar)
        assert http.get(f"{portal.url}/portal").status_code == 200


@pytest.mark.parametrize(("rewrite", "reason"), [
    (lambda q: q.update(nonce=["n-" + "x" * 40]), "nonce is not the one this sign-in sent"),
    (lambda q: q.pop("nonce"), "carries no nonce"),
], ids=["another-nonce", "no-nonce"])
def test_an_id_token_without_the_sign_ins_nonce_is_refused(portal: PortalStack,
                                                           rewrite: Rewrite,
                                                           reason: str) -> None:
    http, answer, _ = signed_in_through(portal, "exporter", rewrite)
    with closing(http):
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        assert 'id="sign-in-refused"' in answer.text and reason in answer.text
        assert not any(c.name == "__Host-eco_session" for c in http.cookies.jar)
        page = http.get(f"{portal.url}/portal")
        assert page.status_code == 303 and page.headers["location"] == "/"


def test_a_replayed_callback_is_refused(portal: PortalStack) -> None:
    http = httpx.Client(verify=trusting(portal.ca_file), timeout=15, follow_redirects=False)
    with http:
        login = http.get(f"{portal.url}/auth/login")
        location = provider_redirect(http, portal.provider.issuer,
                                     http.get(login.headers["location"]), "supplier",
                                     PASSWORDS["supplier"], f"{portal.url}/auth/callback")
        assert http.get(location).status_code == 303
        again = http.get(location)
        assert again.status_code == 400 and "sign-in-expired" in again.text
