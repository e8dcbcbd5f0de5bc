"""Versions of a certificate, never edits (Form E Rule 10): what an authorised officer may ask
of an issued certificate, and the records and events each request produces.

* ``SUPERSEDE``: a corrected version, built from the corrected application with the original
  origin determinations, gets a **new serial** of the issuing office (a re-issued certificate
  follows the same pattern with a new serial, DOMAIN 1.6), the next version number and
  ``Supersedes`` naming the old number; the old version is superseded.
* ``CERTIFIED_TRUE_COPY``: for a lost, stolen or destroyed certificate, a copy endorsed
  "CERTIFIED TRUE COPY" keeps the **same number** and certification date, gets the next
  version number and supersedes the lost version.
* ``REVOKE``: the current version is revoked; nothing can follow it.

Every request names the certificate number it acts on (a request about a version that has
since been replaced is refused) and carries the approving officer and the reason, which the
resulting ``superseded`` or ``revoked`` event records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pipeline.errors import BusinessRejection, InvalidInput, Problem

SUPERSEDE = "SUPERSEDE"
REVOKE = "REVOKE"
CERTIFIED_TRUE_COPY = "CERTIFIED_TRUE_COPY"
ACTIONS = (SUPERSEDE, REVOKE, CERTIFIED_TRUE_COPY)

ISSUED = "eco.certificate.issued.v1"
SUPERSEDED = "eco.certificate.superseded.v1"
REVOKED = "eco.certificate.revoked.v1"

# Item fields a correction may change: they print on the certificate but play no part in the
# origin determination that the corrected version keeps.
CORRECTABLE_ITEM_FIELDS = frozenset({"marks", "description", "packages", "gross_weight_kg",
                                     "quantity"})
_UNCHANGEABLE = ("agreement", "issuing_office", "exporter.country", "importer.country")
_INSTANTS = ("issued_at", "occurred_at")


@dataclass(frozen=True)
class OfficerRequest:
    """An authorised officer's request to supersede, copy or revoke one certificate version."""

    request_id: str
    application_id: str
    action: str
    certificate_number: str
    reason: str
    approved_by: str
    document: str | None = None

    @classmethod
    def from_event(cls, event_id: str, data: Mapping[str, Any]) -> OfficerRequest:
        return cls(request_id=event_id, application_id=str(data["application_id"]),
                   action=str(data["action"]), certificate_number=str(data["certificate_number"]),
                   reason=str(data["reason"]), approved_by=str(data["approved_by"]),
                   document=data.get("document"))


def check_request(request: OfficerRequest, record: Mapping[str, Any]) -> None:
    """Refuse a request that is malformed (InvalidInput) or that the certificate's current
    version does not allow (BusinessRejection); an officer's approval is required (Rule 10)."""
    problems = []
    if request.action not in ACTIONS:
        problems.append(Problem("action", f"unknown action {request.action!r}; "
                                f"known: {', '.join(ACTIONS)}"))
    if not request.approved_by.strip():
        problems.append(Problem("approved_by", "an authorised officer must approve"))
    if not request.reason.strip():
        problems.append(Problem("reason", "empty"))
    if request.action == SUPERSEDE and not request.document:
        problems.append(Problem("document", "a correction needs the corrected application"))
    if problems:
        raise InvalidInput(problems, f"request {request.request_id}")
    if not record:
        raise BusinessRejection(f"{request.application_id}: no certificate has been issued")
    if record.get("state") == "REVOKED":
        raise BusinessRejection(
            f"{request.application_id}: certificate {record['certificate_number']} "
            f"v{record['version']} is revoked; nothing can follow it")
    if request.certificate_number != record["certificate_number"]:
        raise BusinessRejection(
            f"{request.application_id}: the request is about {request.certificate_number}, "
            f"but the current certificate is {record['certificate_number']} "
            f"v{record['version']}")


