"""Builds the certificate document (ACFTA Form E or Form RCEP) from an application and the
origin determination of its items, and checks it against the project's XSD before returning.

The boxes follow the printed forms: Form E boxes 1-13, Form RCEP boxes 1-16; see the XSD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lxml import etree

from pipeline.certificate.application import ApplicationReader
from pipeline.certificate.model import IssuingOffice, ItemCriterion
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.schema import NAMESPACE, SCHEMA_VERSION, validate_certificate
from pipeline.errors import InvalidApplication, Problem

NS = f"{{{NAMESPACE}}}"
CERTIFICATION_STATEMENT = (
    "It is hereby certified, on the basis of control carried out, that the declaration by the "
    "exporter is correct."
)
TRUE_COPY_ENDORSEMENT = "CERTIFIED TRUE COPY"
DSIG = "{http://www.w3.org/2000/09/xmldsig#}"

# Box numbers per agreement: ACFTA Form E, Form RCEP.
BOXES: Mapping[str, Mapping[str, int]] = {
    "ACFTA": {
        "ConsignedFrom": 1, "ConsignedTo": 2, "Transport": 3, "OfficialUse": 4,
        "ItemNumber": 5, "Marks": 6, "Goods": 7, "OriginCriterion": 8, "QuantityAndValue": 9,
        "Invoices": 10, "Declaration": 11, "Certification": 12, "Indicators": 13,
    },
    "RCEP": {
        "ConsignedFrom": 1, "ConsignedTo": 2, "Producer": 3, "Transport": 4, "OfficialUse": 5,
        "ItemNumber": 6, "Marks": 7, "Goods": 8, "HSCode": 9, "OriginCriterion": 10,
        "CountryOfOrigin": 11, "QuantityAndValue": 12, "Invoices": 13, "Remarks": 14,
        "Declaration": 15, "Certification": 16,
    },
}
FORM_ELEMENT = {"ACFTA": "FormE", "RCEP": "FormRCEP"}


def build_certificate(
    application: Mapping[str, Any],
    determinations: Sequence[ItemCriterion],
    *,
    number: str,
    version: int,
    issued_at: datetime,
    issuing_office: IssuingOffice,
    issued_retroactively: bool = False,
    supersedes: str | None = None,
) -> bytes:
    """The unsigned certificate XML (UTF-8), validated against the XSD.

    Every item needs its own determination (Form E Rule 7(e)); the certificate is retroactive if
    either the caller or the application says so. Bad input raises InvalidApplication.
    """
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must carry its time zone")
    if version < 1:
        raise ValueError(f"version {version} must be 1 or more")
    app = ApplicationReader(application)
    agreement = app.text("agreement")
    if agreement not in FORM_ELEMENT:
        raise InvalidApplication([Problem("agreement", f"unknown agreement {agreement!r}")])
    claimed_office = app.optional_text("issuing_office")
    if claimed_office is not None and claimed_office != issuing_office.code:
        raise InvalidApplication([Problem(
            "issuing_office",
            f"the application is for {claimed_office}, not {issuing_office.code}",
        )])
    by_item = _determinations_by_item(app, determinations)

    # The default namespace has the key None, which the lxml stubs do not allow for.
    root = etree.Element(f"{NS}Certificate", nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    root.set("agreement", agreement)
    root.set("schemaVersion", SCHEMA_VERSION)
    _text(root, "ReferenceNumber", number)
    _text(root, "Version", str(version))
    if supersedes is not None:
        _text(root, "Supersedes", supersedes)
    application_id = app.optional_text("application_id")
    if application_id is not None:
        _text(root, "ApplicationId", application_id)
    _text(root, "IssuedIn", issuing_office.country)
    _text(root, "IssuedAt", issued_at.isoformat())
    office = etree.SubElement(root, f"{NS}IssuingOffice", code=issuing_office.code)
    _text(office, "Name", issuing_office.name)
    _text(office, "Address", issuing_office.address)
    _text(office, "Country", issuing_office.country)

    boxes = BOXES[agreement]
    form = etree.SubElement(root, f"{NS}{FORM_ELEMENT[agreement]}")
    _party(form, "ConsignedFrom", app, "exporter", boxes, identifier=True)
    _party(form, "ConsignedTo", app, "importer", boxes)
    if agreement == "RCEP" and app.has("producer"):
        _party(form, "Producer", app, "producer", boxes)
    _transport(form, app, boxes)
    _boxed(form, "OfficialUse", boxes)
    items = etree.SubElement(form, f"{NS}Items")
    exporter_country = app.text("exporter.country")
    for index in range(app.count("items")):
        path = f"items[{index}]"
        _item(items, app, path, by_item[app.integer(f"{path}.item_no")], agreement, boxes,
              exporter_country)
    invoices = _boxed(form, "Invoices", boxes)
    for index in range(app.count("invoices")):
        invoice = etree.SubElement(invoices, f"{NS}Invoice")
        _text(invoice, "Number", app.text(f"invoices[{index}].number"))
        _text(invoice, "Date", app.date(f"invoices[{index}].date"))
    remarks = app.optional_text("remarks")
    if agreement == "RCEP" and remarks is not None:
        _boxed(form, "Remarks", boxes).text = remarks
    _declaration(form, app, boxes, exporter_country)
    certification = _boxed(form, "Certification", boxes)
    _text(certification, "Statement", CERTIFICATION_STATEMENT)
    _text(certification, "Place", issuing_office.address)
    _text(certification, "Date", issued_at.date().isoformat())
    retroactive = issued_retroactively or application.get("issued_retroactively") is True
    _indicators(form, app, boxes, agreement, retroactive)

    validate_certificate(root, source=f"certificate {number}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def certified_true_copy(certificate_xml: bytes, *, version: int, issued_at: datetime) -> bytes:
    """The unsigned certified true copy of a lost, stolen or destroyed certificate.

    The content is the original's, endorsed "CERTIFIED TRUE COPY" in Form E Box 12 / RCEP Box 16
    and keeping the original's certification date; ``Version`` and ``IssuedAt`` (when the copy
    is signed) are the copy's own. The original's signature is dropped; the copy is signed anew.
    """
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must carry its time zone")
    root = parse_xml(certificate_xml, source="certificate to copy")
    validate_certificate(_unsigned(root), source="certificate to copy")
    original_version = int(root.findtext(f"{NS}Version") or "0")
    if version <= original_version:
        raise ValueError(f"version {version} must follow the original's {original_version}")
    _child(root, "Version").text = str(version)
    _child(root, "IssuedAt").text = issued_at.isoformat()
    certification = root.find(f"{NS}*/{NS}Certification")
    if certification is None:
        raise ValueError("the certificate has no certification box")
    if certification.find(f"{NS}Endorsement") is None:
        _text(certification, "Endorsement", TRUE_COPY_ENDORSEMENT)
    number = root.findtext(f"{NS}ReferenceNumber") or ""
    validate_certificate(root, source=f"certified true copy of {number}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _unsigned(root: etree._Element) -> etree._Element:
    for signature in root.findall(f"{DSIG}Signature"):
        root.remove(signature)
    return root


def _child(parent: etree._Element, name: str) -> etree._Element:
    element = parent.find(f"{NS}{name}")
    if element is None:
        raise ValueError(f"the certificate has no {name}")
    return element


def _determinations_by_item(
    app: ApplicationReader, determinations: Sequence[ItemCriterion]
) -> dict[int, ItemCriterion]:
    by_item: dict[int, ItemCriterion] = {}
    problems: list[Problem] = []
    for determination in determinations:
        if determination.item_no in by_item:
            problems.append(Problem(f"determinations[item_no={determination.item_no}]",
                                    "more than one determination for this item"))
        by_item[determination.item_no] = determination
    item_numbers = [app.integer(f"items[{i}].item_no") for i in range(app.count("items"))]
    if len(set(item_numbers)) != len(item_numbers):
        problems.append(Problem("items", "item numbers are not unique"))
    problems.extend(
        Problem(f"items[{i}]", f"item {no} has no origin determination")
        for i, no in enumerate(item_numbers) if no not in by_item
    )
    problems.extend(
        Problem(f"determinations[item_no={no}]", "no such item in the application")
        for no in sorted(set(by_item) - set(item_numbers))
    )
    if problems:
        raise InvalidApplication(problems)
    return by_item


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, f"{NS}{name}")
    element.text = value
    return element


def _boxed(parent: etree._Element, name: str, boxes: Mapping[str, int]) -> etree._Element:
    return etree.SubElement(parent, f"{NS}{name}", box=str(boxes[name]))


def _party(form: etree._Element, name: str, app: ApplicationReader, path: str,
           boxes: Mapping[str, int], *, identifier: bool = False) -> None:
    party = _boxed(form, name, boxes)
    _text(party, "Name", app.text(f"{path}.name"))
    _text(party, "Address", app.text(f"{path}.address"))
    _text(party, "Country", app.country(f"{path}.country"))
    registration = app.optional_text(f"{path}.id") if identifier else None
    if registration is not None:
        _text(party, "Identifier", registration)


def _transport(form: etree._Element, app: ApplicationReader, boxes: Mapping[str, int]) -> None:
    """Means of transport and route, as far as known: every part is optional."""
    transport = _boxed(form, "Transport", boxes)
    if not app.has("transport"):
        return
    departure = app.optional_date("transport.departure_date")
    if departure is not None:
        _text(transport, "DepartureDate", departure)
    for key, name in (("vessel", "Vessel"), ("port_of_loading", "PortOfLoading"),
                      ("port_of_discharge", "PortOfDischarge")):
        value = app.optional_text(f"transport.{key}")
        if value is not None:
            _text(transport, name, value)
    for index in range(app.count("transport.transit", required=False)):
        transit = etree.SubElement(transport, f"{NS}Transit")
        _text(transit, "Port", app.text(f"transport.transit[{index}].port"))
        country = app.optional_text(f"transport.transit[{index}].country")
        if country is not None:
            _text(transit, "Country", app.country(f"transport.transit[{index}].country"))


def _item(items: etree._Element, app: ApplicationReader, path: str, determination: ItemCriterion,
          agreement: str, boxes: Mapping[str, int], exporter_country: str) -> None:
    """One item, qualifying in its own right (Form E Rule 7(e)); FOB only for RVC (Rule 9)."""
    item = etree.SubElement(items, f"{NS}Item")
    _boxed(item, "ItemNumber", boxes).text = str(determination.item_no)
    _boxed(item, "Marks", boxes).text = app.text(f"{path}.marks")
    goods = _boxed(item, "Goods", boxes)
    etree.SubElement(goods, f"{NS}Packages",
                     count=str(app.integer(f"{path}.packages.count")),
                     kind=app.text(f"{path}.packages.kind"))
    _text(goods, "Description", app.text(f"{path}.description"))
    hs_code = app.hs_subheading(f"{path}.hs_code")
    if agreement == "ACFTA":
        _text(goods, "HSCode", hs_code)
    else:
        _boxed(item, "HSCode", boxes).text = hs_code
    criterion = _boxed(item, "OriginCriterion", boxes)
    criterion.text = determination.box
    criterion.set("criterion", determination.criterion)
    if determination.rvc_percent is not None:
        criterion.set("rvcPercent", format(determination.rvc_percent, "f"))
    if agreement == "RCEP":
        _boxed(item, "CountryOfOrigin", boxes).text = (
            determination.country_of_origin or exporter_country
        )
    measures = _boxed(item, "QuantityAndValue", boxes)
    weight = app.optional_amount(f"{path}.gross_weight_kg")
    if weight is not None:
        _text(measures, "GrossWeight", weight).set("unit", "KGM")
    if app.has(f"{path}.quantity"):
        quantity = _text(measures, "Quantity", app.amount(f"{path}.quantity.value"))
        quantity.set("unit", app.text(f"{path}.quantity.unit"))
    if weight is None and not app.has(f"{path}.quantity"):
        raise InvalidApplication([Problem(path, "needs a gross weight or a quantity")])
    if determination.fob_shown:
        fob = _text(measures, "FOBValue", app.amount(f"{path}.fob.amount"))
        fob.set("currency", app.text(f"{path}.fob.currency"))


def _declaration(form: etree._Element, app: ApplicationReader, boxes: Mapping[str, int],
                 exporter_country: str) -> None:
    declaration = _boxed(form, "Declaration", boxes)
    production = app.optional_text("producer.country") or exporter_country
    _text(declaration, "CountryOfProduction", production)
    _text(declaration, "ImportingCountry", app.country("importer.country"))
    _text(declaration, "Place", app.text("declaration.place"))
    _text(declaration, "Date", app.date("declaration.date"))
    _text(declaration, "Signatory", app.text("declaration.signatory"))


def _indicators(form: etree._Element, app: ApplicationReader, boxes: Mapping[str, int],
                agreement: str, retroactive: bool) -> None:
    """Form E Box 13 ticks / RCEP indicators, each with the particulars it requires."""
    indicators = etree.SubElement(form, f"{NS}Indicators")
    if agreement == "ACFTA":
        indicators.set("box", str(boxes["Indicators"]))
    third_party = _tick(indicators, "ThirdPartyInvoicing", app.has("third_party_invoicing"))
    if app.has("third_party_invoicing"):
        _text(third_party, "Name", app.text("third_party_invoicing.name"))
        _text(third_party, "Country", app.country("third_party_invoicing.country"))
    back_to_back = _tick(indicators, "BackToBack", app.has("back_to_back"))
    if app.has("back_to_back"):
        _text(back_to_back, "OriginalCertificate",
              app.text("back_to_back.original_certificate"))
        _text(back_to_back, "OriginalIssueDate", app.date("back_to_back.original_issue_date"))
        if app.optional_text("back_to_back.original_country") is not None:
            _text(back_to_back, "OriginalCountry", app.country("back_to_back.original_country"))
    _tick(indicators, "IssuedRetroactively", retroactive)
    exhibition = _tick(indicators, "Exhibition", app.has("exhibition"))
    if app.has("exhibition"):
        _text(exhibition, "Name", app.text("exhibition.name"))
        _text(exhibition, "Address", app.text("exhibition.address"))


def _tick(parent: etree._Element, name: str, ticked: bool) -> etree._Element:
    return etree.SubElement(parent, f"{NS}{name}", ticked="true" if ticked else "false")
