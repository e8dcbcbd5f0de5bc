"""Reading a certificate into the values of the preview: every box as issued."""

from __future__ import annotations

from decimal import Decimal

import pytest
from render_samples import build_unsigned

from pipeline.certificate.devpki import DevPki
from pipeline.certificate.render.reading import Measure, read_certificate
from pipeline.errors import InvalidInput, UnsafeXml


def test_rcep_certificate_is_read_box_by_box(certificates: dict[str, bytes]) -> None:
    view = read_certificate(certificates["RCEP"])
    assert (view.agreement, view.number, view.version) == ("RCEP", "R264403000010001", 1)
    assert view.issued_in == "CN" and view.issuing_office.code == "CN-SZX"
    assert view.consigned_from.name == "Shenzhen Brightway Lighting Co., Ltd."
    assert view.consigned_from.identifier == "91440300MA5DLED01X"
    assert view.consigned_to.country == "VN"
    assert view.producer is not None and view.producer.identifier is None
    assert view.transport.vessel == "HAIAN MIND V.2619S"
    assert view.transport.port_of_discharge == "VNHPH"
    [item] = view.items
    assert (item.item_no, item.marks, item.hs_code) == (1, "BW/HPH/1-120", "940542")
    assert (item.package_count, item.package_kind) == (120, "CT")
    assert (item.criterion_box, item.criterion, item.country_of_origin) == ("CTC", "CTH", "CN")
    assert item.gross_weight == Measure(Decimal("850.5"), "KGM")
    assert item.fob_value is None
    assert [(i.number, i.date) for i in view.invoices] == [("BW-2026-0501", "2026-05-06")]
    assert view.declaration.importing_country == "VN"
    assert view.certification.date == "2026-05-09"
    assert [i.name for i in view.indicators] == [
        "ThirdPartyInvoicing", "BackToBack", "IssuedRetroactively", "Exhibition"]
    assert view.signed


def test_form_e_reads_the_hs_code_from_box_7_and_the_fob_value(
        certificates: dict[str, bytes]) -> None:
    view = read_certificate(certificates["ACFTA"])
    [item] = view.items
    assert view.agreement == "ACFTA" and view.producer is None and view.remarks is None
    assert item.hs_code == "851671"
    assert (item.criterion_box, item.criterion, item.rvc_percent) == ("55%", "RVC",
                                                                      Decimal("55.00"))
    assert item.fob_value is not None and str(item.fob_value) == "10000.00 USD"
    assert item.country_of_origin is None


def test_ticked_indicators_carry_their_particulars(pki: DevPki) -> None:
    from render_samples import load_application
    application = load_application("ACFTA")
    application["third_party_invoicing"] = {"name": "Lion Trading Pte Ltd", "country": "SG"}
    view = read_certificate(build_unsigned("ACFTA", pki, application=application,
                                           issued_retroactively=True))
    ticks = {indicator.name: indicator for indicator in view.indicators}
    assert ticks["IssuedRetroactively"].ticked
    assert ticks["ThirdPartyInvoicing"].particulars == (("Name", "Lion Trading Pte Ltd"),
                                                        ("Country", "SG"))
    assert not ticks["Exhibition"].ticked
    assert not view.signed


def test_a_document_that_is_not_a_certificate_is_refused() -> None:
    with pytest.raises(InvalidInput):
        read_certificate(b"<Invoice xmlns='urn:eco-pipeline:certificate:1'/>")


def test_a_document_type_declaration_is_refused() -> None:
    with pytest.raises(UnsafeXml):
        read_certificate(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
