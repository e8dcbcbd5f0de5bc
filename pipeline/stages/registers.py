"""The registers stage's decision: keep the latest supplier declaration (Form E Rule 5(b))
per reference and pre-exportation determination (Rule 5(a)) per product."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.errors import InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.origin.predetermination import PreExportationDetermination
from pipeline.origin.register import declaration_data, parse_declaration
from pipeline.stages import Note, Transition, unchanged

DECLARED = "eco.supplier.declared.v1"
DETERMINED = "eco.origin.determined.v1"

Entry = Mapping[str, Any] | None


def decide(held: Entry, event: Envelope) -> Transition[Entry]:
    """The register's entry for the event's subject after the event; InvalidInput when the
    event contradicts itself."""
    if event.type == DECLARED:
        declaration = parse_declaration(event.data)
        if declaration.reference != event.subject:
            raise InvalidInput([Problem("reference", "differs from the event's subject")])
        return Transition(declaration_data(declaration), notes=(Note(
            "supplier_declaration_stored", fields={
                "reference": declaration.reference,
                "valid_until": declaration.valid_until.isoformat()}),))
    if event.type == DETERMINED:
        try:
            determination = PreExportationDetermination.from_json(event.data)
        except (KeyError, ValueError) as exc:
            raise InvalidInput([Problem("", f"not a determination: {exc}")]) from exc
        key = determination.product_key
        if key != event.subject:
            raise InvalidInput([Problem("product_key", "differs from the event's subject")])
        if held and str(held["determined_on"]) > determination.determined_on.isoformat():
            return unchanged(held, Note("origin_determination_outdated",
                                        fields={"product_key": key}))
        return Transition(determination.to_json(), notes=(Note(
            "origin_determination_stored", fields={
                "product_key": key, "reference": determination.reference,
                "review_on": determination.review_on.isoformat()}),))
    return unchanged(held)
