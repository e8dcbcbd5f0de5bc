"""Pre-exportation determinations (Form E Rule 5(a)): origin determined for a product on the
exporter's application before any shipment, reviewed periodically, and accepted as the
supporting evidence for the same product's later applications.

A product is the exporter, the agreement, the HS code and the bill of materials:
each material's HS code, origin and originating claim, and whether the good is
declared wholly obtained. Material values are not part of it: prices move from
shipment to shipment, and the periodic review is what keeps a determination
honest about them. A determination is reused until its review date; after that
it is *stale*: the item is examined afresh and the staleness is said.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline.application import Agreement, Application, Item, RvcMethod
from pipeline.errors import InvalidInput, Problem
from pipeline.origin.determination import ItemResult, Verdict
from pipeline.origin.examination import Examination
from pipeline.origin.rules import TermKind
from pipeline.origin.verdicts import verdict_of

RULE = "Form E Rule 5(a)"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PreExportationDetermination:
    """The stored origin of one product, valid for reuse until ``review_on`` inclusive."""

    reference: str
    agreement: Agreement
    exporter: str
    hs_code: str
    bom_digest: str
    criterion: TermKind
    determined_on: date
    review_on: date
    rule: str | None = None
    box: str | None = None
    rvc_percent: Decimal | None = None
    rvc_method: RvcMethod | None = None
    accumulation: bool = False
    de_minimis: bool = False

    @property
    def product_key(self) -> str:
        """The key the determination is stored and looked up by."""
        return product_key(self.agreement, self.exporter, self.hs_code, self.bom_digest)

    def stale_on(self, day: date) -> bool:
        """True when the review date has passed on ``day``: the determination is not reused."""
        return day > self.review_on

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the ``eco.origin.determined.v1`` fields; decimals and dates as text)."""
        return {
            "reference": self.reference,
            "product_key": self.product_key,
            "agreement": self.agreement.value,
            "exporter": self.exporter,
            "hs_code": self.hs_code,
            "bom_digest": self.bom_digest,
            "criterion": self.criterion.value,
            "rule": self.rule,
            "box": self.box,
            "rvc_percent": None if self.rvc_percent is None else str(self.rvc_percent),
            "rvc_method": self.rvc_method.value if self.rvc_method else None,
            "accumulation": self.accumulation,
            "de_minimis": self.de_minimis,
            "determined_on": self.determined_on.isoformat(),
            "review_on": self.review_on.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PreExportationDetermination:
        """The determination from its JSON or event form (``rvc_percent`` text or Decimal)."""
        rvc = data.get("rvc_percent")
        method = data.get("rvc_method")
        return cls(
            reference=str(data["reference"]),
            agreement=Agreement(str(data["agreement"])),
            exporter=str(data["exporter"]),
            hs_code=str(data["hs_code"]),
            bom_digest=str(data["bom_digest"]),
            criterion=TermKind(str(data["criterion"])),
            determined_on=date.fromisoformat(str(data["determined_on"])),
            review_on=date.fromisoformat(str(data["review_on"])),
            rule=data.get("rule"),
            box=data.get("box"),
            rvc_percent=None if rvc is None else Decimal(str(rvc)),
            rvc_method=RvcMethod(str(method)) if method else None,
            accumulation=bool(data.get("accumulation", False)),
            de_minimis=bool(data.get("de_minimis", False)),
        )


def product_key(agreement: Agreement, exporter: str, hs_code: str, digest: str) -> str:
    """``AGREEMENT/exporter/HS/digest``: one product of one exporter under one agreement."""
    return f"{agreement.value}/{exporter}/{hs_code}/{digest}"


def bom_digest(item: Item) -> str:
    """The first 16 hex digits of the SHA-256 of the item's bill of materials (module doc)."""
    materials = sorted(
        (m.hs_code or "", (m.origin_country or "unknown").upper(), m.originating is True)
        for m in item.materials or ()
    )
    text = json.dumps({"wo": item.wholly_obtained is True, "materials": materials})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def exporter_of(app: Application) -> str | None:
    """Who the determination belongs to: the exporter's id, or its name when it has none."""
    return app.exporter.id or app.exporter.name


def item_key(app: Application, item: Item) -> str | None:
    """The product key of one item of ``app``; None when the exporter is not identified."""
    exporter = exporter_of(app)
    if exporter is None:
        return None
    return product_key(app.agreement, exporter, item.hs_code, bom_digest(item))


def determine_before_exportation(
    app: Application, exam: Examination, reference: str, review_on: date
) -> tuple[PreExportationDetermination, ...]:
    """A determination for every item of ``exam`` that qualifies in its own right; the
    references are ``reference`` (one item) or ``reference/<item_no>``. InvalidInput when
    the exporter is not identified or the review date is not after the examination."""
    problems: list[Problem] = []
    exporter = exporter_of(app)
    if exporter is None:
        problems.append(Problem("exporter.id", "an exporter id (or name) is required"))
    if review_on <= exam.on_date:
        problems.append(Problem("review_on", f"{review_on} is not after {exam.on_date}"))
    if problems or exporter is None:
        raise InvalidInput(problems)
    many = len(app.items) > 1
    found = []
    for item, result in zip(app.items, exam.items, strict=True):
        if not result.qualified or result.criterion is None:
            continue
        found.append(
            PreExportationDetermination(
                reference=f"{reference}/{item.item_no}" if many else reference,
                agreement=app.agreement,
                exporter=exporter,
                hs_code=item.hs_code,
                bom_digest=bom_digest(item),
                criterion=result.criterion,
                determined_on=exam.on_date,
                review_on=review_on,
                rule=result.rule,
                box=result.box,
                rvc_percent=(None if result.rvc_percent is None
                             else result.rvc_percent.quantize(CENT, ROUND_HALF_UP)),
                rvc_method=result.rvc_method,
                accumulation=result.accumulation,
                de_minimis=result.de_minimis,
            )
        )
    return tuple(found)


def _reused(result: ItemResult, det: PreExportationDetermination) -> ItemResult:
    said = (
        f"origin as determined before exportation: {det.reference} of {det.determined_on}, "
        f"criterion {det.criterion.value}, to be reviewed by {det.review_on} ({RULE})"
    )
    afresh: tuple[str, ...] = result.reasons
    if not result.qualified:
        afresh = (f"examined afresh the item would be {result.verdict.value}:", *afresh)
    return ItemResult(
        item_no=result.item_no,
        hs_code=result.hs_code,
        verdict=Verdict.QUALIFIED,
        criterion=det.criterion,
        rule=det.rule,
        box=det.box,
        rvc_percent=det.rvc_percent,
        rvc_method=det.rvc_method,
        de_minimis=det.de_minimis,
        accumulation=det.accumulation,
        fob_shown=det.criterion is TermKind.RVC,
        reasons=(said, *afresh),
    )


def apply_determinations(
    exam: Examination, app: Application, stored: Mapping[str, PreExportationDetermination]
) -> Examination:
    """Reuse the stored determination of each item's product when it is not stale (Rule 5(a)):
    the item takes the stored result, and its own missing data no longer counts. A stale
    one is not reused; the item keeps its fresh result and the staleness is a reason."""
    items: list[ItemResult] = []
    dropped: list[Problem] = []
    unbacked: list[str] = []
    notes = list(exam.notes)
    for item, result in zip(app.items, exam.items, strict=True):
        key = item_key(app, item)
        det = stored.get(key) if key else None
        if det is None:
            items.append(result)
            unbacked += result.missing_supplier_declarations
        elif det.stale_on(exam.on_date):
            flag = (
                f"pre-exportation determination {det.reference} for this product was due for "
                f"review on {det.review_on}: not reused, the item is examined afresh ({RULE})"
            )
            items.append(replace(result, reasons=(flag, *result.reasons)))
            unbacked += result.missing_supplier_declarations
            notes.append(f"item {item.item_no}: {flag}")
        else:
            items.append(_reused(result, det))
            dropped += result.errors
    errors = tuple(p for p in exam.errors if p not in dropped)
    return replace(
        exam,
        items=tuple(items),
        errors=errors,
        notes=tuple(notes),
        verdict=verdict_of(items, errors, exam.refusals),
        missing_supplier_declarations=tuple(unbacked),
    )


def reused_items(
    app: Application, stored: Mapping[str, PreExportationDetermination], on_date: date
) -> frozenset[int]:
    """The item numbers whose product has a stored determination that is not stale."""
    reused = set()
    for item in app.items:
        key = item_key(app, item)
        det = stored.get(key) if key else None
        if det is not None and not det.stale_on(on_date):
            reused.add(item.item_no)
    return frozenset(reused)
