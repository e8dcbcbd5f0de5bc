"""Structural validation of an application document (JSON v1).

What is refused here, with every problem and its JSON path: a document that is
not an object; an unknown ``agreement``; missing ``exporter.country``,
``importer.country``, ``exporter.registration_number`` (9 characters) or
``items``; values of the wrong type; negative or
non-numeric decimals; dates that are not ``YYYY-MM-DD``; HS codes that are not
6 digits (materials: 4 or 6) or not in a known chapter; an FOB of zero or
without its currency; mixed currencies; an importer outside the agreement's
Parties or in the exporting country. Anything else that is missing (a
material's value, the declaration, invoices, ...) is left as None for the
examination to report, because it may not be needed to decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline.application.agreement import Agreement
from pipeline.application.materials import parse_materials
from pipeline.application.model import (
    Application,
    BackToBack,
    Costs,
    Declaration,
    Exhibition,
    Invoice,
    Item,
    Money,
    OriginalItem,
    Packages,
    Party,
    Quantity,
    RvcMethod,
    ThirdPartyInvoicing,
    Transit,
    Transport,
)
from pipeline.application.reader import FieldReader, child, type_name
from pipeline.errors import InvalidApplication

_CURRENCY = re.compile(r"[A-Z]{3}")
# The applicant's origin registration with the issuing authority: 9 characters, digits (and
# capital letters in older registrations such as 470ZC1122), DOMAIN.md 1.6.
REGISTRATION_NUMBER = re.compile(r"[0-9A-Z]{9}")


def parse_application(doc: Any, source: str = "") -> Application:
    """Build an ``Application`` from a decoded JSON document, or raise ``InvalidApplication``
    listing every structural problem with its path."""
    reader = FieldReader()
    if not isinstance(doc, Mapping):
        reader.problem("", f"an application must be a JSON object, not {type_name(doc)}")
        raise InvalidApplication(reader.problems, source)
    agreement = _agreement(reader, doc)
    exporter = _party(reader, doc, "exporter", required=True)
    importer = _party(reader, doc, "importer", required=True)
    items = _items(reader, doc)
    application = Application(
        agreement=agreement or Agreement.RCEP,
        exporter=exporter or Party(country=None),
        importer=importer or Party(country=None),
        items=items,
        application_id=reader.text(doc, "application_id", "application_id"),
        issuing_office=reader.text(doc, "issuing_office", "issuing_office"),
        producer=_party(reader, doc, "producer", required=False),
        transport=_transport(reader, doc),
        invoices=_invoices(reader, doc),
        third_party_invoicing=_third_party(reader, doc),
        back_to_back=_back_to_back(reader, doc),
        issued_retroactively=reader.boolean(doc, "issued_retroactively", "issued_retroactively"),
        exhibition=_exhibition(reader, doc),
        declaration=_declaration(reader, doc),
        source=source,
        document=MappingProxyType(dict(doc)),
    )
    if agreement is not None:
        _check_parties(reader, application)
    _check_currencies(reader, application)
    if reader.problems:
        raise InvalidApplication(reader.problems, source)
    return application


def _agreement(reader: FieldReader, doc: Mapping[str, Any]) -> Agreement | None:
    name = reader.text(doc, "agreement", "agreement", required=True)
    if name is None:
        return None
    try:
        return Agreement(name.upper())
    except ValueError:
        known = ", ".join(a.value for a in Agreement)
        reader.problem("agreement", f"unknown agreement {name!r} (known: {known})")
        return None


def _party(reader: FieldReader, doc: Mapping[str, Any], key: str, required: bool) -> Party | None:
    block = reader.obj(doc, key, key, required)
    if block is None:
        return None
    return Party(
        country=reader.country(block, "country", child(key, "country"), required),
        name=reader.text(block, "name", child(key, "name")),
        address=reader.text(block, "address", child(key, "address")),
        id=reader.text(block, "id", child(key, "id")),
        registration_number=_registration_number(reader, block, key)
        if key == "exporter"
        else None,
    )


def _registration_number(reader: FieldReader, block: Mapping[str, Any], key: str) -> str | None:
    """The applicant's 9-character origin registration number, required of the exporter:
    China's reference numbers embed it (DOMAIN.md 1.6)."""
    path = child(key, "registration_number")
    value = reader.text(block, "registration_number", path)
    if value is None:
        reader.problem(
            path,
            "is required: the applicant's 9-character origin registration number with the "
            "issuing authority (for example 440300123)",
        )
        return None
    if not REGISTRATION_NUMBER.fullmatch(value):
        reader.problem(
            path,
            f"must be the 9-character origin registration number (digits or capital letters), "
            f"not {value!r}",
        )
        return None
    return value


