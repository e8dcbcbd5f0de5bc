"""``POST /v1/customs/{country}/responses`` on the portal: the customs' responses checked as
the worker's receiver checks them (the country known, the body signed by that country's
customs, the wire format), published to ``eco.customs-response``, and answered 202 only once
the broker has the event."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.customs.registry import CountryRegistry
from connectors.customs.responses import parse_response
from connectors.customs.signatures import SIGNATURE_HEADER, load_public_key, verify_response
from connectors.portal.access import portal_of
from connectors.portal.problems import ApiProblem
from pipeline.errors import DependencyUnavailable, InvalidInput, Problem, SignatureInvalid

router = APIRouter(tags=["customs"])


@router.post("/v1/customs/{country}/responses", status_code=202,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}}}})
async def customs_response(country: str, request: Request) -> JSONResponse:
    """A customs' response about one certificate; authenticated by the customs' signature
    (``X-Eco-Signature``) over the body, not by a user token."""
    from agents.web import response_event

    portal = portal_of(request)
    code = country.upper()
    registry = CountryRegistry.of()
    if not registry.knows(code):
        raise ApiProblem(404, "Unknown country", f"{code!r} is not an importing country we know")
    body = await request.body()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        if not signature:
            raise SignatureInvalid("no signature")
        verify_response(body, signature, load_public_key(portal.settings.customs_trust, code),
                        code)
    except SignatureInvalid as exc:
        raise ApiProblem(401, "Unauthenticated", f"the caller may not speak for {code} "
                         "customs: the body must carry its signature") from exc
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiProblem(415, "Unsupported media type", "send the response as application/json")
    try:
        decoded: Any = json.loads(body)
        response = parse_response(code, decoded, lambda c: registry.map_status(code, c))
    except ValueError as exc:
        raise ApiProblem(400, "Invalid customs response", f"the body is not JSON: {exc}",
                         kind="invalid-customs-response") from exc
    except InvalidInput as exc:
        raise ApiProblem(400, "Invalid customs response",
                         "; ".join(str(p) for p in exc.problems), errors=exc.problems,
                         kind="invalid-customs-response") from exc
    try:
        await portal.publish([response_event(response)])
    except DependencyUnavailable as exc:
        raise ApiProblem(503, "Try again later", "the response could not be recorded yet; "
                         "send it again", headers={"Retry-After": "5"}) from exc
    return JSONResponse({"response_id": response.response_id,
                         "application_id": response.application_id,
                         "status": response.status}, status_code=202)


__all__ = ["Problem", "router"]
