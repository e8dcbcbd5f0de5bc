"""Submitting an application through the portal: the tenant check, the Idempotency-Key, and
the event published to ``eco.application`` once the broker has it.

The application id derives from the tenant and the Idempotency-Key (or is the document's own
``application_id``), and the view remembers every application id on ``eco.application`` with
the digest of its content: a repeat gets the first answer, after a restart too, and the same
key with other content is a conflict (422)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from connectors.portal.caller import Caller
from connectors.portal.metering import SUBMISSIONS
from connectors.portal.problems import ApiProblem
from connectors.portal.state import Portal
from connectors.portal.view import document_digest
from pipeline.errors import DependencyUnavailable, InvalidApplication, Problem
from pipeline.submission import submission

_KEYS = uuid.UUID("6f1c7d2e-3b4a-4c5d-9e8f-0a1b2c3d4e5f")


@dataclass(frozen=True)
class Accepted:
    application_id: str
    status_url: str
    replayed: bool

    def body(self) -> dict[str, Any]:
        return {"application_id": self.application_id, "status_url": self.status_url,
                "state": "SUBMITTED"}


def application_id_for(tenant: str, key: str) -> str:
    """The application id an Idempotency-Key stands for, within one tenant."""
    return f"app-{uuid.uuid5(_KEYS, f'{tenant}|{key}')}"


def _exporter_id(document: dict[str, Any]) -> str:
    exporter = document.get("exporter")
    return str(exporter.get("id") or "") if isinstance(exporter, dict) else ""


async def submit(portal: Portal, caller: Caller, document: dict[str, Any], *,
                 document_format: str, idempotency_key: str | None,
                 channel: str = "PORTAL") -> Accepted:
    """Check, then publish; ApiProblem (403, 409, 422, 503) otherwise. Nothing is published
    for a refused request."""
    exporter_id = _exporter_id(document)
    if not exporter_id:
        raise ApiProblem(422, "Invalid application", "exporter.id is missing: the portal "
                         "files an application under its exporter",
                         errors=[Problem("exporter.id", "required")],
                         kind="invalid-application")
    if not caller.may_submit_for(exporter_id):
        raise ApiProblem(403, "Forbidden", f"you may not submit applications for exporter "
                         f"{exporter_id!r}", errors=[Problem("exporter.id", "not yours")])
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise ApiProblem(400, "Bad request", "Idempotency-Key must be 1 to 200 printable "
                             "characters", kind="invalid-idempotency-key")
        app_id = application_id_for(exporter_id, key)
        given = document.get("application_id")
        if given and given != app_id:
            raise ApiProblem(422, "Invalid application", "a document with its own "
                             "application_id cannot also carry an Idempotency-Key",
                             errors=[Problem("application_id", "conflicts with the key")],
                             kind="invalid-application")
        document = {**document, "application_id": app_id}
    app_id_given = document.get("application_id")
    status_base = f"{portal.settings.portal_url}/v1/applications/"
    digest = document_digest(document)
    lock_key = str(app_id_given or "")
    lock = portal.submitting.setdefault(lock_key, asyncio.Lock())
    try:
        return await _submit_once(portal, document, exporter_id, str(app_id_given or ""),
                                  digest, status_base, document_format, channel, lock)
    finally:
        if not lock.locked():
            portal.submitting.pop(lock_key, None)


async def _submit_once(portal: Portal, document: dict[str, Any], exporter_id: str,
                       app_id_given: str, digest: str, status_base: str, document_format: str,
                       channel: str, lock: asyncio.Lock) -> Accepted:
    """One application id at a time: the check of the view and the publication."""
    async with lock:
        if app_id_given:
            known = portal.view.digests.get(str(app_id_given))
            if known is not None:
                if portal.view.tenants.get(str(app_id_given)) != exporter_id or known != digest:
                    raise ApiProblem(422, "Idempotency conflict", f"application "
                                     f"{app_id_given!r} was already submitted with other "
                                     "content", kind="idempotency-conflict")
                return Accepted(str(app_id_given), status_base + str(app_id_given), True)
        try:
            sub = submission(document, source="portal", via=channel,
                             document_format=document_format)
        except InvalidApplication as exc:
            raise ApiProblem(422, "Invalid application", "; ".join(str(p) for p in
                                                                  exc.problems),
                             errors=exc.problems, kind="invalid-application") from exc
        try:
            await portal.publish([sub.envelope])
        except DependencyUnavailable as exc:
            raise ApiProblem(503, "Broker unavailable", "the application could not be "
                             "recorded; send it again (with the same Idempotency-Key)",
                             headers={"Retry-After": "5"}) from exc
        # Remember at once: the view would learn it from eco.application a moment later.
        portal.view.digests.setdefault(sub.application_id, digest)
        portal.view.tenants.setdefault(sub.application_id, exporter_id)
        portal.view.documents.setdefault(sub.application_id, dict(document))
        SUBMISSIONS.labels(document_format, channel).inc()
        return Accepted(sub.application_id, status_base + sub.application_id, False)
