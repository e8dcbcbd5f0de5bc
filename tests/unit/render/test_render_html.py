"""The HTML preview: labels of the language, data as issued, everything escaped."""

from __future__ import annotations

import re
from decimal import Decimal

import lxml.html
import pytest
from render_samples import build_signed, load_application

from pipeline.certificate.devpki import DevPki
from pipeline.certificate.document import BOXES
from pipeline.certificate.model import ItemCriterion
from pipeline.certificate.render import (
    LANGUAGES,
    labels_for,
    preview_html,
    read_certificate,
    render_html,
)

PORTAL = "https://portal.example:8444"


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", lxml.html.document_fromstring(page).text_content())


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("agreement", ["RCEP", "ACFTA"])
def test_preview_has_every_box_title_of_the_language(
        certificates: dict[str, bytes], agreement: str, lang: str) -> None:
    page = preview_html(certificates[agreement], lang, portal_url=PORTAL)
    text = _text(page)
    labels = labels_for(lang)
    for element in BOXES[agreement]:
        assert labels.text("boxes", agreement, element, "title") in text, element
    assert labels.text("forms", agreement, "title") in text
    assert labels.text("header", "issued_in") in text
    assert labels.text("notes", "title") in text
    assert f'lang="{lang}"' in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_preview_shows_the_data_as_issued_in_english(
        certificates: dict[str, bytes], lang: str) -> None:
    text = _text(preview_html(certificates["RCEP"], lang, portal_url=PORTAL))
    for issued in ("R264403000010001", "Shenzhen Brightway Lighting Co., Ltd.",
                   "Hai Phong Lighting Distribution JSC", "BW/HPH/1-120",
                   "LED ceiling luminaires, 24 W, aluminium housing", "940542", "CTC",
                   "850.5 KGM", "1200 PCE", "BW-2026-0501", "Wang Fang, Export Manager",
                   "It is hereby certified, on the basis of control carried out"):
        assert issued in text, issued


def test_form_e_shows_the_criterion_box_and_the_fob_value_for_rvc(
        certificates: dict[str, bytes]) -> None:
    page = lxml.html.document_fromstring(
        preview_html(certificates["ACFTA"], "en", portal_url=PORTAL))
    criterion = page.get_element_by_id("box-8")
    assert "Origin criterion" in criterion.text_content()
    row = page.get_element_by_id("item-1")
    assert "55%" in row.text_content() and "10000.00 USD" in row.text_content()
    assert "851671" in row.text_content()


def test_rcep_without_rvc_shows_no_fob_value(certificates: dict[str, bytes]) -> None:
    row = lxml.html.document_fromstring(
        preview_html(certificates["RCEP"], "en", portal_url=PORTAL)).get_element_by_id("item-1")
    assert "FOB value" not in row.text_content()


def test_qr_code_and_printed_link_point_to_the_portal(certificates: dict[str, bytes]) -> None:
    page = lxml.html.document_fromstring(
        preview_html(certificates["ACFTA"], "vi", portal_url=PORTAL + "/"))
    url = f"{PORTAL}/v1/certificates/E263302000020001"
    [image] = page.xpath("//img")
    assert image.get("src").startswith("data:image/svg+xml")
    assert image.get("alt") == url
    assert url in page.text_content()


def test_movement_certificate_on_form_e_back_to_back_on_rcep(
        certificates: dict[str, bytes]) -> None:
    acfta = _text(preview_html(certificates["ACFTA"], "en", portal_url=PORTAL))
    rcep = _text(preview_html(certificates["RCEP"], "en", portal_url=PORTAL))
    assert "Movement certificate" in acfta and "Back-to-back certificate" not in acfta
    assert "Back-to-back certificate" in rcep and "Movement certificate" not in rcep
    assert "Exhibition" in acfta and "Exhibition" not in rcep


def test_ticked_indicator_is_marked_with_its_particulars(pki: DevPki) -> None:
    application = load_application("ACFTA")
    application["exhibition"] = {"name": "Canton Fair Bangkok", "address": "BITEC, Bangkok"}
    page = lxml.html.document_fromstring(preview_html(
        build_signed("ACFTA", pki, application=application), "th", portal_url=PORTAL))
    ticks = {tick.getparent().text_content(): tick.text_content()
             for tick in page.find_class("tick")}
    [exhibition] = [label for label in ticks if "งานแสดงสินค้า" in label]
    assert ticks[exhibition] == "X"
    assert "Canton Fair Bangkok" in exhibition and "BITEC, Bangkok" in exhibition
    assert sorted(ticks.values()) == ["", "", "", "X"]


def test_every_item_has_its_row_and_the_invoices_span_them(pki: DevPki) -> None:
    application = load_application("RCEP")
    second = dict(application["items"][0], item_no=2, marks="BW/HPH/121-130",
                  description="LED panel lights, 36 W")
    application["items"].append(second)
    determinations = [ItemCriterion(1, "CTH", "CTC", fob_shown=False),
                      ItemCriterion(2, "RVC", "RVC", fob_shown=True,
                                    rvc_percent=Decimal("46.5"))]
    xml = build_signed("RCEP", pki, application=application, determinations=determinations)
    page = lxml.html.document_fromstring(preview_html(xml, "en", portal_url=PORTAL))
    second_row = page.get_element_by_id("item-2").text_content()
    assert "LED panel lights, 36 W" in second_row and "24000.00 USD" in second_row
    assert "RVC 46.5%" in second_row
    [invoices] = [cell for cell in page.xpath("//td[@rowspan]") if "BW-2026-0501"
                  in cell.text_content()]
    assert invoices.get("rowspan") == "2"


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted"'


def test_certificate_text_cannot_inject_html(pki: DevPki) -> None:
    application = load_application("RCEP")
    application["exporter"]["name"] = HOSTILE
    application["items"][0]["description"] = "</td></tr></table><iframe src=//evil>"
    application["remarks"] = "<style>body{display:none}</style>"
    application["declaration"]["signatory"] = "<a href='javascript:alert(1)'>sign</a>"
    page = preview_html(build_signed("RCEP", pki, application=application), "en",
                        portal_url=PORTAL)
    tree = lxml.html.document_fromstring(page)
    assert tree.xpath("//script | //iframe | //a") == []
    assert len(tree.xpath("//img")) == 1  # the QR code, nothing else
    assert len(tree.xpath("//style")) == 1  # the stylesheet, nothing else
    assert len(tree.xpath("//table")) == 5  # header, items, remarks, boxes 15-16, indicators
    text = tree.text_content()
    for hostile in (HOSTILE, "</td></tr></table><iframe src=//evil>",
                    "<style>body{display:none}</style>"):
        assert hostile in text
    assert "&lt;script&gt;" in page and "<script>" not in page


def test_render_html_takes_a_read_certificate(certificates: dict[str, bytes]) -> None:
    view = read_certificate(certificates["ACFTA"])
    page = render_html(view, labels_for("th"), verification_url="https://p/v1/certificates/X")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>FORM E E263302000020001</title>" in page


def test_unknown_language_and_bad_portal_are_refused(certificates: dict[str, bytes]) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        preview_html(certificates["RCEP"], "de", portal_url=PORTAL)
    with pytest.raises(ValueError, match="portal URL"):
        preview_html(certificates["RCEP"], "en", portal_url="file:///etc")
