"""The portal's own view of the pipeline, built from its topics (``eco.application``,
``eco.issuance``, ``eco.alert``, ``eco.status``, ``eco.supplier-declaration``): applications
and their tenants, certificates with their signed XML, alerts, supplier declarations, and the
log of certificate events the event stream serves.

Because it is rebuilt from Kafka, a portal on another host, or a second portal, sees the same;
nothing is read from a worker's local directory. ``apply`` is plain data in, state out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from pipeline import events, feeds
from pipeline.errors import EcoError

SUBMITTED = "eco.application.submitted.v1"
ISSUED = "eco.certificate.issued.v1"
SUPERSEDED = "eco.certificate.superseded.v1"
REVOKED = "eco.certificate.revoked.v1"
ALERT = "eco.alert.raised.v1"
DECLARED = "eco.supplier.declared.v1"
TOPICS = ("eco.application", "eco.issuance", "eco.alert", "eco.status",
          "eco.supplier-declaration")
SUPPLIER_SOURCE = "eco/portal/supplier/"


def document_digest(document: Mapping[str, Any]) -> str:
    """The digest of an application's content, its id left out: an Idempotency-Key repeated
    with the same content is the same submission, with other content a conflict."""
    body = {k: v for k, v in document.items() if k != "application_id"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


@dataclass(frozen=True)
class Certificate:
    number: str
    version: int
    application_id: str
    tenant: str
    agreement: str
    issuing_office: str
    importing_country: str
    issued_at: str
    xml: bytes
    supersedes: str | None = None
    superseded_by: str | None = None
    revoked: bool = False
    revocation_reason: str = ""

    @property
    def standing(self) -> str:
        """valid, superseded or revoked: what the public verification page says."""
        if self.revoked:
            return "revoked"
        return "superseded" if self.superseded_by else "valid"

    def metadata(self) -> dict[str, Any]:
        return {"certificate_number": self.number, "version": self.version,
                "application_id": self.application_id, "agreement": self.agreement,
                "issuing_office": self.issuing_office,
                "importing_country": self.importing_country, "issued_at": self.issued_at,
                "standing": self.standing, "supersedes": self.supersedes,
                "superseded_by": self.superseded_by,
                "revocation_reason": self.revocation_reason or None}


@dataclass(frozen=True)
class StreamEvent:
    """One entry of the event stream: a step in the life of one certificate."""

    seq: int
    id: str
    application_id: str
    event_type: str
    state: str | None
    detail: str
    at: str
    certificate_number: str | None

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "application_id": self.application_id,
                "type": self.event_type, "state": self.state, "detail": self.detail,
                "at": self.at, "certificate_number": self.certificate_number}


@dataclass
class PortalView:
    tenants: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    alerts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    declarations: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream: list[StreamEvent] = field(default_factory=list)
    _stream_ids: set[str] = field(default_factory=set)

    def apply(self, topic: str, key: bytes | None, value: bytes | None,
              headers: Sequence[tuple[str, bytes | None]]) -> None:
        """Take one record of the view's topics into account; records that are not events of
        this version are ignored (the stages dead-letter them)."""
        if topic == "eco.status":
            self._status(key.decode() if key else "", feeds.decode_status(value))
            return
        try:
            envelope = events.from_record(key, value, headers)
        except EcoError:
            return
        data = envelope.data
        if envelope.type == SUBMITTED:
            app_id = str(data["application_id"])
            self.tenants.setdefault(app_id, str(data.get("tenant") or ""))
            try:
                document = json.loads(str(data.get("document") or "{}"))
            except ValueError:
                return
            if isinstance(document, dict) and app_id not in self.digests:
                self.digests[app_id] = document_digest(document)
                self.documents[app_id] = document
        elif envelope.type == ISSUED:
            self._issued(data)
        elif envelope.type == SUPERSEDED:
            old = self.certificates.get(str(data["certificate_number"]))
            if old is not None:
                self.certificates[old.number] = replace(
                    old, superseded_by=str(data.get("superseded_by_number") or ""))
        elif envelope.type == REVOKED:
            old = self.certificates.get(str(data["certificate_number"]))
            if old is not None:
                self.certificates[old.number] = replace(
                    old, revoked=True, revocation_reason=str(data.get("reason") or ""))
        elif envelope.type == ALERT:
            app_alerts = self.alerts.setdefault(str(data["application_id"]), [])
            if all(a["alert_id"] != data["alert_id"] for a in app_alerts):
                app_alerts.append({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                   for k, v in data.items()})
        elif envelope.type == DECLARED:
            owner = envelope.source[len(SUPPLIER_SOURCE):] if envelope.source.startswith(
                SUPPLIER_SOURCE) else ""
            self.declarations[str(data["reference"])] = {
                **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()},
                "declared_by": owner}

    def _issued(self, data: Mapping[str, Any]) -> None:
        number = str(data["certificate_number"])
        xml = data.get("document_xml")
        self.tenants.setdefault(str(data["application_id"]), str(data.get("tenant") or ""))
        issued_at = data.get("issued_at")
        self.certificates[number] = Certificate(
            number=number, version=int(data.get("version") or 1),
            application_id=str(data["application_id"]), tenant=str(data.get("tenant") or ""),
            agreement=str(data.get("agreement") or ""),
            issuing_office=str(data.get("issuing_office") or ""),
            importing_country=str(data.get("importing_country") or ""),
            issued_at=issued_at.isoformat() if isinstance(issued_at, datetime)
            else str(issued_at or ""),
            xml=xml.encode() if isinstance(xml, str) else bytes(xml or b""),
            supersedes=data.get("supersedes"))

    def _status(self, app_id: str, status: dict[str, Any] | None) -> None:
        if status is None:
            return
        self.statuses[app_id] = status
        for entry in status.get("history", ()):
            event_id = str(entry.get("event_id"))
            if event_id in self._stream_ids:
                continue
            self._stream_ids.add(event_id)
            self.stream.append(StreamEvent(
                seq=len(self.stream) + 1, id=event_id, application_id=app_id,
                event_type=str(entry.get("event_type")), state=entry.get("state"),
                detail=str(entry.get("detail") or ""), at=str(entry.get("at") or ""),
                certificate_number=status.get("certificate_number")))

    # reads -----------------------------------------------------------------------------

    def tenant_of(self, app_id: str) -> str | None:
        return self.tenants.get(app_id)

    def applications(self, visible: Any) -> list[dict[str, Any]]:
        """The status records of the applications ``visible(tenant)`` admits, newest first."""
        found = [s for a, s in self.statuses.items() if visible(self.tenants.get(a))]
        return sorted(found, key=lambda s: str((s.get("history") or [{}])[0].get("at", "")),
                      reverse=True)

    def certificates_of(self, app_id: str) -> list[Certificate]:
        return sorted((c for c in self.certificates.values() if c.application_id == app_id),
                      key=lambda c: c.version)

    def events_after(self, last_id: str | None, visible: Any) -> list[StreamEvent]:
        """The stream's events after ``last_id`` (all when it is unknown) that ``visible``
        admits (by the application's tenant)."""
        start = 0
        if last_id:
            for event in self.stream:
                if event.id == last_id:
                    start = event.seq
                    break
        return [e for e in self.stream[start:] if visible(self.tenants.get(e.application_id))]

    def cited_declarations(self, app_id: str, on: date) -> list[dict[str, Any]]:
        """Each supplier declaration the application cites: found, missing or expired on
        ``on`` (the seed's advice on supply-chain data)."""
        document = self.documents.get(app_id, {})
        cited: list[dict[str, Any]] = []
        for i, item in enumerate(document.get("items") or []):
            for j, material in enumerate(item.get("materials") or []):
                reference = material.get("supplier_declaration")
                if not reference:
                    continue
                declaration = self.declarations.get(str(reference))
                if declaration is None:
                    state = "missing"
                elif str(declaration.get("valid_until", "")) < on.isoformat():
                    state = "expired"
                else:
                    state = "valid"
                cited.append({"path": f"items[{i}].materials[{j}].supplier_declaration",
                              "reference": reference, "state": state,
                              "valid_until": (declaration or {}).get("valid_until"),
                              "processing": (declaration or {}).get("processing", "")})
        return cited
