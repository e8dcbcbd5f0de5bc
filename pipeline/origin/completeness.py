"""The examination around the origin determination (Form E Rule 7; RCEP Art. 3.17).

Completeness of the boxes the agreement's form requires, consistency of the
dates, the issue date against the departure (issued retroactively after three
days, refused after a year), and the data that back-to-back certificates,
third-party invoicing, exhibitions and transit require. Each check returns
problems by JSON path; none of them raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pipeline.application import Agreement, Application
from pipeline.errors import Problem

RETROACTIVE_AFTER = timedelta(days=3)

# Boxes every application must fill, as JSON paths into the document; "items[*]" repeats per item.
# Form E Boxes 1, 2, 3, 5-7, 9-11 and RCEP Boxes 1, 2, 4, 6-9, 12, 13, 15 ask for the same data.
_COMMON_BOXES = (
    "exporter.name",
    "exporter.address",
    "importer.name",
    "importer.address",
    "transport.departure_date",
    "declaration.place",
    "declaration.date",
    "declaration.signatory",
    "items[*].description",
    "items[*].marks",
    "items[*].packages.count",
    "items[*].packages.kind",
)
MANDATORY_BOXES: Mapping[Agreement, tuple[str, ...]] = {
    Agreement.ACFTA: _COMMON_BOXES,
    Agreement.RCEP: _COMMON_BOXES,
}


def _lookup(doc: Any, path: str) -> Any:
    node = doc
    for part in path.replace("[", ".[").split("."):
        if isinstance(node, Mapping) and not part.startswith("["):
            node = node.get(part)
        elif isinstance(node, list) and part.startswith("["):
            index = int(part[1:-1])
            node = node[index] if index < len(node) else None
        else:
            return None
    return node


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_boxes(app: Application) -> list[Problem]:
    """Mandatory data of the agreement's form that the document leaves out (Rule 7(a))."""
    problems: list[Problem] = []
    for template in MANDATORY_BOXES[app.agreement]:
        paths = [template]
        if template.startswith("items[*]"):
            paths = [template.replace("[*]", f"[{i}]", 1) for i in range(len(app.items))]
        problems += [
            Problem(p, "is required on the certificate")
            for p in paths
            if _blank(_lookup(app.document, p))
        ]
    for index, item in enumerate(app.items):
        if item.quantity is None and item.gross_weight_kg is None:
            problems.append(
                Problem(f"items[{index}].quantity", "a quantity or gross weight is required")
            )
    if not app.invoices:
        problems.append(Problem("invoices", "at least one invoice number and date is required"))
    for index, invoice in enumerate(app.invoices or ()):
        if invoice.number is None:
            problems.append(Problem(f"invoices[{index}].number", "is required on the certificate"))
        if invoice.date is None:
            problems.append(Problem(f"invoices[{index}].date", "is required on the certificate"))
    return problems


def inconsistent_dates(app: Application, on_date: date) -> list[Problem]:
    """Dates that contradict each other or the issue date (Rule 7(c))."""
    problems: list[Problem] = []
    departure = app.transport.departure_date if app.transport else None
    for index, invoice in enumerate(app.invoices or ()):
        if invoice.date is None:
            continue
        if invoice.date > on_date:
            problems.append(
                Problem(
                    f"invoices[{index}].date", f"{invoice.date} is after the issue date {on_date}"
                )
            )
        elif departure and invoice.date > departure and app.third_party_invoicing is None:
            problems.append(
                Problem(
                    f"invoices[{index}].date",
                    f"{invoice.date} is after the departure on {departure}, "
                    "and no third-party invoicing is declared",
                )
            )
    declared = app.declaration.date if app.declaration else None
    if declared is not None and declared > on_date:
        problems.append(
            Problem("declaration.date", f"{declared} is after the issue date {on_date}")
        )
    return problems


@dataclass(frozen=True)
class IssueTiming:
    """Whether the certificate is issued retroactively, or refused as too late."""

    retroactive: bool
    refusal: str | None
    notes: tuple[str, ...]


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def issue_timing(app: Application, on_date: date) -> IssueTiming:
    """More than three days after departure: issued retroactively; more than a year: refused
    (Form E, issued retroactively; RCEP Art. 3.17)."""
    departure = app.transport.departure_date if app.transport else None
    if departure is None:
        return IssueTiming(False, None, ())
    notes: list[str] = []
    if on_date > _one_year_after(departure):
        refusal = (
            f"issue date {on_date} is more than a year after the departure on {departure}: "
            "a certificate can no longer be issued retroactively"
        )
        return IssueTiming(False, refusal, ())
    retroactive = on_date - departure > RETROACTIVE_AFTER
    if retroactive:
        days = (on_date - departure).days
        notes.append(f"issued retroactively: {days} days after the departure on {departure}")
    elif app.issued_retroactively:
        notes.append("issued_retroactively was asked for but the issue is within three days")
    return IssueTiming(retroactive, None, tuple(notes))


def special_cases(app: Application, on_date: date) -> tuple[list[Problem], list[str]]:
    """Data required by back-to-back (RCEP Art. 3.19), third-party invoicing (Art. 3.20),
    exhibitions and transit (Art. 3.15); returns problems and refusals."""
    problems: list[Problem] = []
    refusals: list[str] = []

    def require(value: object, path: str) -> None:
        if value is None:
            problems.append(Problem(path, "is required"))

    if (b2b := app.back_to_back) is not None:
        require(b2b.original_certificate, "back_to_back.original_certificate")
        require(b2b.original_issue_date, "back_to_back.original_issue_date")
        require(b2b.original_country, "back_to_back.original_country")
        country = b2b.original_country
        if country is not None and not app.agreement.is_party(country):
            problems.append(
                Problem(
                    "back_to_back.original_country", f"{country} is not a Party to {app.agreement}"
                )
            )
        elif country is not None and country == app.exporting_party:
            problems.append(
                Problem(
                    "back_to_back.original_country",
                    "a back-to-back certificate is issued in an intermediate "
                    "Party, not in the original exporting Party",
                )
            )
        issued = b2b.original_issue_date
        if issued is not None and issued > on_date:
            problems.append(
                Problem(
                    "back_to_back.original_issue_date",
                    f"{issued} is after the issue date {on_date}",
                )
            )
        elif issued is not None and on_date > _one_year_after(issued):
            refusals.append(
                f"the original proof of origin of {issued} is no longer valid: a "
                "back-to-back certificate cannot outlive it (RCEP Art. 3.19)"
            )
    if (invoicing := app.third_party_invoicing) is not None:
        require(invoicing.name, "third_party_invoicing.name")
        require(invoicing.country, "third_party_invoicing.country")
    if (exhibition := app.exhibition) is not None:
        require(exhibition.name, "exhibition.name")
        require(exhibition.address, "exhibition.address")
    for index, stop in enumerate(app.transport.transit if app.transport else ()):
        require(
            stop.non_manipulation_document, f"transport.transit[{index}].non_manipulation_document"
        )
    return problems, refusals
