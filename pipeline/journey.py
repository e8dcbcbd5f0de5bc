"""What each event says about a certificate's state: the pure mapping behind the status stage."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pipeline.states import Observation, State

_VERDICTS = {
    "QUALIFIED": State.VERIFIED,
    "NOT_QUALIFIED": State.NOT_QUALIFIED,
    "INCOMPLETE": State.INCOMPLETE,
    "DOCUMENTS_REQUESTED": State.DOCUMENTS_REQUESTED,
}
_CUSTOMS = {
    "PREFERENCE_GIVEN": State.ACCEPTED,
    "PREFERENCE_NOT_GIVEN": State.REJECTED,
    "VERIFICATION_REQUESTED": State.VERIFICATION_REQUESTED,
    "TECH_REJECTED": State.TRANSMISSION_FAILED,
}


def observe(event_id: str, event_type: str, at: datetime, data: Mapping[str, Any]
            ) -> Observation:
    """Map one decoded event to the state it implies and the facts worth keeping."""
    number = data.get("certificate_number")
    country = data.get("importing_country")
    base: dict[str, Any] = {"event_id": event_id, "event_type": event_type, "at": at,
                            "certificate_number": number, "importing_country": country}
    if event_type == "eco.application.submitted.v1":
        return Observation(**base, state=State.SUBMITTED,
                           detail=f"{data.get('agreement')} application via "
                           f"{data.get('submitted_via')}")
    if event_type == "eco.verification.completed.v1":
        verdict = str(data["verdict"])
        reasons: list[str] = [f"{e['path']}: {e['message']}" for e in data.get("errors", [])]
        for item in data.get("items", []):
            if not item.get("qualified"):
                reasons += [f"item {item['item_no']}: {r}" for r in item.get("reasons", [])]
        criteria = ", ".join(
            f"item {i['item_no']} {i.get('box') or i.get('criterion') or '-'}"
            for i in data.get("items", [])
        )
        return Observation(**base, state=_VERDICTS.get(verdict), detail=f"{verdict}; {criteria}",
                           reasons=tuple(reasons))
    if event_type == "eco.verification.documents-requested.v1":
        asked = tuple(
            f"document requested: {d['kind']}"
            + (f" for item {d['item_no']}" if d.get("item_no") is not None else "")
            + f": {d['reason']}"
            for d in data.get("documents", [])
        )
        kinds = ", ".join(str(d["kind"]) for d in data.get("documents", []))
        return Observation(**base, state=State.DOCUMENTS_REQUESTED,
                           detail=f"documents requested: {kinds}", reasons=asked)
    if event_type == "eco.application.documents-supplied.v1":
        supplied = ", ".join(f"{d['kind']} ({d['reference']})" for d in data.get("documents", []))
        # History only: the examination's next outcome moves the state, and documents sent
        # for an application that does not wait for any must not reopen it.
        return Observation(**base, state=None, detail=f"documents supplied: {supplied}")
    if event_type == "eco.certificate.issued.v1":
        return Observation(**base, state=State.ISSUED, version=int(data["version"]),
                           detail=f"{number} v{data['version']} by {data['issuing_office']}")
    if event_type == "eco.certificate.refused.v1":
        refused = tuple(str(r) for r in data.get("refusals") or ()) or (str(data["reason"]),)
        return Observation(**base, state=State.ISSUANCE_REFUSED, reasons=refused,
                           detail=f"issuance refused ({data['cause']}): {data['reason']}")
    if event_type == "eco.certificate.superseded.v1":
        return Observation(**base, state=State.SUPERSEDED,
                           detail=f"superseded by {data['superseded_by_number']}")
    if event_type == "eco.certificate.revoked.v1":
        return Observation(**base, state=State.REVOKED, detail=str(data.get("reason", "")))
    if event_type == "eco.transmission.delivered.v1":
        return Observation(**base, state=State.TRANSMITTED,
                           detail=f"delivered to {country} after {data['attempts']} attempt(s)")
    if event_type == "eco.transmission.failed.v1":
        return Observation(**base, state=State.TRANSMISSION_FAILED, detail=str(data["reason"]))
    if event_type == "eco.transmission.fallback.v1":
        return Observation(**base, state=State.FALLBACK_MANUAL, detail=str(data["reason"]))
    if event_type == "eco.certificate.clarified.v1":
        # Form E Rule 8(e)-(f) clarification after Box 4, or a reply to RCEP Article 3.24.
        replied = data.get("answers") == "VERIFICATION_REQUEST"
        return Observation(**base,
                           state=State.VERIFICATION_REPLIED if replied else State.CLARIFIED,
                           detail=f"clarification approved by {data['approved_by']}: "
                           f"{data['explanation']}")
    if event_type == "eco.customs.responded.v1":
        status = str(data["status"])
        box4 = tuple(f"Box 4 {r['code']}: {r['text']}" for r in data.get("box4_reasons", []))
        detail = f"{country} customs: {status}"
        if box4:
            detail += " (" + "; ".join(box4) + ")"
        version = data.get("version")
        return Observation(**base, state=_CUSTOMS.get(status), detail=detail, reasons=box4,
                           version=int(version) if version is not None else None)
    if event_type == "eco.alert.raised.v1":
        return Observation(**base, state=None, alert=str(data["kind"]),
                           detail=f"alert {data['kind']}: {data['summary']}")
    return Observation(**base, state=None, detail=event_type)
