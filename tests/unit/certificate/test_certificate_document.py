"""Building the certificate XML: boxes per form, the criterion and FOB rule, the indicators,
and refusal of bad input. Every built document is checked against the XSD."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from certificate_samples import (
    ACFTA_SAMPLE,
    DETERMINATIONS,
    ISSUED_AT,
    RCEP_SAMPLE,
    build_sample,
    load_sample,
)
from lxml import etree

from pipeline.certificate.devpki import DevPki
from pipeline.certificate.document import build_certificate
from pipeline.certificate.model import IssuingOffice, ItemCriterion
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.schema import NAMESPACE, certificate_schema, schema_bytes
from pipeline.errors import InvalidApplication, InvalidInput

NS = {"e": NAMESPACE}


def _root(xml: bytes) -> etree._Element:
    root = parse_xml(xml)
    assert certificate_schema().validate(root), certificate_schema().error_log
    return root


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, path
    element = found[0]
    assert isinstance(element, etree._Element)
    return element


def test_schema_is_published_with_its_namespace() -> None:
    assert f'targetNamespace="{NAMESPACE}"'.encode() in schema_bytes()
    assert NAMESPACE == "urn:eco-pipeline:certificate:1"


def test_acfta_sample_gives_a_form_e_with_its_boxes(rsa_pki: DevPki) -> None:
    root = _root(build_sample(ACFTA_SAMPLE, rsa_pki))
    assert root.get("agreement") == "ACFTA"
    assert _one(root, "e:ReferenceNumber").text == "E263302000020001"
    assert _one(root, "e:IssuingOffice").get("code") == "CN-NGB"
    assert _one(root, "e:IssuedAt").text == "2026-05-09T10:30:00+08:00"
    form = _one(root, "e:FormE")
    exporter = _one(form, "e:ConsignedFrom/e:Name").text
    assert exporter == "Ningbo Homestar Electric Appliance Co., Ltd."
    assert _one(form, "e:ConsignedFrom").get("box") == "1"
    assert _one(form, "e:ConsignedTo/e:Country").text == "TH"
    criterion = _one(form, "e:Items/e:Item/e:OriginCriterion")
    assert (criterion.get("box"), criterion.text, criterion.get("criterion")) == ("8", "55%", "RVC")
    assert criterion.get("rvcPercent") == "55.00"
    assert _one(form, "e:Items/e:Item/e:Goods/e:HSCode").text == "851671"
    assert _one(form, "e:Invoices").get("box") == "10"
    assert _one(form, "e:Declaration/e:ImportingCountry").text == "TH"
    assert _one(form, "e:Certification/e:Date").text == "2026-05-09"
    assert _one(form, "e:Indicators").get("box") == "13"


def test_rcep_sample_gives_a_form_rcep_with_its_boxes(rsa_pki: DevPki) -> None:
    root = _root(build_sample(RCEP_SAMPLE, rsa_pki))
    assert root.get("agreement") == "RCEP"
    form = _one(root, "e:FormRCEP")
    assert _one(form, "e:Producer").get("box") == "3"
    assert _one(form, "e:Transport").get("box") == "4"
    item = _one(form, "e:Items/e:Item")
    assert _one(item, "e:HSCode").get("box") == "9"
    assert _one(item, "e:HSCode").text == "940542"
    assert _one(item, "e:OriginCriterion").get("box") == "10"
    assert _one(item, "e:OriginCriterion").text == "CTC"
    assert _one(item, "e:CountryOfOrigin").text == "CN"
    assert _one(form, "e:Certification").get("box") == "16"


@pytest.mark.parametrize(("sample", "box"), [(ACFTA_SAMPLE, "4"), (RCEP_SAMPLE, "5")])
def test_official_use_box_is_left_empty_for_the_importing_customs(
    rsa_pki: DevPki, sample: str, box: str
) -> None:
    official_use = _one(_root(build_sample(sample, rsa_pki)), "*/e:OfficialUse")
    assert official_use.get("box") == box
    assert len(official_use) == 0 and not (official_use.text or "").strip()


def test_fob_is_shown_only_where_rvc_is_the_criterion(rsa_pki: DevPki) -> None:
    rvc = _root(build_sample(ACFTA_SAMPLE, rsa_pki))
    fob = _one(rvc, "//e:FOBValue")
    assert (fob.text, fob.get("currency")) == ("10000.00", "USD")
    cth = _root(build_sample(RCEP_SAMPLE, rsa_pki))
    assert cth.xpath("//e:FOBValue", namespaces=NS) == []
    assert _one(cth, "//e:QuantityAndValue/e:GrossWeight").text == "850.5"


def test_a_determination_that_shows_fob_without_rvc_is_refused() -> None:
    with pytest.raises(ValueError, match="FOB"):
        ItemCriterion(1, "CTH", "CTH", fob_shown=True)
    with pytest.raises(ValueError, match="FOB"):
        ItemCriterion(1, "RVC", "40%", fob_shown=False, rvc_percent=Decimal("40"))
    with pytest.raises(ValueError, match="rvc_percent"):
        ItemCriterion(1, "RVC", "40%", fob_shown=True)


def test_indicators_are_unticked_by_default(rsa_pki: DevPki) -> None:
    root = _root(build_sample(RCEP_SAMPLE, rsa_pki))
    ticks = root.xpath("//e:Indicators/*/@ticked", namespaces=NS)
    assert ticks == ["false", "false", "false", "false"]


@pytest.mark.parametrize("sample", [ACFTA_SAMPLE, RCEP_SAMPLE])
def test_indicators_carry_their_particulars(rsa_pki: DevPki, sample: str) -> None:
    application: dict[str, Any] = load_sample(sample)
    application["third_party_invoicing"] = {"name": "Pacific Trading Ltd", "country": "HK"}
    application["back_to_back"] = {"original_certificate": "E253800000050045",
                                   "original_issue_date": "2025-12-01",
                                   "original_country": "CN"}
    application["exhibition"] = {"name": "Canton Fair", "address": "Pazhou, Guangzhou"}
    root = _root(build_sample(sample, rsa_pki, application=application,
                              issued_retroactively=True))
    indicators = _one(root, "//e:Indicators")
    assert indicators.xpath("*/@ticked") == ["true", "true", "true", "true"]
    assert _one(indicators, "e:ThirdPartyInvoicing/e:Country").text == "HK"
    assert _one(indicators, "e:BackToBack/e:OriginalCertificate").text == "E253800000050045"
    assert _one(indicators, "e:BackToBack/e:OriginalIssueDate").text == "2025-12-01"
    assert _one(indicators, "e:Exhibition/e:Name").text == "Canton Fair"


def test_the_application_can_ask_for_retroactive_issuance(rsa_pki: DevPki) -> None:
    application = load_sample(ACFTA_SAMPLE) | {"issued_retroactively": True}
    root = _root(build_sample(ACFTA_SAMPLE, rsa_pki, application=application))
    assert _one(root, "//e:IssuedRetroactively").get("ticked") == "true"


def test_a_correction_names_its_version_and_what_it_supersedes(rsa_pki: DevPki) -> None:
    root = _root(build_sample(ACFTA_SAMPLE, rsa_pki, number="E263302000020002", version=2,
                              supersedes="E263302000020001"))
    assert _one(root, "e:Version").text == "2"
    assert _one(root, "e:Supersedes").text == "E263302000020001"


def test_every_item_needs_its_own_determination(rsa_pki: DevPki) -> None:
    application = load_sample(ACFTA_SAMPLE)
    with pytest.raises(InvalidApplication, match="no origin determination"):
        build_certificate(application, [], number="E263302000020001", version=1,
                          issued_at=ISSUED_AT, issuing_office=rsa_pki.office("CN-NGB"))
    extra = [*DETERMINATIONS[ACFTA_SAMPLE], ItemCriterion(2, "WO", "WO", fob_shown=False)]
    with pytest.raises(InvalidApplication, match="no such item"):
        build_certificate(application, extra, number="E263302000020001", version=1,
                          issued_at=ISSUED_AT, issuing_office=rsa_pki.office("CN-NGB"))


def test_the_office_must_be_the_one_the_application_names(rsa_pki: DevPki) -> None:
    with pytest.raises(InvalidApplication, match="issuing_office"):
        build_sample(ACFTA_SAMPLE, rsa_pki, issuing_office=rsa_pki.office("CN-SHA"))


def test_missing_or_malformed_fields_are_reported_by_path(rsa_pki: DevPki) -> None:
    application = load_sample(ACFTA_SAMPLE)
    application["items"][0]["fob"]["amount"] = "ten thousand"
    with pytest.raises(InvalidApplication) as caught:
        build_sample(ACFTA_SAMPLE, rsa_pki, application=application)
    assert caught.value.problems[0].path == "items[0].fob.amount"
    application = load_sample(ACFTA_SAMPLE)
    del application["declaration"]["signatory"]
    with pytest.raises(InvalidApplication, match=r"declaration\.signatory: is required"):
        build_sample(ACFTA_SAMPLE, rsa_pki, application=application)


def test_a_result_that_breaks_the_schema_raises(rsa_pki: DevPki) -> None:
    with pytest.raises(InvalidInput, match="ReferenceNumber"):
        build_sample(ACFTA_SAMPLE, rsa_pki, number="not a number")


def test_issue_time_must_carry_its_zone(rsa_pki: DevPki) -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_sample(ACFTA_SAMPLE, rsa_pki, issued_at=datetime(2026, 5, 9, 10, 30))


def test_issuing_office_country_must_be_alpha_2() -> None:
    with pytest.raises(ValueError, match="alpha-2"):
        IssuingOffice("CN-SZX", "Shenzhen", "Shenzhen", "CHN")
