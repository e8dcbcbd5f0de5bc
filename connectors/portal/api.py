"""The HTTP API of INTERFACES.md (``/v1/...``): applications, certificates, the event stream,
supplier declarations, officers' requests and the customs' responses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from connectors.intake.documents import (
    InvalidApplication,
    UnsafeXml,
    format_of,
    read_document,
)
from connectors.portal import actions
from connectors.portal.access import bearer_caller, forbidden, limit_address, portal_of
from connectors.portal.caller import Caller
from connectors.portal.metering import REFUSED, STREAMS
from connectors.portal.problems import MEDIA_TYPE, ApiProblem
from connectors.portal.sessions import COOKIE
from connectors.portal.state import Portal
from connectors.portal.submitting import submit
from connectors.portal.view import Certificate, PortalView
from pipeline.certificate.render import LANGUAGES, preview_html, preview_pdf
from pipeline.errors import InvalidInput, Problem

router = APIRouter(prefix="/v1", tags=["api"])
AnyCaller = Annotated[Caller, Depends(bearer_caller)]
PROBLEM = {"content": {MEDIA_TYPE: {"schema": {"type": "object"}}},
           "description": "problem+json (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = {s: PROBLEM for s in (400, 401, 403, 404, 429)}
APPLICATION_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description":
                                    "application document (JSON v1, INTERFACES.md)"}},
    "application/xml": {"schema": {"type": "string", "description":
                                   "application document (XML, application-1.xsd)"}}}}}


@router.post("/applications", status_code=202, responses={**ERRORS, 413: PROBLEM,
                                                           415: PROBLEM, 422: PROBLEM},
             openapi_extra=APPLICATION_BODY)
async def submit_application(
        request: Request, caller: AnyCaller,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Submit an application (JSON or XML); 202 with its id and status URL. A repeat with
    the same Idempotency-Key gets the first answer."""
    portal = portal_of(request)
    body = await request.body()
    fmt = format_of(request.headers.get("content-type", ""), body)
    if fmt is None:
        raise ApiProblem(415, "Unsupported media type", "send application/json or "
                         "application/xml")
    try:
        document = read_document(body, fmt, max_depth=portal.settings.portal_max_depth,
                                 max_bytes=portal.settings.portal_max_body)
    except UnsafeXml as exc:
        REFUSED.labels("unsafe-xml").inc()
        raise ApiProblem(400, "Unsafe XML", str(exc), kind="unsafe-xml") from exc
    except InvalidApplication as exc:
        REFUSED.labels("invalid").inc()
        raise ApiProblem(422, "Invalid application", "; ".join(str(p) for p in exc.problems),
                         errors=exc.problems, kind="invalid-application") from exc
    accepted = await submit(portal, caller, document, document_format=fmt,
                            idempotency_key=idempotency_key)
    headers = {"Location": accepted.status_url}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(accepted.body(), status_code=202, headers=headers)


