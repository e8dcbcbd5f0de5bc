"""Lays a certificate out as an HTML page shaped like the agreement's form (Form E boxes 1-13,
Form RCEP boxes 1-16), with the labels of one language and the data as issued.

The page is built as an element tree, never by pasting strings, so every piece of certificate
text reaches the page as text: it cannot open a tag or a script (no HTML injection).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from pipeline.certificate.document import BOXES
from pipeline.certificate.render.labels import Labels
from pipeline.certificate.render.reading import (
    CertificateView,
    Indicator,
    Item,
    Party,
    Transport,
)
from pipeline.certificate.render.stylesheet import FORM_CSS
from pipeline.certificate.render.verification_link import qr_code_data_uri

Node = str | etree._Element | None

# The item columns of each form, left to right, as on the printed sheets.
ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "ACFTA": ("ItemNumber", "Marks", "Goods", "OriginCriterion", "QuantityAndValue", "Invoices"),
    "RCEP": ("ItemNumber", "Marks", "Goods", "HSCode", "OriginCriterion", "CountryOfOrigin",
             "QuantityAndValue", "Invoices"),
}
COLUMN_WIDTHS: dict[str, tuple[int, ...]] = {
    "ACFTA": (8, 15, 32, 12, 17, 16),
    "RCEP": (7, 12, 24, 9, 11, 9, 14, 14),
}
# Form E Box 13 in its printed order; the RCEP form shows three indicators.
INDICATOR_ORDER: dict[str, tuple[str, ...]] = {
    "ACFTA": ("IssuedRetroactively", "BackToBack", "Exhibition", "ThirdPartyInvoicing"),
    "RCEP": ("BackToBack", "ThirdPartyInvoicing", "IssuedRetroactively"),
}


@dataclass(frozen=True)
class _Page:
    """What every part of the page needs: the certificate, the labels, the agreement."""

    certificate: CertificateView
    labels: Labels

    @property
    def agreement(self) -> str:
        return self.certificate.agreement

    def label(self, *path: str) -> str:
        return self.labels.text(*path)

    def box_head(self, element: str) -> etree._Element:
        """The number (where the form has one), title and hint of a box."""
        number = BOXES[self.agreement].get(element)
        hint = self.label("boxes", self.agreement, element, "hint")
        return _el(
            "div",
            _el("span", str(number), cls="box-no") if number is not None else None,
            _el("span", self.label("boxes", self.agreement, element, "title"), cls="box-title"),
            " " if hint else None,
            _el("span", f"({hint})", cls="box-hint") if hint else None,
            cls="box-head",
        )

    def box_id(self, element: str) -> str:
        """The page anchor of a box (``box-8``), so a link or a reader can point at it."""
        number = BOXES[self.agreement].get(element)
        return f"box-{number}" if number is not None else f"box-{element.lower()}"

    def field(self, key: str, value: str) -> etree._Element:
        return _el("div", _el("span", self.label("fields", key), cls="field"), ": ",
                   _el("span", value, cls="data"), cls="line")


def render_html(certificate: CertificateView, labels: Labels, *, verification_url: str) -> str:
    """The preview page (HTML5, UTF-8) of ``certificate`` with the labels of ``labels``; its QR
    code and printed link point to ``verification_url``."""
    page = _Page(certificate, labels)
    form = labels.text("forms", certificate.agreement, "name")
    body = _el(
        "body",
        _el("p", labels.text("preview_notice"), cls="notice"),
        _header(page, verification_url),
        _items(page),
        _remarks(page) if certificate.agreement == "RCEP" else None,
        _el("table", _halves(), _el("tr", _declaration(page), _certification(page)),
            cls="sheet"),
        _el("table", _el("tr", _indicators(page)), cls="sheet"),
        _notes(page),
    )
    head = _el(
        "head",
        _el("meta", charset="utf-8"),
        _el("title", f"{form} {certificate.number}"),
        _el("style", FORM_CSS),
    )
    document = _el("html", head, body, lang=labels.lang)
    text: str = etree.tostring(document, method="html", encoding="unicode")
    return "<!DOCTYPE html>\n" + text


def _el(tag: str, *children: Node, cls: str | None = None, **attributes: str) -> etree._Element:
    """An element with text and child elements in order; text is stored, never parsed."""
    element = etree.Element(tag)
    if cls is not None:
        element.set("class", cls)
    for name, value in attributes.items():
        element.set(name.rstrip("_").replace("_", "-"), value)
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            if len(element):
                element[-1].tail = (element[-1].tail or "") + child
            else:
                element.text = (element.text or "") + child
        else:
            element.append(child)
    return element


def _box(page: _Page, element: str, *content: Node, **attributes: str) -> etree._Element:
    return _el("td", page.box_head(element), *content, cls="box", id=page.box_id(element),
               **attributes)


def _party(page: _Page, party: Party | None) -> list[Node]:
    if party is None:
        return [_el("div", page.label("fields", "not_known"), cls="box-hint")]
    lines: list[Node] = [_el("div", text, cls="data line")
                         for text in (party.name, party.address, party.country)]
    if party.identifier is not None:
        lines.append(page.field("identifier", party.identifier))
    return lines


def _transport(page: _Page, transport: Transport) -> list[Node]:
    lines: list[Node] = [
        page.field(key, value)
        for key, value in (
            ("departure_date", transport.departure_date),
            ("vessel", transport.vessel),
            ("port_of_loading", transport.port_of_loading),
            ("port_of_discharge", transport.port_of_discharge),
        )
        if value is not None
    ]
    lines.extend(
        page.field("transit", transit.port + (f" ({transit.country})" if transit.country else ""))
        for transit in transport.transits
    )
    return lines or [_el("div", page.label("fields", "not_known"), cls="box-hint")]


def _header(page: _Page, verification_url: str) -> etree._Element:
    """Boxes 1-4 (RCEP 1-5) on the left and below; the number, title and QR code top right."""
    certificate = page.certificate
    left: list[tuple[str, list[Node]]] = [
        ("ConsignedFrom", _party(page, certificate.consigned_from)),
        ("ConsignedTo", _party(page, certificate.consigned_to)),
    ]
    if page.agreement == "RCEP":
        left.append(("Producer", _party(page, certificate.producer)))
    rows = [
        _el("tr", _box(page, element, *content),
            _title(page, verification_url, rowspan=len(left)) if index == 0 else None)
        for index, (element, content) in enumerate(left)
    ]
    rows.append(_el(
        "tr",
        _box(page, "Transport", *_transport(page, certificate.transport)),
        _box(page, "OfficialUse", _el("div", page.label("fields", "official_use"),
                                      cls="box-hint")),
    ))
    return _el("table", _halves(), *rows, cls="sheet")


def _halves() -> etree._Element:
    return _el("colgroup", _el("col", style="width:50%"), _el("col", style="width:50%"))


def _title(page: _Page, verification_url: str, *, rowspan: int) -> etree._Element:
    certificate = page.certificate
    office = certificate.issuing_office
    agreement = page.agreement
    subtitle = page.label("forms", agreement, "subtitle")
    return _el(
        "td",
        _el("div", _el("span", page.label("header", "number"), cls="field"), " ",
            _el("span", certificate.number, cls="data number")),
        _el("div", _el("span", page.label("header", "version"), cls="field"), " ",
            _el("span", str(certificate.version), cls="data")),
        _el("div", _el("span", page.label("header", "supersedes"), cls="field"), " ",
            _el("span", certificate.supersedes, cls="data"))
        if certificate.supersedes else None,
        _el("div", page.label("forms", agreement, "title"), cls="form-title"),
        _el("div", subtitle, cls="form-subtitle") if subtitle else None,
        _el("div", page.label("forms", agreement, "name"), cls="form-name"),
        _el("div", _el("span", page.label("header", "issued_in"), cls="field"), " ",
            _el("span", certificate.issued_in, cls="data")),
        _el("div", _el("span", page.label("header", "issuing_office"), cls="field"), " ",
            _el("span", f"{office.name} ({office.code})", cls="data")),
        _el("div", _el("span", page.label("header", "issued_at"), cls="field"), " ",
            _el("span", certificate.issued_at, cls="data")),
        _el("div",
            _el("img", src=qr_code_data_uri(verification_url), alt=verification_url),
            _el("div", page.label("header", "verify"), cls="field"),
            _el("div", verification_url, cls="url"),
            cls="qr"),
        cls="box title", rowspan=str(rowspan),
    )


def _items(page: _Page) -> etree._Element:
    """The goods table: one row per item (Form E Rule 7(e)); the invoices box spans them all."""
    columns = ITEM_COLUMNS[page.agreement]
    widths = COLUMN_WIDTHS[page.agreement]
    head = _el("thead", _el("tr", *(
        _el("th", page.box_head(column), cls="box", id=page.box_id(column)) for column in columns
    )))
    invoices = _el("td", *(
        _el("div", _el("span", invoice.number, cls="data"), f" {invoice.date}", cls="line")
        for invoice in page.certificate.invoices
    ), cls="box", rowspan=str(len(page.certificate.items)))
    cells: dict[str, Callable[[_Page, Item], Sequence[Node]]] = {
        "ItemNumber": lambda _, item: [_el("span", str(item.item_no), cls="data")],
        "Marks": lambda _, item: [_el("span", item.marks, cls="data")],
        "Goods": _goods,
        "HSCode": lambda _, item: [_el("span", item.hs_code, cls="data")],
        "OriginCriterion": _criterion,
        "CountryOfOrigin": lambda _, item: [_el("span", item.country_of_origin or "", cls="data")],
        "QuantityAndValue": _quantity,
    }
    rows = [
        _el("tr", *(_el("td", *cells[column](page, item), cls="box")
                    for column in columns if column != "Invoices"),
            invoices if index == 0 else None, id=f"item-{item.item_no}")
        for index, item in enumerate(page.certificate.items)
    ]
    colgroup = _el("colgroup", *(_el("col", style=f"width:{width}%") for width in widths))
    return _el("table", colgroup, head, _el("tbody", *rows), cls="sheet items")


def _goods(page: _Page, item: Item) -> list[Node]:
    """Packages and description; Form E prints the 6-digit HS code here too (Box 7)."""
    lines: list[Node] = [
        _el("div", _el("span", f"{item.package_count} {item.package_kind}", cls="data"),
            cls="line"),
        _el("div", _el("span", item.description, cls="data"), cls="line"),
    ]
    if page.agreement == "ACFTA":
        lines.append(page.field("hs_code", item.hs_code))
    return lines


def _criterion(page: _Page, item: Item) -> list[Node]:
    rule = item.criterion
    if item.rvc_percent is not None:
        percent = f"{format(item.rvc_percent, 'f')}%"
        rule = f"RVC {percent}" if rule == "RVC" else f"{rule}, RVC {percent}"
    return [_el("div", item.criterion_box, cls="criterion"), page.field("rule", rule)]


def _quantity(page: _Page, item: Item) -> list[Node]:
    """Gross weight or quantity; the FOB value only where RVC is applied (Form E Box 9)."""
    return [
        page.field(key, str(measure))
        for key, measure in (("gross_weight", item.gross_weight), ("quantity", item.quantity),
                             ("fob_value", item.fob_value))
        if measure is not None
    ]


def _remarks(page: _Page) -> etree._Element:
    remarks = page.certificate.remarks
    content = _el("div", remarks, cls="data") if remarks else None
    return _el("table", _el("tr", _box(page, "Remarks", content)), cls="sheet")


def _declaration(page: _Page) -> etree._Element:
    """Form E Box 11 / RCEP Box 15: the printed declaration with the countries filled in."""
    declaration = page.certificate.declaration
    values = {"production": declaration.country_of_production,
              "importing": declaration.importing_country}
    sentence: list[Node] = []
    template = page.label("declaration", page.agreement)
    for literal, name, _, _ in string.Formatter().parse(template):
        sentence.append(literal)
        if name is not None:
            sentence.append(_el("span", values[name], cls="data"))
    return _box(
        page, "Declaration",
        _el("p", *sentence),
        page.field("place", declaration.place),
        page.field("date", declaration.date),
        _el("div", page.field("signatory", declaration.signatory), cls="signature"),
    )


def _certification(page: _Page) -> etree._Element:
    """Form E Box 12 / RCEP Box 16: the statement as issued; the signature is the XMLDSig."""
    certificate = page.certificate
    certification = certificate.certification
    office = certificate.issuing_office
    signature = page.label("fields", "signed" if certificate.signed else "unsigned")
    return _box(
        page, "Certification",
        _el("p", certification.statement, cls="statement data"),
        page.field("place", certification.place),
        page.field("date", certification.date),
        _el("div", _el("div", signature), _el("div", office.name, cls="data"),
            cls="signature"),
    )


def _indicators(page: _Page) -> etree._Element:
    """Form E Box 13 ticks / the RCEP indicators, each ticked one with its particulars."""
    by_name = {indicator.name: indicator for indicator in page.certificate.indicators}
    shown = [by_name[name] for name in INDICATOR_ORDER[page.agreement] if name in by_name]
    shown.extend(indicator for indicator in page.certificate.indicators
                 if indicator.ticked and indicator not in shown)
    return _box(page, "Indicators", *(_indicator(page, indicator) for indicator in shown))


def _indicator(page: _Page, indicator: Indicator) -> etree._Element:
    name = indicator.name
    if name == "BackToBack" and page.agreement == "ACFTA":
        name = "MovementCertificate"
    particulars = [
        _el("span", _el("span", page.label("indicators", field), cls="field"), ": ",
            _el("span", value, cls="data"), " ")
        for field, value in indicator.particulars
    ]
    return _el(
        "div",
        _el("span", "X" if indicator.ticked else "", cls="tick"),
        _el("span", page.label("indicators", name)),
        " " if particulars else None,
        *particulars,
        cls="indicator",
    )


def _notes(page: _Page) -> etree._Element:
    """The overleaf notes: what each origin criterion code of the agreement means."""
    entries: list[Node] = []
    for code, meaning in page.labels.entries("notes", "criteria", page.agreement):
        entries.extend((_el("dt", code), _el("dd", meaning)))
    return _el("section", _el("h2", page.label("notes", "title")), _el("dl", *entries),
               cls="notes")
