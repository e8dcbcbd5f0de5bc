"""Reads a certificate document into plain values for the preview: every box of Form E or
Form RCEP with its content exactly as issued (English, codes and dates as written).

The document is parsed with the hardened parser and checked against the XSD first, so the
reader can rely on the structure the schema guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.schema import NAMESPACE, validate_certificate

ECO = f"{{{NAMESPACE}}}"
FORM_ELEMENTS = {"ACFTA": "FormE", "RCEP": "FormRCEP"}


@dataclass(frozen=True)
class Party:
    """An exporter, consignee or producer (Form E Boxes 1-2, RCEP Boxes 1-3)."""

    name: str
    address: str
    country: str
    identifier: str | None = None


@dataclass(frozen=True)
class Transit:
    port: str
    country: str | None = None


@dataclass(frozen=True)
class Transport:
    """Means of transport and route, as far as known (Form E Box 3, RCEP Box 4)."""

    departure_date: str | None = None
    vessel: str | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    transits: tuple[Transit, ...] = ()


@dataclass(frozen=True)
class Measure:
    """An amount with its unit (``KGM``, ``PCE``) or, for the FOB value, its currency."""

    amount: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.unit}"


@dataclass(frozen=True)
class Item:
    """One line of goods: Form E Boxes 5-9, RCEP Boxes 6-12."""

    item_no: int
    marks: str
    package_count: int
    package_kind: str
    description: str
    hs_code: str
    criterion_box: str
    criterion: str
    rvc_percent: Decimal | None
    country_of_origin: str | None
    gross_weight: Measure | None
    quantity: Measure | None
    fob_value: Measure | None


@dataclass(frozen=True)
class Invoice:
    number: str
    date: str


@dataclass(frozen=True)
class Declaration:
    """The exporter's (RCEP: or producer's) declaration, Form E Box 11 / RCEP Box 15."""

    country_of_production: str
    importing_country: str
    place: str
    date: str
    signatory: str


@dataclass(frozen=True)
class Certification:
    """The issuing authority's certification, Form E Box 12 / RCEP Box 16."""

    statement: str
    place: str
    date: str


@dataclass(frozen=True)
class Indicator:
    """A tick of Form E Box 13 or an RCEP indicator, with its particulars as (field, value)."""

    name: str
    ticked: bool
    particulars: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CertificateView:
    """What a preview shows of one certificate: the header and every box, as issued."""

    agreement: str
    number: str
    version: int
    supersedes: str | None
    issued_in: str
    issued_at: str
    issuing_office: IssuingOffice
    consigned_from: Party
    consigned_to: Party
    producer: Party | None
    transport: Transport
    items: tuple[Item, ...]
    invoices: tuple[Invoice, ...]
    remarks: str | None
    declaration: Declaration
    certification: Certification
    indicators: tuple[Indicator, ...]
    signed: bool


