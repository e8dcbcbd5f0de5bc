"""The XML form of the application document: same data as the JSON samples, XSD errors by
field path, hostile XML refused by the hardened parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.application import parse_application
from pipeline.application.xml import application_to_xml, read_application_xml
from pipeline.errors import InvalidApplication, UnsafeXml

SAMPLES = sorted((Path(__file__).resolve().parents[3] / "samples").glob("*.json"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_back_the_same_from_its_xml(sample: Path) -> None:
    document = json.loads(sample.read_text())
    back = read_application_xml(application_to_xml(document))
    assert back == document
    assert parse_application(back).exporter == parse_application(document).exporter


def test_schema_errors_name_the_field_as_a_json_path() -> None:
    document = json.loads(SAMPLES[0].read_text())
    xml = application_to_xml(document).replace(b"<hs_code>940542", b"<hs_code>94x", 1)
    xml = xml.replace(b"<amount>24000.00</amount>", b"", 1)
    with pytest.raises(InvalidApplication) as caught:
        read_application_xml(xml)
    paths = {p.path for p in caught.value.problems}
    assert {"items[0].hs_code", "items[0].fob"} <= paths


def test_external_entities_and_entity_bombs_are_refused() -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<application xmlns="urn:eco-pipeline:application:1">&x;</application>')
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
            b'<application xmlns="urn:eco-pipeline:application:1">&c;</application>')
    for hostile in (xxe, bomb):
        with pytest.raises(UnsafeXml):
            read_application_xml(hostile)


def test_oversize_xml_is_refused_before_parsing() -> None:
    with pytest.raises(UnsafeXml, match="exceeds the limit"):
        read_application_xml(b"<a>" + b" " * 2048 + b"</a>", max_bytes=1024)


def _movement() -> dict[str, object]:
    """Sample 02 as a back-to-back application with every field the XSD gained: the original's
    items, its signed XML (markup as text), the item drawn on, and a material's role."""
    document = json.loads(next(p for p in SAMPLES if p.name.startswith("02-")).read_text())
    document["items"][0]["original_item_no"] = 1
    document["items"][0]["materials"][0]["role"] = "packing-transport"
    document["back_to_back"] = {
        "original_certificate": "E260000000010001", "original_issue_date": "2026-05-01",
        "original_country": "VN",
        "original_items": [{"item_no": 1, "hs_code": document["items"][0]["hs_code"],
                            "quantity": {"value": "30000", "unit": "KGM"}}],
        "original_xml": '<?xml version="1.0"?>\n<certificate a="1 &amp; 2"/>\n'}
    return document


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_as_xml_decodes_to_the_same_application(sample: Path) -> None:
    """``decode_application`` reads the XML form into the Application its JSON gives."""
    from pipeline.application import decode_application

    as_json = decode_application(sample.read_bytes(), sample.name)
    xml = application_to_xml(json.loads(sample.read_text()))
    assert decode_application(xml, sample.name, media_type="application/xml") == as_json
    assert as_json.exporter.registration_number  # the XSD carries it


def test_the_back_to_back_block_and_material_roles_travel_in_xml() -> None:
    from pipeline.application import decode_application

    document = _movement()
    xml = application_to_xml(document)
    assert read_application_xml(xml) == document
    app = decode_application(xml, "movement.xml", media_type="application/xml")
    assert app == parse_application(document, "movement.xml")
    assert app.back_to_back is not None and app.back_to_back.original_items[0].item_no == 1
    assert app.back_to_back.original_xml == '<?xml version="1.0"?>\n<certificate a="1 &amp; 2"/>'
    assert app.items[0].original_item_no == 1


def test_xml_errors_name_the_element_path_and_hostile_xml_is_an_invalid_application() -> None:
    from pipeline.application import decode_application

    xml = application_to_xml(_movement()).replace(b"<unit>KGM</unit>\n", b"", 1)
    xml = xml.replace(b"<role>packing-transport</role>", b"<role>wrapping</role>")
    with pytest.raises(InvalidApplication) as caught:
        decode_application(xml, "bad.xml", media_type="application/xml")
    paths = {p.path for p in caught.value.problems}
    assert {"back_to_back.original_items[0].quantity", "items[0].materials[0].role"} <= paths
    hostile = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    with pytest.raises(InvalidApplication):
        decode_application(hostile, "x.xml", media_type="application/xml")