@router.get("/applications", responses=ERRORS)
async def list_applications(request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The caller's applications (every tenant's for officers and operations)."""
    view = portal_of(request).view
    return {"applications": [_summary(s) for s in view.applications(caller.may_read)]}


@router.get("/applications/{application_id}", responses=ERRORS)
async def get_application(application_id: str, request: Request, caller: AnyCaller
                          ) -> dict[str, Any]:
    """State and history (from eco.status), alerts with what to do, certificates, and the
    supplier declarations the application cites (missing or expired ones flagged)."""
    return application_detail(portal_of(request), caller, application_id)


def application_detail(portal: Portal, caller: Caller, application_id: str) -> dict[str, Any]:
    view = portal.view
    tenant = view.tenant_of(application_id)
    if tenant is None or not caller.may_read(tenant):
        raise ApiProblem(404, "Not found", f"no application {application_id!r} of yours")
    status = view.statuses.get(application_id) or {
        "application_id": application_id, "state": "SUBMITTED", "history": [], "alerts": [],
        "reasons": [], "certificate_number": None}
    return {**status, "tenant": tenant,
            "alerts_raised": [actions.with_advice(a) for a in view.alerts.get(application_id,
                                                                                [])],
            "certificates": [c.metadata() for c in view.certificates_of(application_id)],
            "supplier_declarations": view.cited_declarations(
                application_id, portal.settings.examination_day())}


def _summary(status: dict[str, Any]) -> dict[str, Any]:
    return {k: status.get(k) for k in ("application_id", "state", "certificate_number",
                                        "importing_country", "alerts")}


def certificate_for(portal: Portal, caller: Caller, ref: str) -> Certificate:
    certificate = portal.view.certificates.get(ref)
    if certificate is None or not caller.may_read(portal.view.tenant_of(
            certificate.application_id) or certificate.tenant):
        raise ApiProblem(404, "Not found", f"no certificate {ref!r} of yours")
    return certificate


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ApiProblem(400, "Bad request", f"lang must be one of {', '.join(LANGUAGES)}",
                         errors=[Problem("lang", f"{lang!r} is not offered")])
    return lang


@router.get("/certificates/{ref}.xml", responses=ERRORS,
            response_class=Response)
async def certificate_xml(ref: str, request: Request, caller: AnyCaller) -> Response:
    """The signed certificate as issued (XMLDSig)."""
    certificate = certificate_for(portal_of(request), caller, ref)
    return Response(certificate.xml, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{certificate.number}.xml"'})


@router.get("/certificates/{ref}.pdf", responses=ERRORS, response_class=Response)
async def certificate_pdf(ref: str, request: Request, caller: AnyCaller,
                          lang: str = Query("en", pattern="^[a-z]{2}$")) -> Response:
    """The preview as PDF, in English, Thai or Vietnamese."""
    portal = portal_of(request)
    certificate = certificate_for(portal, caller, ref)
    pdf = await asyncio.to_thread(preview_pdf, certificate.xml, _language(lang),
                                  portal_url=portal.settings.portal_url)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{certificate.number}.{lang}.pdf"'})


PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


@router.get("/certificates/{ref}/preview", responses=ERRORS, response_class=Response)
async def certificate_preview(ref: str, request: Request, caller: AnyCaller,
                              lang: str = Query("en", pattern="^[a-z]{2}$")) -> Response:
    """The preview as HTML (the form's labels in the language, the data as issued)."""
    portal = portal_of(request)
    certificate = certificate_for(portal, caller, ref)
    html = preview_html(certificate.xml, _language(lang), portal_url=portal.settings.portal_url)
    return Response(html, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"})


@router.get("/certificates/{ref}", responses=ERRORS)
async def certificate_metadata(ref: str, request: Request) -> Response:
    """The certificate's metadata. A browser without credentials (the QR code on a printed
    certificate) is sent to the public verification page."""
    if "authorization" not in request.headers and "text/html" in request.headers.get(
            "accept", "") and not portal_of(request).sessions.get(
            request.cookies.get(COOKIE)):
        return RedirectResponse(f"/verify/{ref}", status_code=303)
    caller = await bearer_caller(request)
    return JSONResponse(certificate_for(portal_of(request), caller, ref).metadata())


@router.post("/certificates/{ref}/requests", status_code=202,
             responses={**ERRORS, 422: PROBLEM})
async def officer_request(ref: str, request: Request, caller: AnyCaller,
                          body: actions.OfficerRequest) -> dict[str, Any]:
    """An issuing officer's request: supersede (with the corrected document), a certified
    true copy, or a revocation (Form E Rule 10); applied by the issuance stage."""
    portal = portal_of(request)
    if not caller.may_approve:
        raise forbidden("only an issuing officer may ask for this")
    certificate = certificate_for(portal, caller, ref)
    return await actions.request_version(portal, caller, certificate, body)


@router.get("/events", responses=ERRORS, response_class=StreamingResponse)
async def event_stream(request: Request, caller: AnyCaller,
                       last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")
                                                ] = None) -> StreamingResponse:
    """Server-sent events: the caller's certificate events as they happen; reconnect with
    Last-Event-ID to get those missed."""
    portal = portal_of(request)
    return StreamingResponse(_events(portal, request, caller, last_event_id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _events(portal: Portal, request: Request, caller: Caller, last: str | None) -> Any:
    view = portal.view
    seen = len(view.stream) if not last else 0
    pending = view.events_after(last, caller.may_read) if last else []
    STREAMS.inc()
    try:
        yield "retry: 2000\n\n"
        while True:
            for event in pending:
                yield (f"id: {event.id}\nevent: certificate\n"
                       f"data: {json.dumps(event.data(), ensure_ascii=False)}\n\n")
            if await request.is_disconnected() or getattr(request.app.state, "closing", False):
                return
            async with portal.changed:
                try:
                    await asyncio.wait_for(portal.changed.wait_for(_grown(view, seen)),
                                           timeout=10)
                except TimeoutError:
                    yield ": keep-alive\n\n"
            new = view.stream[seen:]
            seen += len(new)
            pending = [e for e in new if caller.may_read(view.tenant_of(e.application_id))]
    finally:
        STREAMS.dec()


def _grown(view: PortalView, seen: int) -> Callable[[], bool]:
    return lambda: len(view.stream) > seen


@router.post("/declarations", status_code=202, responses={**ERRORS, 422: PROBLEM})
async def declare(request: Request, caller: AnyCaller, body: actions.DeclarationIn
                  ) -> dict[str, Any]:
    """A supplier's origin declaration (HS code, origin, processing, validity)."""
    portal = portal_of(request)
    if not caller.may_declare:
        raise forbidden("only a supplier may submit origin declarations")
    return await actions.declare(portal, caller, body)


@router.get("/declarations", responses=ERRORS)
async def list_declarations(request: Request, caller: AnyCaller) -> dict[str, Any]:
    """The caller's own declarations (every one for officers and operations)."""
    view = portal_of(request).view
    return {"declarations": [d for d in view.declarations.values()
                             if caller.reads_all or d.get("declared_by") in caller.tenants]}


@router.get("/verification/{ref}")
async def public_verification(ref: str, request: Request) -> dict[str, Any]:
    """Public: is certificate ``ref`` valid, superseded (by which) or revoked."""
    limit_address(request)
    return actions.public_standing(portal_of(request), ref)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["InvalidInput", "router"]
