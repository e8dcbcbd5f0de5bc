"""Supplier declarations as the pipeline receives and keeps them (Form E Rule 5(b)).

A declaration arrives as a JSON object (``eco declare``) or as the data of an
``eco.supplier.declared.v1`` event, and is kept in the declaration register by
its reference. These functions turn one form into the other and say, by JSON
path, what keeps an object from being a declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.application import Agreement
from pipeline.application.reader import FieldReader, child
from pipeline.errors import InvalidInput
from pipeline.origin.declarations import SupplierDeclaration


def parse_declaration(entry: Any, path: str = "") -> SupplierDeclaration:
    """A declaration from its JSON object; InvalidInput lists every problem by path."""
    reader = FieldReader()
    if not isinstance(entry, Mapping):
        reader.problem(path, "a supplier declaration is a JSON object")
        raise InvalidInput(reader.problems)
    reference = reader.text(entry, "reference", child(path, "reference"), required=True)
    supplier = reader.text(entry, "supplier", child(path, "supplier"), required=True)
    hs_code = reader.text(entry, "hs_code", child(path, "hs_code"), required=True)
    if hs_code is not None and not (hs_code.isdigit() and len(hs_code) in (4, 6)):
        reader.problem(child(path, "hs_code"), f"must be 4 or 6 digits, not {hs_code!r}")
    country = reader.country(entry, "origin_country", child(path, "origin_country"), True)
    name = reader.text(entry, "agreement", child(path, "agreement"), required=True)
    agreement = None
    if name is not None:
        try:
            agreement = Agreement(name.upper())
        except ValueError:
            known = ", ".join(a.value for a in Agreement)
            reader.problem(child(path, "agreement"), f"unknown agreement {name!r} ({known})")
    valid_from = reader.date(entry, "valid_from", child(path, "valid_from"), required=True)
    valid_until = reader.date(entry, "valid_until", child(path, "valid_until"), required=True)
    processing = reader.text(entry, "processing", child(path, "processing")) or ""
    if valid_from and valid_until and valid_until < valid_from:
        reader.problem(child(path, "valid_until"), f"{valid_until} is before {valid_from}")
    if agreement is not None and country is not None and not agreement.is_party(country):
        reader.problem(child(path, "origin_country"), f"{country} is not a Party to {agreement}")
    if (
        reader.problems
        or reference is None
        or supplier is None
        or hs_code is None
        or country is None
        or agreement is None
        or valid_from is None
        or valid_until is None
    ):
        raise InvalidInput(reader.problems)
    return SupplierDeclaration(
        reference, supplier, hs_code, country, agreement, valid_from, valid_until, processing
    )


def declaration_data(declaration: SupplierDeclaration) -> dict[str, Any]:
    """The JSON form of a declaration: the fields of ``eco.supplier.declared.v1``, dates as text."""
    return {
        "reference": declaration.reference,
        "supplier": declaration.supplier,
        "hs_code": declaration.hs_code,
        "origin_country": declaration.origin_country,
        "agreement": declaration.agreement.value,
        "valid_from": declaration.valid_from.isoformat(),
        "valid_until": declaration.valid_until.isoformat(),
        "processing": declaration.processing,
    }


def cited_declarations(
    references: set[str], register: Mapping[str, Mapping[str, Any]]
) -> dict[str, SupplierDeclaration]:
    """The declarations the register holds among ``references``; the examination takes any
    other cited reference as cited, with a note (Rule 5(b))."""
    found: dict[str, SupplierDeclaration] = {}
    for reference in sorted(references):
        entry = register.get(reference)
        if entry:
            found[reference] = parse_declaration(entry, reference)
    return found
