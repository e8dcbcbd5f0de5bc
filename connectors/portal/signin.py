"""Sign-in of people with the OpenID provider: the authorization code flow with PKCE (S256),
state and nonce bound to a short-lived cookie, the code exchanged by the portal's confidential
client; the ID token checked (signature by the provider's keys, issuer, audience = the
portal's client id, expiry, the nonce this sign-in sent) and the access token checked like
any bearer token before a session opens. A refused sign-in is a page saying why (401)."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from connectors.portal.access import checked_token, portal_of
from connectors.portal.i18n import NAMES, language_of, translator
from connectors.portal.problems import ApiProblem
from connectors.portal.sessions import COOKIE, SIGNIN_COOKIE, csrf_ok
from connectors.portal.tokens import ProviderUnavailable, TokenRejected, tls_context

router = APIRouter(include_in_schema=False)
_templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


def refused(request: Request, reason: str) -> HTMLResponse:
    """The sign-in page saying why the sign-in was refused (401); no session opens."""
    lang = language_of(request)
    response = _templates.TemplateResponse(request, "signin.html", {
        "session": None, "caller": None, "csrf": "", "lang": lang, "t": translator(lang),
        "languages": NAMES, "refusal": reason}, status_code=401)
    response.delete_cookie(SIGNIN_COOKIE, path="/", secure=True, httponly=True)
    return response


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="lax")


@router.get("/auth/login")
async def login(request: Request) -> Response:
    portal = portal_of(request)
    settings = portal.settings
    try:
        metadata = await portal.verifier.metadata()
    except ProviderUnavailable as exc:
        raise ApiProblem(503, "Identity provider unavailable", str(exc)) from exc
    key, sign_in = portal.sessions.begin_sign_in()
    query = urlencode({
        "client_id": settings.oidc_client_id, "response_type": "code",
        "scope": "openid profile api", "redirect_uri": f"{settings.portal_url}/auth/callback",
        "state": sign_in.state, "nonce": sign_in.nonce,
        "code_challenge": _challenge(sign_in.verifier), "code_challenge_method": "S256",
        "resource": settings.api_audience})
    response = RedirectResponse(f"{metadata.authorization_endpoint}?{query}", status_code=303)
    _cookie(response, SIGNIN_COOKIE, key, 600)
    return response


@router.get("/auth/callback")
async def callback(request: Request, code: str = "", state: str = "", error: str = ""
                   ) -> Response:
    portal = portal_of(request)
    settings = portal.settings
    if error:
        return refused(request, f"the provider answered {error!r}")
    sign_in = portal.sessions.finish_sign_in(request.cookies.get(SIGNIN_COOKIE), state)
    if sign_in is None or not code:
        raise ApiProblem(400, "Bad request", "this sign-in is unknown or expired; sign in "
                         "again", kind="sign-in-expired")
    metadata = await portal.verifier.metadata()
    try:
        async with httpx.AsyncClient(verify=tls_context(settings.oidc_ca_file),
                                     timeout=15) as http:
            answer = await http.post(metadata.token_endpoint, data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": f"{settings.portal_url}/auth/callback",
                "code_verifier": sign_in.verifier, "resource": settings.api_audience,
            }, auth=(settings.oidc_client_id, settings.oidc_client_secret))
    except httpx.HTTPError as exc:
        raise ApiProblem(503, "Identity provider unavailable", str(exc)) from exc
    if answer.status_code != 200:
        return refused(request, f"the provider refused the code ({answer.status_code})")
    tokens = answer.json()
    token, id_token = str(tokens.get("access_token", "")), str(tokens.get("id_token", ""))
    if not id_token:
        return refused(request, "the provider sent no ID token")
    try:
        identity = await portal.verifier.verify_id_token(
            id_token, client_id=settings.oidc_client_id, nonce=sign_in.nonce)
    except TokenRejected as exc:
        return refused(request, str(exc))
    except ProviderUnavailable as exc:
        raise ApiProblem(503, "Identity provider unavailable", str(exc)) from exc
    caller, claims = await checked_token(portal, token, request)
    if claims.get("sub") != identity.get("sub"):
        return refused(request, "the access token is for another subject than the ID token")
    sid = portal.sessions.open(caller, token, float(claims.get("exp", time.time() + 900)))
    response = RedirectResponse("/portal", status_code=303)
    _cookie(response, COOKIE, sid, 3600)
    response.delete_cookie(SIGNIN_COOKIE, path="/", secure=True, httponly=True)
    return response


@router.post("/auth/logout")
async def logout(request: Request) -> Response:
    portal = portal_of(request)
    form = await request.form()
    session = portal.sessions.get(request.cookies.get(COOKIE))
    if session is not None and not csrf_ok(session, str(form.get("csrf", ""))):
        raise ApiProblem(403, "Forbidden", "the form's CSRF token does not match")
    portal.sessions.close(request.cookies.get(COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True)
    return response
