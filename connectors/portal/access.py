"""Who may call: the bearer token (API clients) or the session cookie (the portal's own
pages), turned into a ``Caller``; refused with 401 or 403 as problem+json, and every caller
counted against its tenant's request rate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import Request

from connectors.portal.caller import Caller, NotAllowed, caller_from_claims
from connectors.portal.metering import TOKENS_REJECTED
from connectors.portal.problems import ApiProblem
from connectors.portal.sessions import COOKIE
from connectors.portal.state import Portal
from connectors.portal.tokens import ProviderUnavailable, TokenRejected

log = structlog.get_logger("eco.portal")


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _tenant_key(caller: Caller) -> str:
    return f"tenant {caller.tenants[0] if caller.tenants else caller.subject}"


def limit_address(request: Request) -> None:
    """Count a request that needs no token (public pages) against its address."""
    _limit(portal_of(request), _address(request))


def _limit(portal: Portal, key: str) -> None:
    allowed, wait = portal.limiter.allow(key)
    if not allowed:
        raise ApiProblem(429, "Too many requests", f"the request rate of {key} is over "
                         f"{portal.limiter.per_minute} per minute; retry later",
                         headers={"Retry-After": str(max(1, round(wait)))})


def _address(request: Request) -> str:
    return f"address {request.client.host}" if request.client else "address unknown"


async def bearer_caller(request: Request) -> Caller:
    """The caller of an API request; a session cookie also serves (the pages' live state)."""
    portal = portal_of(request)
    header = request.headers.get("authorization", "")
    if not header:
        # The session cookie serves reads only: a write needs a token or a page's form
        # with its CSRF token, so a cross-site request cannot act for a signed-in person.
        session = portal.sessions.get(request.cookies.get(COOKIE))
        if session is not None and request.method in ("GET", "HEAD"):
            _limit(portal, _tenant_key(session.caller))
            return session.caller
        _limit(portal, _address(request))
        raise _unauthorized("no bearer token: send Authorization: Bearer <access token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _limit(portal, _address(request))
        raise _unauthorized("the Authorization header is not a bearer token")
    return await caller_of_token(portal, token.strip(), request)


async def caller_of_token(portal: Portal, token: str, request: Request | None = None
                          ) -> Caller:
    caller, _ = await checked_token(portal, token, request)
    return caller


async def checked_token(portal: Portal, token: str, request: Request | None = None
                        ) -> tuple[Caller, Mapping[str, Any]]:
    """The caller and the claims of a valid token; ApiProblem 401/403/503 otherwise."""
    try:
        claims = await portal.verifier.verify(token)
    except TokenRejected as exc:
        TOKENS_REJECTED.inc()
        log.info("token_rejected", reason=str(exc))
        if request is not None:
            _limit(portal, _address(request))
        raise _unauthorized(str(exc), error="invalid_token") from exc
    except ProviderUnavailable as exc:
        log.warning("oidc_provider_unavailable", reason=str(exc))
        raise ApiProblem(503, "Identity provider unavailable",
                         "the tokens cannot be checked right now; retry later",
                         headers={"Retry-After": "10"}) from exc
    settings = portal.settings
    try:
        caller = caller_from_claims(claims, settings.oidc_tenant_claim, settings.oidc_roles_claim)
    except NotAllowed as exc:
        raise ApiProblem(403, "Forbidden", str(exc)) from exc
    _limit(portal, _tenant_key(caller))
    return caller, claims


def _unauthorized(detail: str, error: str = "") -> ApiProblem:
    challenge = 'Bearer realm="eco-portal"' + (f', error="{error}"' if error else "")
    return ApiProblem(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "Forbidden", detail)
