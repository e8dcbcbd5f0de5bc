"""How each material counts: originating in the exporting Party, originating in another Party
(accumulation, RCEP Art. 3.4), or non-originating.

A material counts as originating only when the application claims it
(``originating: true``) and its ``origin_country`` is a Party to the agreement.
Unknown origin, a non-Party origin and a claim that a cited supplier declaration
contradicts all make it non-originating. A claim that cites no supplier
declaration keeps its standing but is marked ``unbacked`` (Form E Rule 5(b)):
the determination then checks whether the result relies on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pipeline.application import Agreement, Material
from pipeline.origin.declarations import SupplierDeclaration, declaration_mismatches


class Standing(StrEnum):
    """Whether a material counts as originating, and through which Party."""

    DOMESTIC = "originating"
    ACCUMULATED = "originating in another Party"
    NON_ORIGINATING = "non-originating"


@dataclass(frozen=True)
class MaterialStanding:
    """A material with its JSON path, its standing, and notes on how the standing was found."""

    path: str
    material: Material
    standing: Standing
    unbacked: bool = False
    notes: tuple[str, ...] = ()
    mismatches: tuple[str, ...] = ()


@dataclass(frozen=True)
class View:
    """What the determination takes into account: accumulation, and claims without a declaration."""

    accumulate: bool = True
    trust_unbacked: bool = True

    def originating(self, m: MaterialStanding, domestic_only: bool = False) -> bool:
        """True when ``m`` counts as originating under this view."""
        if m.unbacked and not self.trust_unbacked:
            return False
        if m.standing is Standing.DOMESTIC:
            return True
        return m.standing is Standing.ACCUMULATED and self.accumulate and not domestic_only


def assess_material(
    material: Material,
    path: str,
    agreement: Agreement,
    exporting_party: str,
    on_date: date,
    declarations: Mapping[str, SupplierDeclaration] | None,
) -> MaterialStanding:
    """The standing of one material (INTERFACES.md: only a claim from a Party counts)."""
    label = material.description or material.hs_code or path
    if material.originating is not True:
        return MaterialStanding(path, material, Standing.NON_ORIGINATING)
    country = material.origin_country
    if country is None:
        note = f"{label}: claimed originating but its origin is unknown: counted as non-originating"
        return MaterialStanding(path, material, Standing.NON_ORIGINATING, notes=(note,))
    if not agreement.is_party(country):
        note = (
            f"{label}: claimed originating in {country}, which is not a Party to {agreement}: "
            "counted as non-originating"
        )
        return MaterialStanding(path, material, Standing.NON_ORIGINATING, notes=(note,))
    standing = Standing.DOMESTIC if country == exporting_party else Standing.ACCUMULATED
    reference = material.supplier_declaration
    if reference is None:
        return MaterialStanding(path, material, standing, unbacked=True)
    if declarations is None:
        return MaterialStanding(path, material, standing)
    declaration = declarations.get(reference)
    if declaration is None:
        note = f"{label}: supplier declaration {reference} is not on record; taken as cited"
        return MaterialStanding(path, material, standing, notes=(note,))
    mismatches = declaration_mismatches(declaration, material, agreement, on_date)
    if mismatches:
        return MaterialStanding(path, material, Standing.NON_ORIGINATING, mismatches=mismatches)
    return MaterialStanding(path, material, standing)
