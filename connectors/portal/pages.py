"""The portal's web pages, rendered on the server (Jinja2, autoescaped): the signed-in
person's applications with live state, submission with errors by field, the certificate with
its preview in English, Thai or Vietnamese and downloads, supplier declarations, the
officer's approval screens, and the public verification page the QR code points at.

Every form carries the session's CSRF token; pages send no inline script (CSP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from connectors.intake.documents import InvalidApplication, UnsafeXml, format_of, read_document
from connectors.portal import actions, i18n
from connectors.portal.access import limit_address
from connectors.portal.api import application_detail, certificate_for
from connectors.portal.i18n import language_of, translator
from connectors.portal.problems import ApiProblem
from connectors.portal.sessions import COOKIE, Session, csrf_ok
from connectors.portal.signin import router as signin_router
from connectors.portal.state import Portal
from connectors.portal.submitting import submit
from pipeline.application.xml import schema_bytes
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import EcoError, Problem
from pipeline.issuing import trust_directory

router = APIRouter(include_in_schema=False)
router.include_router(signin_router)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _session(request: Request) -> Session | None:
    return _portal(request).sessions.get(request.cookies.get(COOKIE))


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = _session(request)
    lang = language_of(request)
    response = templates.TemplateResponse(request, name, {
        "session": session, "caller": session.caller if session else None,
        "csrf": session.csrf if session else "", "lang": lang, "t": translator(lang),
        "languages": i18n.NAMES, **context}, status_code=status)
    if request.query_params.get("lang") == lang:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/", secure=True,
                            httponly=True, samesite="lax")
    return response


def _signed_in(request: Request) -> Session:
    session = _session(request)
    if session is None:
        raise SignInNeeded(request.url.path)
    return session


class SignInNeeded(Exception):
    """A page for signed-in people was asked for without a session: back to sign-in."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


