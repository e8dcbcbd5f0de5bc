"""Supplier declarations: the final manufacturer's statement that a locally procured material
is originating (Form E Rule 5(b)), which an originating claim in an application cites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.application import Agreement, Material


@dataclass(frozen=True)
class SupplierDeclaration:
    """A supplier's declaration of origin for a material, valid between two dates inclusive."""

    reference: str
    supplier: str
    hs_code: str
    origin_country: str
    agreement: Agreement
    valid_from: date
    valid_until: date
    processing: str = ""
    """What the supplier does to make the material originating, in its words; empty in
    declarations recorded before the field existed."""


def declaration_mismatches(
    declaration: SupplierDeclaration, material: Material, agreement: Agreement, on_date: date
) -> tuple[str, ...]:
    """What keeps ``declaration`` from backing the material's originating claim on ``on_date``:
    another agreement, country or HS code, or a validity that does not cover the date."""
    ref = declaration.reference
    found: list[str] = []
    if declaration.agreement != agreement:
        found.append(f"supplier declaration {ref} is for {declaration.agreement}, not {agreement}")
    if (
        material.origin_country is not None
        and declaration.origin_country != material.origin_country
    ):
        found.append(
            f"supplier declaration {ref} declares origin {declaration.origin_country}, "
            f"the application {material.origin_country}"
        )
    code = material.hs_code
    if code is not None and not (
        declaration.hs_code.startswith(code) or code.startswith(declaration.hs_code)
    ):
        found.append(
            f"supplier declaration {ref} covers HS {declaration.hs_code}, the material is {code}"
        )
    if not declaration.valid_from <= on_date <= declaration.valid_until:
        found.append(
            f"supplier declaration {ref} is valid {declaration.valid_from} to "
            f"{declaration.valid_until}, not on {on_date}"
        )
    return tuple(found)