def read_certificate(xml: bytes, *, source: str = "certificate") -> CertificateView:
    """Parse (hardened) and schema-check a certificate, signed or not, and read its boxes.

    Raises UnsafeXml or InvalidInput for a document that is not a readable certificate.
    """
    root = parse_xml(xml, source=source)
    validate_certificate(root, source=source)
    agreement = root.get("agreement", "")
    form = _child(root, FORM_ELEMENTS[agreement])
    office = _child(root, "IssuingOffice")
    producer = form.find(f"{ECO}Producer")
    remarks = form.find(f"{ECO}Remarks")
    return CertificateView(
        agreement=agreement,
        number=_text(root, "ReferenceNumber"),
        version=int(_text(root, "Version")),
        supersedes=_optional_text(root, "Supersedes"),
        issued_in=_text(root, "IssuedIn"),
        issued_at=_text(root, "IssuedAt"),
        issuing_office=IssuingOffice(
            code=office.get("code", ""),
            name=_text(office, "Name"),
            address=_text(office, "Address"),
            country=_text(office, "Country"),
        ),
        consigned_from=_party(_child(form, "ConsignedFrom")),
        consigned_to=_party(_child(form, "ConsignedTo")),
        producer=None if producer is None else _party(producer),
        transport=_transport(_child(form, "Transport")),
        items=tuple(_item(item) for item in form.iterfind(f"{ECO}Items/{ECO}Item")),
        invoices=tuple(
            Invoice(_text(invoice, "Number"), _text(invoice, "Date"))
            for invoice in form.iterfind(f"{ECO}Invoices/{ECO}Invoice")
        ),
        remarks=None if remarks is None else (remarks.text or ""),
        declaration=_declaration(_child(form, "Declaration")),
        certification=_certification(_child(form, "Certification")),
        indicators=tuple(_indicator(tick) for tick in _child(form, "Indicators")
                         if isinstance(tick.tag, str)),
        signed=root[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature",
    )


def _child(parent: etree._Element, name: str) -> etree._Element:
    element = parent.find(f"{ECO}{name}")
    if element is None:  # the XSD requires it; a reader bug, not bad input
        raise AssertionError(f"schema-valid certificate without {name}")
    return element


def _text(parent: etree._Element, name: str) -> str:
    return _child(parent, name).text or ""


def _optional_text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(f"{ECO}{name}")
    return None if element is None else (element.text or "")


def _party(element: etree._Element) -> Party:
    return Party(
        name=_text(element, "Name"),
        address=_text(element, "Address"),
        country=_text(element, "Country"),
        identifier=_optional_text(element, "Identifier"),
    )


def _transport(element: etree._Element) -> Transport:
    return Transport(
        departure_date=_optional_text(element, "DepartureDate"),
        vessel=_optional_text(element, "Vessel"),
        port_of_loading=_optional_text(element, "PortOfLoading"),
        port_of_discharge=_optional_text(element, "PortOfDischarge"),
        transits=tuple(
            Transit(_text(transit, "Port"), _optional_text(transit, "Country"))
            for transit in element.iterfind(f"{ECO}Transit")
        ),
    )


def _measure(parent: etree._Element, name: str, unit_attribute: str) -> Measure | None:
    element = parent.find(f"{ECO}{name}")
    if element is None:
        return None
    return Measure(Decimal((element.text or "").strip()), element.get(unit_attribute, ""))


def _item(element: etree._Element) -> Item:
    """Form E carries the HS code inside Goods (Box 7); RCEP in its own Box 9."""
    goods = _child(element, "Goods")
    packages = _child(goods, "Packages")
    criterion = _child(element, "OriginCriterion")
    rvc_percent = criterion.get("rvcPercent")
    measures = _child(element, "QuantityAndValue")
    hs_code = _optional_text(element, "HSCode") or _text(goods, "HSCode")
    return Item(
        item_no=int(_text(element, "ItemNumber")),
        marks=_text(element, "Marks"),
        package_count=int(packages.get("count", "0")),
        package_kind=packages.get("kind", ""),
        description=_text(goods, "Description"),
        hs_code=hs_code,
        criterion_box=criterion.text or "",
        criterion=criterion.get("criterion", ""),
        rvc_percent=None if rvc_percent is None else Decimal(rvc_percent),
        country_of_origin=_optional_text(element, "CountryOfOrigin"),
        gross_weight=_measure(measures, "GrossWeight", "unit"),
        quantity=_measure(measures, "Quantity", "unit"),
        fob_value=_measure(measures, "FOBValue", "currency"),
    )


def _declaration(element: etree._Element) -> Declaration:
    return Declaration(
        country_of_production=_text(element, "CountryOfProduction"),
        importing_country=_text(element, "ImportingCountry"),
        place=_text(element, "Place"),
        date=_text(element, "Date"),
        signatory=_text(element, "Signatory"),
    )


def _certification(element: etree._Element) -> Certification:
    return Certification(
        statement=_text(element, "Statement"),
        place=_text(element, "Place"),
        date=_text(element, "Date"),
    )


def _indicator(element: etree._Element) -> Indicator:
    """A tick and its particulars, named by element (``OriginalCertificate``, ``Name``, ...)."""
    return Indicator(
        name=etree.QName(element).localname,
        ticked=element.get("ticked") in ("true", "1"),
        particulars=tuple(
            (etree.QName(child).localname, child.text or "")
            for child in element if isinstance(child.tag, str)
        ),
    )