async def on_sign_in_needed(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/", status_code=303)


def _officer(request: Request) -> Session:
    session = _signed_in(request)
    if not session.caller.may_approve:
        raise ApiProblem(403, "Forbidden", "the approval screens are for issuing officers")
    return session


async def _form(request: Request, session: Session) -> dict[str, Any]:
    form = await request.form()
    if not csrf_ok(session, str(form.get("csrf", ""))):
        raise ApiProblem(403, "Forbidden", "the form's CSRF token does not match: reload the "
                         "page and send it again")
    return dict(form)


@router.get("/")
async def home(request: Request) -> Response:
    if _session(request) is not None:
        return RedirectResponse("/portal", status_code=303)
    return _page(request, "signin.html")


@router.get("/portal")
async def applications(request: Request) -> Response:
    session = _signed_in(request)
    listed = _portal(request).view.applications(session.caller.may_read)
    return _page(request, "applications.html", applications=listed)


@router.get("/portal/applications/{application_id}")
async def application(application_id: str, request: Request) -> Response:
    session = _signed_in(request)
    detail = application_detail(_portal(request), session.caller, application_id)
    return _page(request, "application.html", app=detail)


@router.get("/portal/submit")
async def submit_form(request: Request) -> Response:
    _signed_in(request)
    return _page(request, "submit.html", errors=[], text="")


@router.post("/portal/submit")
async def submit_page(request: Request) -> Response:
    session = _signed_in(request)
    form = await _form(request, session)
    upload = form.get("file")
    body = b""
    if upload is not None and hasattr(upload, "read"):
        body = await upload.read()
    if not body.strip():
        body = str(form.get("document", "")).encode()
    text = body.decode("utf-8", "replace")
    portal = _portal(request)
    fmt = format_of("", body) or "JSON_V1"
    try:
        document = read_document(body, fmt, max_depth=portal.settings.portal_max_depth,
                                 max_bytes=portal.settings.portal_max_body)
        accepted = await submit(portal, session.caller, document, document_format=fmt,
                                idempotency_key=str(form.get("idempotency_key") or "") or None)
    except UnsafeXml as exc:
        return _page(request, "submit.html", 400, errors=[Problem("", str(exc))], text=text)
    except InvalidApplication as exc:
        return _page(request, "submit.html", 422, errors=list(exc.problems), text=text)
    except ApiProblem as exc:
        return _page(request, "submit.html", exc.status,
                     errors=list(exc.errors) or [Problem("", exc.detail)], text=text)
    return RedirectResponse(f"/portal/applications/{accepted.application_id}", status_code=303)


@router.get("/portal/certificates/{ref}")
async def certificate(ref: str, request: Request) -> Response:
    session = _signed_in(request)
    portal = _portal(request)
    found = certificate_for(portal, session.caller, ref)
    detail = application_detail(portal, session.caller, found.application_id)
    return _page(request, "certificate.html", certificate=found, app=detail)


@router.get("/portal/declarations")
async def declarations(request: Request) -> Response:
    session = _signed_in(request)
    return _declarations_page(request, session, [], {})


def _declarations_page(request: Request, session: Session, errors: list[Problem],
                       values: dict[str, Any], status: int = 200) -> HTMLResponse:
    view = _portal(request).view
    mine = [d for d in view.declarations.values()
            if session.caller.reads_all or d.get("declared_by") in session.caller.tenants]
    return _page(request, "declarations.html", status, declarations=mine, errors=errors,
                 values=values)


@router.post("/portal/declarations")
async def declare_page(request: Request) -> Response:
    session = _signed_in(request)
    form = await _form(request, session)
    values = {k: str(form.get(k, "")).strip() for k in actions.DeclarationIn.model_fields}
    if not session.caller.may_declare:
        return _declarations_page(request, session, [Problem("", "only a supplier may "
                                                             "declare")], values, 403)
    try:
        body = actions.DeclarationIn.model_validate(values)
    except ValidationError as exc:
        problems = [Problem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        return _declarations_page(request, session, problems, values, 422)
    try:
        await actions.declare(_portal(request), session.caller, body)
    except ApiProblem as exc:
        return _declarations_page(request, session, list(exc.errors) or
                                  [Problem("", exc.detail)], values, exc.status)
    return RedirectResponse("/portal/declarations", status_code=303)


@router.get("/portal/officer")
async def officer(request: Request) -> Response:
    _officer(request)
    view = _portal(request).view
    issued = sorted(view.certificates.values(), key=lambda c: c.issued_at, reverse=True)
    return _page(request, "officer.html", certificates=issued, errors=[], done=None)


@router.get("/portal/officer/{ref}")
async def officer_certificate(ref: str, request: Request) -> Response:
    session = _officer(request)
    portal = _portal(request)
    found = certificate_for(portal, session.caller, ref)
    document = portal.view.documents.get(found.application_id, {})
    return _page(request, "approve.html", certificate=found, errors=[], reason="",
                 document=json.dumps(document, indent=2, ensure_ascii=False), action="")


@router.post("/portal/officer/{ref}")
async def approve(ref: str, request: Request) -> Response:
    session = _officer(request)
    form = await _form(request, session)
    portal = _portal(request)
    found = certificate_for(portal, session.caller, ref)
    action, reason = str(form.get("action", "")), str(form.get("reason", "")).strip()
    text = str(form.get("document", ""))
    errors: list[Problem] = []
    document: dict[str, Any] | None = None
    if action == "supersede":
        try:
            document = json.loads(text)
        except ValueError as exc:
            errors.append(Problem("document", f"not JSON: {exc}"))
    if action not in ("supersede", "copy", "revoke"):
        errors.append(Problem("action", "choose supersede, copy or revoke"))
    if not reason:
        errors.append(Problem("reason", "say why (it is recorded in the event)"))
    if not errors:
        try:
            await actions.request_version(portal, session.caller, found, actions.OfficerRequest(
                action=action, reason=reason,  # type: ignore[arg-type]
                document=document if isinstance(document, dict) else None))
        except ApiProblem as exc:
            errors = list(exc.errors) or [Problem("", exc.detail)]
    if errors:
        return _page(request, "approve.html", 422, certificate=found, errors=errors,
                     reason=reason, document=text, action=action)
    return RedirectResponse(f"/portal/applications/{found.application_id}", status_code=303)


@router.get("/verify")
async def verify_form(request: Request, number: str = "") -> Response:
    if number.strip():
        return RedirectResponse(f"/verify/{quote(number.strip(), safe='')}", status_code=303)
    return _page(request, "verify.html", standing=None, number="", checked=None)


@router.get("/schema/application-1.xsd")
async def application_xsd() -> Response:
    """The published XSD of the application's XML form."""
    return Response(schema_bytes(), media_type="application/xml")


@router.get("/verify/{number}")
async def verify_number(number: str, request: Request) -> Response:
    limit_address(request)
    try:
        standing = actions.public_standing(_portal(request), number)
    except ApiProblem:
        return _page(request, "verify.html", 404, standing=None, number=number, checked=None)
    return _page(request, "verify.html", standing=standing, number=number, checked=None)


@router.post("/verify")
async def verify_upload(request: Request) -> Response:
    """Anyone may check an XML certificate: its signature against the trust registry, and
    its standing here. Nothing is stored."""
    limit_address(request)
    form = await request.form()
    upload = form.get("file")
    data = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    portal = _portal(request)
    try:
        registry = TrustRegistry.from_dir(trust_directory(portal.settings))
        verified = verify_certificate(data, registry)
    except (EcoError, OSError, ValueError) as exc:
        return _page(request, "verify.html", 422, standing=None, number="",
                     checked={"valid": False, "reason": str(exc)})
    try:
        standing = actions.public_standing(portal, verified.number)
    except ApiProblem:
        standing = None
    return _page(request, "verify.html", standing=standing, number=verified.number,
                 checked={"valid": True, "number": verified.number,
                          "office": verified.issuing_office.code,
                          "issued_at": verified.issued_at.isoformat(),
                          "authority": verified.authority,
                          "at": datetime.now(UTC).isoformat(timespec="seconds")})
