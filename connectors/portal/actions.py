"""What people do through the portal besides submitting: suppliers declare origin, officers
ask for corrected versions, copies and revocations, anyone checks a certificate's standing;
and the advice shown beside each alert."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.customs.box4 import box4_code_list
from connectors.portal.caller import Caller
from connectors.portal.problems import ApiProblem
from connectors.portal.state import Portal
from connectors.portal.view import SUPPLIER_SOURCE, Certificate
from pipeline.application import parse_application
from pipeline.certificate.notices import notice_signer
from pipeline.cli.certificate import ACTION_OF, REQUESTED, request_envelope
from pipeline.cli.declare import declaration_event
from pipeline.errors import ConfigurationError, DependencyUnavailable, InvalidInput, Problem
from pipeline.origin.register import parse_declaration

ADVICE = {
    "RESPONSE_TIMEOUT": "The importing customs has not decided in time: ask its help desk, "
                        "or send the certificate through the manual channel.",
    "TRANSMISSION_FAILED": "The certificate could not be delivered: operations retry; give "
                           "the importer the printed certificate if clearance is urgent.",
    "FALLBACK_MANUAL": "This country has no direct connection: the certificate goes through "
                       "the manual channel; give the importer the printed certificate.",
    "VERIFICATION_DEADLINE": "The importing customs asked for verification: send the "
                             "requested documents before the deadline.",
    "SUPPLIER_DATA_MISSING": "A material is claimed originating without a supplier "
                             "declaration: ask the supplier to declare it in the portal.",
}


def with_advice(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert with ``what_to_do``: the stage's suggestion, or the Box 4 code list's fixes
    for the reasons named, or the general advice for its kind."""
    advice = str(alert.get("suggested_action") or "")
    if not advice and alert.get("kind") == "BOX4_REJECTION":
        codes = [c.strip() for c in str(alert.get("summary", "")).split(",") if c.strip()]
        advice = box4_code_list().suggested_action(str(alert.get("importing_country") or ""),
                                                   codes)
    return {**alert, "what_to_do": advice or ADVICE.get(str(alert.get("kind")), "")}


class DeclarationIn(BaseModel):
    """A supplier's origin declaration (Form E Rule 5(b))."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=100)
    supplier: str = Field(min_length=1, max_length=300)
    hs_code: str = Field(min_length=1, max_length=10)
    origin_country: str = Field(min_length=1, max_length=10)
    agreement: str = Field(min_length=1, max_length=10)
    valid_from: str = Field(min_length=1, max_length=20)
    valid_until: str = Field(min_length=1, max_length=20)
    processing: str = Field(min_length=1, max_length=2000, description=(
        "what the supplier does to make the material originating (processing description)"))


async def declare(portal: Portal, caller: Caller, body: DeclarationIn) -> dict[str, Any]:
    try:
        declaration = parse_declaration(body.model_dump())
    except InvalidInput as exc:
        raise ApiProblem(422, "Invalid declaration", "; ".join(str(p) for p in exc.problems),
                         errors=exc.problems, kind="invalid-declaration") from exc
    owner = caller.tenants[0]
    existing = portal.view.declarations.get(declaration.reference)
    if existing is not None and existing.get("declared_by") != owner:
        raise ApiProblem(409, "Conflict", f"declaration {declaration.reference!r} belongs to "
                         "another supplier", kind="declaration-conflict")
    try:
        await portal.publish([declaration_event(declaration, source=SUPPLIER_SOURCE + owner)])
    except DependencyUnavailable as exc:
        raise ApiProblem(503, "Broker unavailable", "the declaration could not be recorded; "
                         "send it again", headers={"Retry-After": "5"}) from exc
    return {"reference": declaration.reference, "valid_from": str(declaration.valid_from),
            "valid_until": str(declaration.valid_until), "processing": declaration.processing,
            "declared_by": owner}


class OfficerRequest(BaseModel):
    """An issuing officer's request about an issued certificate (Form E Rule 10)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["supersede", "copy", "revoke"]
    reason: str = Field(min_length=1, max_length=2000)
    document: dict[str, Any] | None = Field(
        default=None, description="the corrected application (supersede only)")


async def request_version(portal: Portal, caller: Caller, certificate: Certificate,
                          body: OfficerRequest) -> dict[str, Any]:
    document_text: str | None = None
    if body.action == "supersede":
        if body.document is None:
            raise ApiProblem(422, "Invalid request", "a correction needs the corrected "
                             "application", errors=[Problem("document", "required")],
                             kind="invalid-request")
        document = {**body.document, "application_id": certificate.application_id}
        try:
            parse_application(document, source="correction")
        except InvalidInput as exc:
            raise ApiProblem(422, "Invalid application", "; ".join(str(p) for p in
                                                                  exc.problems),
                             errors=[Problem(f"document.{p.path}", p.message)
                                     for p in exc.problems],
                             kind="invalid-application") from exc
        document_text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    if certificate.standing != "valid":
        raise ApiProblem(409, "Conflict", f"certificate {certificate.number} is "
                         f"{certificate.standing}: act on its current version",
                         kind="certificate-not-current")
    try:  # signed with the portal's officer key: the issuance stage refuses unsigned ones
        signer = notice_signer(portal.settings, REQUESTED)
    except ConfigurationError as exc:
        raise ApiProblem(503, "Officer requests not configured", str(exc),
                         kind="officer-key-missing") from exc
    envelope = request_envelope(certificate.application_id, ACTION_OF[body.action],
                                certificate.number, reason=body.reason.strip(),
                                approved_by=f"{caller.name} ({caller.subject})",
                                document=document_text, signer=signer)
    try:
        await portal.publish([envelope])
    except DependencyUnavailable as exc:
        raise ApiProblem(503, "Broker unavailable", "the request could not be recorded; "
                         "send it again", headers={"Retry-After": "5"}) from exc
    return {"application_id": certificate.application_id, "action": body.action,
            "certificate_number": certificate.number, "request_id": envelope.id}


def public_standing(portal: Portal, ref: str) -> dict[str, Any]:
    """What anyone may learn of a certificate: its standing, never its content."""
    certificate = portal.view.certificates.get(ref)
    if certificate is None:
        raise ApiProblem(404, "Not found", f"no certificate {ref!r} was issued here")
    return {"certificate_number": certificate.number, "standing": certificate.standing,
            "superseded_by": certificate.superseded_by or None,
            "issuing_office": certificate.issuing_office, "issued_at": certificate.issued_at,
            "version": certificate.version}
