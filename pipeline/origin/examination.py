"""The examination of an application by the issuing authority (Form E Rule 7; RCEP Art. 3.17).

``examine`` determines the origin of every item in its own right (Rule 7(e)),
checks the completeness and consistency of the application and the issue date,
and gives the verdict: NOT_QUALIFIED when an item does not qualify or the
certificate is refused, else INCOMPLETE when data is missing or inconsistent
(``errors`` says which, by JSON path), else QUALIFIED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pipeline.application import Agreement, Application
from pipeline.errors import Problem
from pipeline.origin.backtoback import check_draw
from pipeline.origin.completeness import (
    inconsistent_dates,
    issue_timing,
    missing_boxes,
    special_cases,
)
from pipeline.origin.declarations import SupplierDeclaration
from pipeline.origin.determination import ItemResult, Verdict, determine_origin
from pipeline.origin.figures import show
from pipeline.origin.rules import RuleBook


@dataclass(frozen=True)
class Examination:
    """The outcome of examining one application on the issue date ``on_date``."""

    application_id: str | None
    agreement: Agreement
    on_date: date
    verdict: Verdict
    items: tuple[ItemResult, ...]
    errors: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    issued_retroactively: bool = False
    missing_supplier_declarations: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``eco check --json`` document of INTERFACES.md (plus fields with defaults)."""
        return {
            "application_id": self.application_id,
            "agreement": self.agreement.value,
            "verdict": self.verdict.value,
            "on_date": self.on_date.isoformat(),
            "issued_retroactively": self.issued_retroactively,
            "items": [_item_json(item) for item in self.items],
            "errors": [{"path": p.path, "message": p.message} for p in self.errors],
            "notes": list(self.notes),
            "refusals": list(self.refusals),
            "missing_supplier_declarations": list(self.missing_supplier_declarations),
        }


def _item_json(item: ItemResult) -> dict[str, Any]:
    return {
        "item_no": item.item_no,
        "hs_code": item.hs_code,
        "qualified": item.qualified,
        "verdict": item.verdict.value,
        "criterion": item.criterion_code,
        "de_minimis": item.de_minimis,
        "accumulation": item.accumulation,
        "rvc_percent": show(item.rvc_percent) if item.rvc_percent is not None else None,
        "rvc_method": item.rvc_method.value if item.rvc_method else None,
        "rule": item.rule,
        "box": item.box,
        "fob_shown": item.fob_shown,
        "reasons": list(item.reasons),
        "cumulation": item.cumulation.to_json(),
    }


def examine(
    app: Application,
    rules: RuleBook,
    on_date: date,
    declarations: Mapping[str, SupplierDeclaration] | None = None,
) -> Examination:
    """Examine ``app`` as if the certificate were issued on ``on_date``; ``declarations`` is
    the register of supplier declarations to cross-check cited ones against (Rule 5(b))."""
    items = [
        determine_origin(
            item, f"items[{i}]", app.agreement, app.exporting_party, rules, on_date, declarations
        )
        for i, item in enumerate(app.items)
    ]
    timing = issue_timing(app, on_date)
    special, refused = special_cases(app, on_date)
    draw = check_draw(app)
    refusals = ([timing.refusal] if timing.refusal else []) + refused + list(draw.refusals)
    errors = missing_boxes(app) + inconsistent_dates(app, on_date) + special
    errors += list(draw.problems)
    errors += [p for item in items for p in item.errors]
    shared = (*timing.notes, *draw.notes, *refusals)
    items = [replace(item, reasons=item.reasons + shared) for item in items]
    if refusals or any(i.verdict is Verdict.NOT_QUALIFIED for i in items):
        verdict = Verdict.NOT_QUALIFIED
    elif errors or any(i.verdict is Verdict.INCOMPLETE for i in items):
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.QUALIFIED
    return Examination(
        application_id=app.application_id,
        agreement=app.agreement,
        on_date=on_date,
        verdict=verdict,
        items=tuple(items),
        errors=tuple(errors),
        notes=(*timing.notes, *draw.notes),
        refusals=tuple(refusals),
        issued_retroactively=timing.retroactive,
        missing_supplier_declarations=tuple(
            path for item in items for path in item.missing_supplier_declarations
        ),
    )
