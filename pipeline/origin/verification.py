"""The verification stage's decision, pure: the examination (Form E Rule 7), revised by the
stored pre-exportation determinations (Rule 5(a)) and the route (RCEP Art. 3.15), and the
supporting documents still to ask for (Rule 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.application import Application
from pipeline.origin.declarations import SupplierDeclaration
from pipeline.origin.evidence import (
    DocumentRequest,
    EvidenceRule,
    requested_documents,
    supporting_documents,
)
from pipeline.origin.examination import Examination, examine
from pipeline.origin.predetermination import (
    PreExportationDetermination,
    apply_determinations,
    reused_items,
)
from pipeline.origin.routing import flag_entrepot
from pipeline.origin.rules import RuleBook


@dataclass(frozen=True)
class Verification:
    """The examination and the documents the exporter must supply before it takes effect."""

    examination: Examination
    requested: tuple[DocumentRequest, ...] = ()

    @property
    def documents_requested(self) -> bool:
        """True when the application waits for documents instead of going on."""
        return bool(self.requested)


def verify_application(
    app: Application,
    rules: RuleBook,
    on_date: date,
    *,
    declarations: Mapping[str, SupplierDeclaration] | None = None,
    determinations: Mapping[str, PreExportationDetermination] | None = None,
    evidence: Sequence[EvidenceRule] = (),
    supplied: frozenset[str] = frozenset(),
) -> Verification:
    """Examine ``app`` on ``on_date`` against the register of supplier declarations, reuse
    fresh determinations, flag entrepôt trade, and list the documents still missing among
    those the evidence table calls for (``supplied``: kinds the exporter sent since)."""
    stored = determinations or {}
    exam = examine(app, rules, on_date, declarations)
    exam = apply_determinations(exam, app, stored)
    exam = flag_entrepot(exam, app)
    requested = requested_documents(
        exam, evidence, supporting_documents(app) | supplied, reused_items(app, stored, on_date)
    )
    return Verification(exam, requested)
