"""Builders of application documents for the origin tests (imported by conftest and tests)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from pipeline.application import Application, parse_application
from pipeline.origin import Examination, RuleBook, examine

ON_DATE = date(2026, 5, 20)

BASE: dict[str, Any] = {
    "application_id": "t-1",
    "agreement": "RCEP",
    "exporter": {
        "name": "Exporter",
        "address": "1 Road",
        "country": "CN",
        "registration_number": "310000101",
    },
    "importer": {"name": "Importer", "address": "2 Street", "country": "VN"},
    "transport": {"departure_date": "2026-05-18"},
    "invoices": [{"number": "INV-1", "date": "2026-05-17"}],
    "declaration": {"place": "Shanghai", "date": "2026-05-17", "signatory": "A. Signer"},
    "items": [
        {
            "item_no": 1,
            "hs_code": "940542",
            "description": "LED luminaires",
            "marks": "N/M",
            "packages": {"count": 10, "kind": "CT"},
            "gross_weight_kg": "100",
            "fob": {"amount": "10000.00", "currency": "USD"},
            "processes": ["assembly"],
            "materials": [],
        }
    ],
}


def build_document(
    materials: list[dict[str, Any]] | None = None, item: dict[str, Any] | None = None, **top: Any
) -> dict[str, Any]:
    """The base document with the first item's materials and fields and top-level fields set."""
    doc = copy.deepcopy(BASE)
    if materials is not None:
        doc["items"][0]["materials"] = materials
    doc["items"][0].update(item or {})
    doc.update(top)
    return doc


def material(
    hs: str, value: str | None, country: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A material; originating when ``originating=True`` is passed (with a declaration)."""
    entry: dict[str, Any] = {"hs_code": hs, "origin_country": country or "unknown"}
    if value is not None:
        entry["value"] = value
    if extra.get("originating"):
        entry.setdefault("supplier_declaration", f"SD-{hs}")
    entry.update(extra)
    return entry


TEST_RULES = """agreement,hs,rule
RCEP,94,CTH or RVC40
RCEP,9405,CTH or RVC40
RCEP,61,CC
RCEP,8539,CTSH or RVC40
RCEP,03,WO
RCEP,2009,CTSH and RVC40
"""


def run_examination(
    doc: dict[str, Any], rules: RuleBook, on_date: date = ON_DATE, **kwargs: Any
) -> Examination:
    app: Application = parse_application(doc, "test.json")
    return examine(app, rules, on_date, **kwargs)
