"""The verification stage's decision: the issuing authority's examination of one application
(Form E Rule 7; RCEP Article 3.17), with the rules of ``pipeline.origin``.

The examination is made as of the configured examination date, or else the day of the event
that completes the application (its submission, or the documents supplied; never the clock at
processing), so a replay gives the same verdict; the verification event carries that moment
(``completed_at``), and the certificate is dated by it (``pipeline.clock``). An application
that would qualify but lacks a supporting document the evidence table calls for (Rule 4)
waits: the state keeps it until the documents arrive
(``eco.application.documents-supplied.v1``) and the examination runs again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pipeline import events
from pipeline.application import Application, parse_application
from pipeline.clock import examination_day, examination_moment
from pipeline.errors import InvalidApplication, Problem
from pipeline.events import Envelope
from pipeline.origin import RuleBook
from pipeline.origin.event import verification_data
from pipeline.origin.evidence import EvidenceRule
from pipeline.origin.predetermination import PreExportationDetermination, item_key
from pipeline.origin.register import cited_declarations
from pipeline.origin.verification import Verification, verify_application
from pipeline.stages import Emit, Note, Transition, unchanged
from pipeline.stages.alerts import alert, derived_id

SUBMITTED = "eco.application.submitted.v1"
SUPPLIED = "eco.application.documents-supplied.v1"
COMPLETED = "eco.verification.completed.v1"
REQUESTED = "eco.verification.documents-requested.v1"
SOURCE = "eco/verification"

#: An application waiting for documents: its document, agreement, submission and supplies.
Waiting = Mapping[str, Any]


@dataclass(frozen=True)
class Examiner:
    """What an examination depends on besides the application: the rules, the evidence
    table and the configured examination date (None: the day of submission)."""

    rulebook: RuleBook
    evidence: tuple[EvidenceRule, ...]
    examination_date: date | None = None

    def day_for(self, submitted_at: datetime) -> date:
        return examination_day(self.examination_date, submitted_at)

    def moment_for(self, event_at: datetime) -> datetime:
        """The one clock of the certificate (``pipeline.clock``): the examination is as of
        its day, and the verification event, so the certificate, is dated by it."""
        return examination_moment(self.examination_date, event_at)


@dataclass(frozen=True)
class Registers:
    """The supplier declarations and pre-exportation determinations as the worker holds them."""

    declarations: Mapping[str, Any]
    determinations: Mapping[str, Any]


def decide(waiting: Waiting | None, event: Envelope, now: datetime, examiner: Examiner,
           registers: Registers) -> Transition[Waiting | None]:
    """Examine a submitted application, or one that waited, when its documents arrive."""
    if event.type == SUBMITTED:
        # A resubmission replaces an application that waited for documents.
        submitted_at = event.data.get("submitted_at") or event.time
        state: dict[str, Any] = {
            "document": event.data["document"], "agreement": event.data["agreement"],
            "submitted_id": event.id, "submitted_at": submitted_at.isoformat(),
            "supplied": []}
    elif event.type == SUPPLIED:
        if not waiting:
            return unchanged(waiting, Note("documents_not_awaited"))
        kinds = {str(d["kind"]).strip().upper() for d in event.data["documents"]}
        state = {**waiting, "supplied": sorted(set(waiting["supplied"]) | kinds)}
    else:
        return unchanged(waiting)
    return examine(state, event, now, examiner, registers)


def examine(state: Mapping[str, Any], trigger: Envelope, now: datetime, examiner: Examiner,
            registers: Registers) -> Transition[Waiting | None]:
    app_id, text, agreement = trigger.subject, state["document"], state["agreement"]
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidApplication([Problem("document", f"not JSON: {exc}")], app_id) from exc
    application = parse_application(document, source=app_id)
    cited = {m.supplier_declaration for item in application.items
             for m in item.materials or () if m.supplier_declaration}
    # The event that completes the application: its submission, or the documents supplied.
    # The outputs carry the trigger's own time (never before it: the status follows events in
    # time order) and the examination's moment as ``completed_at``, which dates the certificate.
    completed_by = (trigger.data.get("supplied_at") or trigger.time if trigger.type == SUPPLIED
                    else datetime.fromisoformat(state["submitted_at"]))
    moment = examiner.moment_for(completed_by)
    day = moment.date()
    outcome = verify_application(
        application, examiner.rulebook, day,
        declarations=cited_declarations(cited, registers.declarations),
        determinations=stored_determinations(application, registers.determinations),
        evidence=examiner.evidence, supplied=frozenset(state["supplied"]),
    )
    exam = outcome.examination
    outputs: list[Emit] = []
    notes: list[Note] = []
    kept: Waiting | None
    if outcome.documents_requested:
        kept = state
        outputs.append(Emit(events.new_envelope(
            REQUESTED, documents_requested_data(app_id, agreement, outcome, moment),
            source=SOURCE, subject=app_id, id=derived_id(trigger.id, "documents-requested"),
            time=trigger.time,
            traceparent=trigger.traceparent)))
        notes.append(Note("documents_requested",
                          fields={"kinds": [r.kind for r in outcome.requested]}))
    else:
        kept = None
        data = verification_data(app_id, agreement, exam, text, completed_at=moment)
        outputs.append(Emit(events.new_envelope(
            COMPLETED, data, source=SOURCE, subject=app_id,
            id=derived_id(trigger.id, "verification"), time=trigger.time,
            traceparent=trigger.traceparent)))
        notes.append(Note("application_examined", fields={
            "verdict": data["verdict"], "agreement": agreement, "items": len(data["items"]),
            "errors": len(data["errors"]), "examined_as_of": day.isoformat()}))
    if exam.missing_supplier_declarations:
        country = document.get("importer", {}).get("country") if isinstance(
            document.get("importer"), dict) else None
        emit, note = alert(
            "verification", app_id, "SUPPLIER_DATA_MISSING", "WARNING",
            summary="originating materials claimed without a supplier declaration: "
            + ", ".join(exam.missing_supplier_declarations),
            action="Ask the supplier for a declaration (Rule 5(b)) and cite it on the "
            "material, then resubmit.",
            dedup=str(state["submitted_id"]), now=now, country=str(country or "") or None)
        outputs.append(emit)
        notes.append(note)
    return Transition(kept, outputs=tuple(outputs), notes=tuple(notes))


def documents_requested_data(application_id: str, agreement: str, outcome: Verification,
                             now: datetime) -> dict[str, Any]:
    """The ``eco.verification.documents-requested.v1`` datum for one verification."""
    return {
        "application_id": application_id,
        "agreement": agreement,
        "documents": [
            {"kind": r.kind, "item_no": r.item_no, "reason": r.reason} for r in outcome.requested
        ],
        "notes": list(outcome.examination.notes),
        "requested_at": now,
    }


def stored_determinations(app: Application, register: Mapping[str, Any]
                          ) -> dict[str, PreExportationDetermination]:
    """The determinations the register holds for the products of ``app``'s items."""
    found: dict[str, PreExportationDetermination] = {}
    for item in app.items:
        key = item_key(app, item)
        entry = register.get(key) if key else None
        if key and entry:
            found[key] = PreExportationDetermination.from_json(entry)
    return found
