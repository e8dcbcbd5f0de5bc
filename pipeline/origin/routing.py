"""The route of the goods: direct consignment and entrepôt trade (RCEP Art. 3.15; Form E,
direct consignment).

Goods that pass through a country that is not a Party to the agreement (entrepôt
trade, such as transshipment in Hong Kong or Singapore for an agreement it is not
party to) keep their origin only when they underwent nothing there but unloading,
reloading and what keeps them in good condition, under customs control. The
exporter shows that with a non-manipulation document per stop. The examination
already requires a document for every transit stop; this module says, for a
non-Party stop, that it is entrepôt trade and why the document matters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipeline.application import Agreement, Application
from pipeline.errors import Problem
from pipeline.origin.examination import Examination
from pipeline.origin.verdicts import verdict_of

CITATION = {
    Agreement.RCEP: "RCEP Art. 3.15",
    Agreement.ACFTA: "ACFTA Rules of Origin, direct consignment",
}


@dataclass(frozen=True)
class EntrepotStop:
    """A transit stop in a non-Party, with its JSON path and its non-manipulation document."""

    path: str
    country: str
    port: str | None
    document: str | None


def entrepot_stops(app: Application) -> tuple[EntrepotStop, ...]:
    """The transit stops in countries that are not Parties to the application's agreement."""
    stops = app.transport.transit if app.transport else ()
    return tuple(
        EntrepotStop(f"transport.transit[{i}]", stop.country, stop.port,
                     stop.non_manipulation_document)
        for i, stop in enumerate(stops)
        if stop.country is not None and not app.agreement.is_party(stop.country)
    )


def flag_entrepot(exam: Examination, app: Application) -> Examination:
    """Name entrepôt trade in the examination: a non-Party stop without a non-manipulation
    document is an error saying so (the verdict is then INCOMPLETE); one with it is a note."""
    errors = list(exam.errors)
    notes = list(exam.notes)
    cite = CITATION[app.agreement]
    for stop in entrepot_stops(app):
        place = f"{stop.country} ({stop.port})" if stop.port else stop.country
        if stop.document is not None:
            notes.append(
                f"entrepôt trade through {place}, not a Party to {app.agreement}: "
                f"non-manipulation document {stop.document} ({cite})"
            )
            continue
        path = f"{stop.path}.non_manipulation_document"
        flagged = Problem(
            path,
            f"entrepôt trade through {place}, not a Party to {app.agreement}, without a "
            "non-manipulation document: the goods keep their origin only if shown to have "
            f"stayed under customs control with no operation but logistics ({cite})",
        )
        errors = [p for p in errors if p.path != path] + [flagged]
    if errors == list(exam.errors) and notes == list(exam.notes):
        return exam
    return replace(
        exam,
        errors=tuple(errors),
        notes=tuple(notes),
        verdict=verdict_of(exam.items, errors, exam.refusals),
    )