def _check_parties(reader: FieldReader, app: Application) -> None:
    """The exporting and importing countries are different Parties to the agreement."""
    agreement, exporting, importing = app.agreement, app.exporter.country, app.importer.country
    if exporting is not None and not agreement.is_party(exporting):
        reader.problem("exporter.country", f"{exporting} is not a Party to {agreement}")
    if importing is None:
        return
    if not agreement.is_party(importing):
        reader.problem("importer.country", f"{importing} is not a Party to {agreement}")
    elif importing == exporting:
        reader.problem("importer.country", f"{importing} is also the exporting country")


def _check_currencies(reader: FieldReader, app: Application) -> None:
    """All values of one application share one currency: the first FOB's."""
    first = app.currency
    for index, item in enumerate(app.items):
        if item.fob is not None and item.fob.currency != first:
            reader.problem(
                f"items[{index}].fob.currency",
                f"{item.fob.currency} differs from {first}: all values must share one currency",
            )


def _transport(reader: FieldReader, doc: Mapping[str, Any]) -> Transport | None:
    block = reader.obj(doc, "transport", "transport")
    if block is None:
        return None
    transit: list[Transit] = []
    for index, entry in enumerate(reader.array(block, "transit", "transport.transit") or ()):
        path = f"transport.transit[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, f"must be an object, not {type_name(entry)}")
            continue
        transit.append(
            Transit(
                port=reader.text(entry, "port", child(path, "port")),
                country=reader.country(entry, "country", child(path, "country")),
                non_manipulation_document=reader.text(
                    entry, "non_manipulation_document", child(path, "non_manipulation_document")
                ),
            )
        )
    return Transport(
        departure_date=reader.date(block, "departure_date", "transport.departure_date"),
        vessel=reader.text(block, "vessel", "transport.vessel"),
        port_of_loading=reader.text(block, "port_of_loading", "transport.port_of_loading"),
        port_of_discharge=reader.text(block, "port_of_discharge", "transport.port_of_discharge"),
        transit=tuple(transit),
    )


def _invoices(reader: FieldReader, doc: Mapping[str, Any]) -> tuple[Invoice, ...] | None:
    entries = reader.array(doc, "invoices", "invoices")
    if entries is None:
        return None
    invoices: list[Invoice] = []
    for index, entry in enumerate(entries):
        path = f"invoices[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, f"must be an object, not {type_name(entry)}")
            continue
        invoices.append(
            Invoice(
                number=reader.text(entry, "number", child(path, "number")),
                date=reader.date(entry, "date", child(path, "date")),
            )
        )
    return tuple(invoices)


def _third_party(reader: FieldReader, doc: Mapping[str, Any]) -> ThirdPartyInvoicing | None:
    block = reader.obj(doc, "third_party_invoicing", "third_party_invoicing")
    if block is None:
        return None
    return ThirdPartyInvoicing(
        name=reader.text(block, "name", "third_party_invoicing.name"),
        country=reader.country(block, "country", "third_party_invoicing.country"),
    )


def _back_to_back(reader: FieldReader, doc: Mapping[str, Any]) -> BackToBack | None:
    block = reader.obj(doc, "back_to_back", "back_to_back")
    if block is None:
        return None
    return BackToBack(
        original_certificate=reader.text(
            block, "original_certificate", "back_to_back.original_certificate"
        ),
        original_issue_date=reader.date(
            block, "original_issue_date", "back_to_back.original_issue_date"
        ),
        original_country=reader.country(block, "original_country", "back_to_back.original_country"),
        original_xml=reader.text(block, "original_xml", "back_to_back.original_xml"),
        original_items=_original_items(reader, block),
    )


def _original_items(reader: FieldReader, block: Mapping[str, Any]) -> tuple[OriginalItem, ...]:
    items: list[OriginalItem] = []
    entries = reader.array(block, "original_items", "back_to_back.original_items") or ()
    for index, entry in enumerate(entries):
        path = f"back_to_back.original_items[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, f"must be an object, not {type_name(entry)}")
            continue
        item_no = reader.integer(entry, "item_no", child(path, "item_no"), required=True)
        quantity = reader.obj(entry, "quantity", child(path, "quantity"), required=True)
        if item_no is None or quantity is None:
            continue
        items.append(OriginalItem(
            item_no=item_no,
            hs_code=reader.hs_code(entry, child(path, "hs_code"), (6,), required=False),
            quantity=Quantity(
                value=reader.decimal(quantity, "value", child(path, "quantity.value"), True),
                unit=reader.text(quantity, "unit", child(path, "quantity.unit"), True),
            ),
        ))
    return tuple(items)


def _exhibition(reader: FieldReader, doc: Mapping[str, Any]) -> Exhibition | None:
    block = reader.obj(doc, "exhibition", "exhibition")
    if block is None:
        return None
    return Exhibition(
        name=reader.text(block, "name", "exhibition.name"),
        address=reader.text(block, "address", "exhibition.address"),
    )


