"""Verification stage: the issuing authority's examination of each application
(Form E Rule 7; RCEP Article 3.17). The rules live in pipeline.origin; this stage only
decodes, examines and publishes the outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import faust

from agents.alerts import raise_alert
from agents.frame import StageContext, derived_id, install_stage
from pipeline import events
from pipeline.application import parse_application
from pipeline.errors import InvalidApplication, Problem
from pipeline.events import Envelope
from pipeline.metrics import APPLICATIONS_BY_VERDICT
from pipeline.origin import Examination, RuleBook, default_rulebook, examine
from pipeline.settings import Settings

SUBMITTED = "eco.application.submitted.v1"
COMPLETED = "eco.verification.completed.v1"
CENT = Decimal("0.01")


def verification_data(application_id: str, agreement: str, exam: Examination,
                      document: str) -> dict[str, Any]:
    """The ``eco.verification.completed.v1`` datum for one examination."""
    return {
        "application_id": application_id,
        "agreement": agreement,
        "verdict": str(exam.verdict.value if hasattr(exam.verdict, "value") else exam.verdict),
        "items": [
            {
                "item_no": item.item_no,
                "hs_code": item.hs_code,
                "qualified": item.qualified,
                "criterion": item.criterion,
                "rule": item.rule,
                "box": item.box,
                "rvc_percent": (None if item.rvc_percent is None
                                else item.rvc_percent.quantize(CENT, ROUND_HALF_UP)),
                "rvc_method": item.rvc_method,
                "de_minimis": item.de_minimis,
                "accumulation": item.accumulation,
                "reasons": list(item.reasons),
            }
            for item in exam.items
        ],
        "errors": [{"path": p.path, "message": p.message} for p in exam.errors],
        "notes": list(exam.notes),
        "issued_retroactively": exam.issued_retroactively,
        "completed_at": datetime.now(UTC),
        "document": document,
    }


def install(app: faust.App, settings: Settings, rules: RuleBook | None = None) -> None:
    rulebook = rules or default_rulebook()

    async def verify(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type != SUBMITTED:
            return
        text = envelope.data["document"]
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidApplication([Problem("document", f"not JSON: {exc}")],
                                     envelope.subject) from exc
        application = parse_application(document, source=envelope.subject)
        exam = examine(application, rulebook, on_date=settings.examination_day())
        agreement = envelope.data["agreement"]
        data = verification_data(envelope.subject, agreement, exam, text)
        await ctx.emit(events.new_envelope(
            COMPLETED, data, source="eco/verification", subject=envelope.subject,
            id=derived_id(envelope.id, "verification"), traceparent=envelope.traceparent,
        ))
        APPLICATIONS_BY_VERDICT.labels(agreement, data["verdict"]).inc()
        ctx.log.info("application_examined", verdict=data["verdict"],
                     items=len(data["items"]), errors=len(data["errors"]))
        if exam.missing_supplier_declarations:
            await raise_alert(
                ctx, envelope.subject, "SUPPLIER_DATA_MISSING", "WARNING",
                summary="originating materials claimed without a supplier declaration: "
                + ", ".join(exam.missing_supplier_declarations),
                action="Ask the supplier for a declaration (Rule 5(b)) and cite it on the "
                "material, then resubmit.",
                dedup=envelope.id,
                country=str(document.get("importer", {}).get("country") or "") or None,
            )

    install_stage(app, settings, "verification", ["eco.application"], verify)