def corrected_document(request: OfficerRequest, record: Mapping[str, Any]) -> dict[str, Any]:
    """The corrected application, refused when it changes what the origin determination of
    the original rests on (agreement, office, countries, the items' classification and values)."""
    try:
        document = json.loads(request.document or "")
    except ValueError as exc:
        raise InvalidInput([Problem("document", f"not JSON: {exc}")]) from exc
    if not isinstance(document, dict):
        raise InvalidInput([Problem("document", "not a JSON object")])
    original = json.loads(record["document"])
    document.setdefault("application_id", original.get("application_id"))
    problems = []
    if document.get("application_id") != original.get("application_id"):
        problems.append(Problem("application_id", "a correction keeps the application id"))
    for path in _UNCHANGEABLE:
        if _at(document, path) != _at(original, path):
            problems.append(Problem(path, "cannot change in a correction: submit a new "
                                    "application"))
    new_items, old_items = document.get("items"), original.get("items") or []
    if not isinstance(new_items, list) or len(new_items) != len(old_items):
        problems.append(Problem("items", "a correction keeps the same items"))
    else:
        for index, (new, old) in enumerate(zip(new_items, old_items, strict=True)):
            if not isinstance(new, dict) or _origin_facts(new) != _origin_facts(old):
                problems.append(Problem(f"items[{index}]", "only marks, description, packages, "
                                        "gross weight and quantity can be corrected"))
    if problems:
        raise InvalidInput(problems, f"request {request.request_id}")
    return document


def _at(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _origin_facts(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in CORRECTABLE_ITEM_FIELDS}


def plain(value: Any) -> Any:
    """A decoded event value as plain JSON for a table: decimals and instants as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def issued_data(application_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``eco.certificate.issued.v1`` data of the version a record holds."""
    xml = str(record["document_xml"])
    return {
        "application_id": application_id,
        "certificate_number": record["certificate_number"],
        "version": record["version"],
        "issuing_office": record["issuing_office"],
        "agreement": record["agreement"],
        "importing_country": record["importing_country"],
        "tenant": record["tenant"],
        "issued_at": datetime.fromisoformat(record["issued_at"]),
        "document_xml": xml,
        "document_sha256": hashlib.sha256(xml.encode()).hexdigest(),
        "signed": record["signed"],
        "supersedes": record.get("supersedes"),
    }


@dataclass(frozen=True)
class Output:
    """One event a request produces, kept with the record so a replay publishes it again."""

    type: str
    key_parts: tuple[str, ...]
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "key_parts": list(self.key_parts), "data": plain(self.data)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Output:
        data = {k: datetime.fromisoformat(v) if k in _INSTANTS and isinstance(v, str) else v
                for k, v in value["data"].items()}
        return cls(type=value["type"], key_parts=tuple(value["key_parts"]), data=data)


def revocation(record: Mapping[str, Any], request: OfficerRequest, at: datetime
               ) -> tuple[dict[str, Any], list[Output]]:
    """The record after revoking its current version, and the ``revoked`` event."""
    number, version = record["certificate_number"], int(record["version"])
    event = Output(REVOKED, (request.application_id, "revoked", number, str(version)), {
        "application_id": request.application_id, "certificate_number": number,
        "version": version, "reason": request.reason, "approved_by": request.approved_by,
        "occurred_at": at,
    })
    return _applied({**record, "state": "REVOKED"}, request, [event])


def new_version(record: Mapping[str, Any], request: OfficerRequest, *, number: str, xml: str,
                issued_at: datetime) -> tuple[dict[str, Any], list[Output]]:
    """The record holding the next version (a correction or a certified true copy), and the
    ``superseded`` event of the old version followed by the ``issued`` event of the new one."""
    old_number, old_version = record["certificate_number"], int(record["version"])
    version = old_version + 1
    current = {
        **record, "certificate_number": number, "version": version, "document_xml": xml,
        "issued_at": issued_at.isoformat(), "supersedes": old_number, "state": "ISSUED",
        "certified_true_copy": request.action == CERTIFIED_TRUE_COPY,
        "versions": [*record.get("versions", []),
                     {"certificate_number": old_number, "version": old_version}],
    }
    if request.action == SUPERSEDE and request.document:
        current["document"] = request.document
    superseded = Output(
        SUPERSEDED, (request.application_id, "superseded", old_number, str(old_version)), {
            "application_id": request.application_id, "certificate_number": old_number,
            "version": old_version, "superseded_by_number": number,
            "superseded_by_version": version, "reason": request.reason,
            "approved_by": request.approved_by, "occurred_at": issued_at,
        })
    issued = Output(ISSUED, (request.application_id, "issued", number, str(version)),
                    issued_data(request.application_id, current))
    return _applied(current, request, [superseded, issued])


def _applied(record: Mapping[str, Any], request: OfficerRequest, outputs: list[Output]
             ) -> tuple[dict[str, Any], list[Output]]:
    requests = dict(record.get("requests", {}))
    requests[request.request_id] = [o.to_json() for o in outputs]
    return {**record, "requests": requests}, outputs
