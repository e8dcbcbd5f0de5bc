"""Verification stage: the issuing authority's examination of each application
(Form E Rule 7; RCEP Article 3.17). The rules live in pipeline.origin; this stage only
decodes, looks up the registers, examines and publishes the outcome.

An application that would qualify but lacks a supporting document the evidence table
calls for (Rule 4) waits in a table keyed by application id, and the exporter is
asked for the documents; when they arrive (``eco.application.documents-supplied.v1``,
on the application's own topic and partition) the examination runs again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import faust

from agents.alerts import raise_alert
from agents.frame import StageContext, derived_id, install_stage, json_table
from agents.registers import DECLARATIONS_TABLE, DETERMINATIONS_TABLE, global_table
from pipeline import clock, events
from pipeline.application import Application, parse_application
from pipeline.errors import InvalidApplication, Problem
from pipeline.events import Envelope
from pipeline.metrics import APPLICATIONS_BY_VERDICT
from pipeline.origin import RuleBook, default_rulebook
from pipeline.origin.event import verification_data
from pipeline.origin.evidence import EvidenceRule, default_evidence
from pipeline.origin.predetermination import PreExportationDetermination, item_key
from pipeline.origin.register import cited_declarations
from pipeline.origin.verification import Verification, verify_application
from pipeline.settings import Settings

SUBMITTED = "eco.application.submitted.v1"
SUPPLIED = "eco.application.documents-supplied.v1"
COMPLETED = "eco.verification.completed.v1"
REQUESTED = "eco.verification.documents-requested.v1"


def documents_requested_data(application_id: str, agreement: str,
                             outcome: Verification) -> dict[str, Any]:
    """The ``eco.verification.documents-requested.v1`` datum for one verification."""
    return {
        "application_id": application_id,
        "agreement": agreement,
        "documents": [
            {"kind": r.kind, "item_no": r.item_no, "reason": r.reason} for r in outcome.requested
        ],
        "notes": list(outcome.examination.notes),
        "requested_at": datetime.now(UTC),
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


def install(app: faust.App, settings: Settings, rules: RuleBook | None = None,
            evidence: tuple[EvidenceRule, ...] | None = None) -> None:
    rulebook = rules or default_rulebook()
    evidence_table = default_evidence() if evidence is None else evidence
    declarations = global_table(app, settings, DECLARATIONS_TABLE)
    determinations = global_table(app, settings, DETERMINATIONS_TABLE)
    waiting = json_table(app, settings, "verification-waiting", dict)

    async def verify(envelope: Envelope, ctx: StageContext) -> None:
        app_id = envelope.subject
        if envelope.type == SUBMITTED:
            # A resubmission replaces an application that waited for documents.
            state = {"document": envelope.data["document"],
                     "agreement": envelope.data["agreement"],
                     "submitted_id": envelope.id, "supplied": [],
                     "submitted_at": envelope.time.isoformat()}
        elif envelope.type == SUPPLIED:
            state = dict(waiting[app_id])
            if not state:
                ctx.log.info("documents_not_awaited")
                return
            kinds = {str(d["kind"]).strip().upper() for d in envelope.data["documents"]}
            state["supplied"] = sorted(set(state["supplied"]) | kinds)
        else:
            return
        await decide(envelope, ctx, state)

    async def decide(trigger: Envelope, ctx: StageContext, state: dict[str, Any]) -> None:
        app_id, text, agreement = trigger.subject, state["document"], state["agreement"]
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidApplication([Problem("document", f"not JSON: {exc}")], app_id) from exc
        application = parse_application(document, source=app_id)
        cited = {m.supplier_declaration for item in application.items
                 for m in item.materials or () if m.supplier_declaration}
        # One clock (pipeline/clock.py): as of the submission, never the wall clock at replay.
        submitted_at = datetime.fromisoformat(state.get("submitted_at") or
                                              trigger.time.isoformat())
        outcome = verify_application(
            application, rulebook, clock.examination_day(settings.examination_date, submitted_at),
            declarations=cited_declarations(cited, declarations),
            determinations=stored_determinations(application, determinations),
            evidence=evidence_table, supplied=frozenset(state["supplied"]),
        )
        exam = outcome.examination
        if outcome.documents_requested:
            waiting[app_id] = state
            data = documents_requested_data(app_id, agreement, outcome)
            await ctx.emit(events.new_envelope(
                REQUESTED, data, source="eco/verification", subject=app_id,
                id=derived_id(trigger.id, "documents-requested"),
                traceparent=trigger.traceparent,
            ))
            ctx.log.info("documents_requested", kinds=[r.kind for r in outcome.requested])
        else:
            if waiting[app_id]:
                del waiting[app_id]
            data = verification_data(app_id, agreement, exam, text)
            await ctx.emit(events.new_envelope(
                COMPLETED, data, source="eco/verification", subject=app_id,
                id=derived_id(trigger.id, "verification"), traceparent=trigger.traceparent,
            ))
            APPLICATIONS_BY_VERDICT.labels(agreement, data["verdict"]).inc()
            ctx.log.info("application_examined", verdict=data["verdict"],
                         items=len(data["items"]), errors=len(data["errors"]))
        if exam.missing_supplier_declarations:
            await raise_alert(
                ctx, app_id, "SUPPLIER_DATA_MISSING", "WARNING",
                summary="originating materials claimed without a supplier declaration: "
                + ", ".join(exam.missing_supplier_declarations),
                action="Ask the supplier for a declaration (Rule 5(b)) and cite it on the "
                "material, then resubmit.",
                dedup=state["submitted_id"],
                country=str(document.get("importer", {}).get("country") or "") or None,
            )

    install_stage(app, settings, "verification", ["eco.application"], verify)