def _declaration(reader: FieldReader, doc: Mapping[str, Any]) -> Declaration | None:
    block = reader.obj(doc, "declaration", "declaration")
    if block is None:
        return None
    return Declaration(
        place=reader.text(block, "place", "declaration.place"),
        date=reader.date(block, "date", "declaration.date"),
        signatory=reader.text(block, "signatory", "declaration.signatory"),
    )


def _items(reader: FieldReader, doc: Mapping[str, Any]) -> tuple[Item, ...]:
    entries = reader.array(doc, "items", "items", required=True)
    if entries is None:
        return ()
    if not entries:
        reader.problem("items", "must list at least one item")
    items: list[Item] = []
    seen: dict[int, int] = {}
    for index, entry in enumerate(entries):
        path = f"items[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, f"must be an object, not {type_name(entry)}")
            continue
        item = _item(reader, entry, path)
        if item is None:
            continue
        if item.item_no in seen:
            reader.problem(
                child(path, "item_no"), f"{item.item_no} is also items[{seen[item.item_no]}]"
            )
        seen.setdefault(item.item_no, index)
        items.append(item)
    return tuple(items)


def _item(reader: FieldReader, entry: Mapping[str, Any], path: str) -> Item | None:
    item_no = reader.integer(entry, "item_no", child(path, "item_no"), required=True)
    hs_code = reader.hs_code(entry, child(path, "hs_code"), lengths=(6,), required=True)
    packages = reader.obj(entry, "packages", child(path, "packages"))
    quantity = reader.obj(entry, "quantity", child(path, "quantity"))
    item = Item(
        item_no=item_no or 0,
        hs_code=hs_code or "",
        description=reader.text(entry, "description", child(path, "description")),
        marks=reader.text(entry, "marks", child(path, "marks")),
        packages=None
        if packages is None
        else Packages(
            count=reader.integer(packages, "count", child(path, "packages.count")),
            kind=reader.text(packages, "kind", child(path, "packages.kind")),
        ),
        quantity=None
        if quantity is None
        else Quantity(
            value=reader.decimal(quantity, "value", child(path, "quantity.value")),
            unit=reader.text(quantity, "unit", child(path, "quantity.unit")),
        ),
        gross_weight_kg=reader.decimal(entry, "gross_weight_kg", child(path, "gross_weight_kg")),
        fob=_fob(reader, entry, child(path, "fob")),
        wholly_obtained=reader.boolean(entry, "wholly_obtained", child(path, "wholly_obtained")),
        processes=_processes(reader, entry, child(path, "processes")),
        rvc_method=_rvc_method(reader, entry, child(path, "rvc_method")),
        costs=_costs(reader, entry, child(path, "costs")),
        materials=parse_materials(reader, entry, child(path, "materials")),
        original_item_no=reader.integer(entry, "original_item_no", child(path, "original_item_no")),
    )
    return None if item_no is None or hs_code is None else item


def _fob(reader: FieldReader, entry: Mapping[str, Any], path: str) -> Money | None:
    block = reader.obj(entry, "fob", path)
    if block is None:
        return None
    amount = reader.decimal(block, "amount", child(path, "amount"), required=True)
    currency = reader.text(block, "currency", child(path, "currency"), required=True)
    if currency is not None and not _CURRENCY.fullmatch(currency):
        message = f"must be an ISO 4217 code such as USD, not {currency!r}"
        reader.problem(child(path, "currency"), message)
        currency = None
    if amount is not None and amount == 0:
        reader.problem(child(path, "amount"), "the FOB value must be more than zero")
        amount = None
    if amount is None or currency is None:
        return None
    return Money(amount=amount, currency=currency)


def _processes(reader: FieldReader, entry: Mapping[str, Any], path: str) -> tuple[str, ...]:
    processes: list[str] = []
    for index, process in enumerate(reader.array(entry, "processes", path) or ()):
        if isinstance(process, str) and process.strip():
            processes.append(process.strip())
        else:
            message = f"must be a non-empty string, not {type_name(process)}"
            reader.problem(child(path, index), message)
    return tuple(processes)


def _rvc_method(reader: FieldReader, entry: Mapping[str, Any], path: str) -> RvcMethod | None:
    name = reader.text(entry, "rvc_method", path)
    if name is None:
        return None
    try:
        return RvcMethod(name.lower())
    except ValueError:
        reader.problem(path, f"must be build-down or build-up, not {name!r}")
        return None


def _costs(reader: FieldReader, entry: Mapping[str, Any], path: str) -> Costs | None:
    block = reader.obj(entry, "costs", path)
    if block is None:
        return None
    return Costs(
        direct_labour=reader.decimal(block, "direct_labour", child(path, "direct_labour")),
        direct_overhead=reader.decimal(block, "direct_overhead", child(path, "direct_overhead")),
        profit=reader.decimal(block, "profit", child(path, "profit")),
        other=reader.decimal(block, "other", child(path, "other")),
    )
